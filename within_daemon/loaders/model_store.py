"""Versioned, content-addressed storage of training datasets.

Layout under a root folder::

    <root>/<dataset>/<version>/train.parquet
                              /validation.parquet
                              /test.parquet
                              /manifest.json

``version`` is the first :data:`VERSION_CHARS` hex digits of the dataset's content hash,
so the same content always lands in the same folder: saving it again finds the existing
version and writes nothing. A version is written into a hidden temporary folder and
renamed into place with its manifest already inside, so readers never see half a version
(a folder without ``manifest.json`` is ignored).

The store knows nothing about how a dataset is built; see
:mod:`within_daemon.pipelines.training`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: The three splits, in time order.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Hex digits of the content hash used as the version folder name.
VERSION_CHARS = 16
MANIFEST = "manifest.json"

#: Logical column types of a dataset and their Parquet types.
COLUMN_TYPES: dict[str, Any] = {
    "string": pa.string(),
    "date": pa.date32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
}

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


class ModelStoreError(Exception):
    """A dataset name, version or folder the store cannot use."""


@dataclass(frozen=True)
class SavedVersion:
    """Where a dataset version lives and whether this call wrote it."""

    dataset: str
    version: str
    path: Path
    created: bool


def version_of(content_hash: str) -> str:
    """The version (folder name) of a content hash."""
    if not re.fullmatch(r"[0-9a-f]{64}", content_hash):
        raise ModelStoreError(f"not a sha256 hex digest: {content_hash!r}")
    return content_hash[:VERSION_CHARS]


def arrow_schema(columns: Sequence[tuple[str, str]]) -> Any:
    """The pyarrow schema of ``(name, logical type)`` columns."""
    try:
        return pa.schema([pa.field(n, COLUMN_TYPES[t], nullable=True) for n, t in columns])
    except KeyError as exc:
        raise ModelStoreError(f"unknown column type {exc.args[0]!r}") from exc


def _column_values(values: Sequence[Any], kind: str) -> list[Any]:
    if kind == "date":
        return [None if v is None else (v if isinstance(v, date) else date.fromisoformat(v))
                for v in values]
    return list(values)


class ModelStore:
    """Dataset versions under one root folder (created on first save)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- paths --------------------------------------------------------------------------

    def dataset_dir(self, dataset: str) -> Path:
        if not _NAME.match(dataset):
            raise ModelStoreError(f"bad dataset name {dataset!r} (lower-case, digits, _ and -)")
        return self.root / dataset

    def version_dir(self, dataset: str, version: str) -> Path:
        if not re.fullmatch(f"[0-9a-f]{{{VERSION_CHARS}}}", version):
            raise ModelStoreError(f"bad version {version!r}")
        return self.dataset_dir(dataset) / version

    # -- reading ------------------------------------------------------------------------

    def find_version(self, dataset: str, content_hash: str) -> str | None:
        """The version holding exactly this content, or None."""
        version = version_of(content_hash)
        manifest = self.version_dir(dataset, version) / MANIFEST
        if not manifest.is_file():
            return None
        stored = self._read_json(manifest).get("content_hash")
        if stored != content_hash:  # a prefix collision: practically impossible, still refused
            raise ModelStoreError(
                f"{dataset}/{version} holds content {stored}, not {content_hash}")
        return version

    def list_versions(self, dataset: str) -> list[dict[str, Any]]:
        """Manifests of every complete version, oldest ``created_at`` first."""
        base = self.dataset_dir(dataset)
        if not base.is_dir():
            return []
        out = [self._read_json(p / MANIFEST) for p in base.iterdir()
               if not p.name.startswith(".") and (p / MANIFEST).is_file()]
        return sorted(out, key=lambda m: (str(m.get("created_at", "")), str(m.get("version"))))

    def latest_version(self, dataset: str) -> str | None:
        """The most recently created version, or None when there is none."""
        versions = self.list_versions(dataset)
        return str(versions[-1]["version"]) if versions else None

    def read_manifest(self, dataset: str, version: str) -> dict[str, Any]:
        return self._read_json(self.version_dir(dataset, version) / MANIFEST)

    def read_split(self, dataset: str, version: str, split: str) -> Any:
        """One split as a ``pyarrow.Table``."""
        if split not in SPLITS:
            raise ModelStoreError(f"unknown split {split!r}; use one of {SPLITS}")
        return pq.read_table(self.version_dir(dataset, version) / f"{split}.parquet")

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelStoreError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ModelStoreError(f"{path} is not a JSON object")
        return data

    # -- writing ------------------------------------------------------------------------

    def save(
        self, dataset: str, *, content_hash: str, columns: Sequence[tuple[str, str]],
        splits: Mapping[str, Mapping[str, Sequence[Any]]], manifest: Mapping[str, Any],
    ) -> SavedVersion:
        """Write a version unless one with this content hash exists already.

        ``columns`` are ``(name, logical type)`` (see :data:`COLUMN_TYPES`); ``splits`` maps
        each of :data:`SPLITS` to its columns (name -> values). ``manifest`` is stored as
        given plus ``dataset``, ``version`` and ``content_hash``.
        """
        version = version_of(content_hash)
        existing = self.find_version(dataset, content_hash)
        final = self.version_dir(dataset, version)
        if existing is not None:
            return SavedVersion(dataset, version, final, created=False)
        if set(splits) != set(SPLITS):
            raise ModelStoreError(f"splits must be exactly {SPLITS}, got {sorted(splits)}")
        schema = arrow_schema(columns)
        base = self.dataset_dir(dataset)
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            for split in SPLITS:
                cols = splits[split]
                arrays = [pa.array(_column_values(cols[n], t), type=COLUMN_TYPES[t])
                          for n, t in columns]
                table = pa.Table.from_arrays(arrays, schema=schema)
                pq.write_table(table, tmp / f"{split}.parquet")
            doc = {**manifest, "dataset": dataset, "version": version,
                   "content_hash": content_hash}
            (tmp / MANIFEST).write_text(
                json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n",
                encoding="utf-8")
            try:
                os.rename(tmp, final)
            except OSError:
                # Someone else saved the same content meanwhile: theirs stands.
                if self.find_version(dataset, content_hash) is not None:
                    return SavedVersion(dataset, version, final, created=False)
                raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return SavedVersion(dataset, version, final, created=True)
