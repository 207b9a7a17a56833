"""The content hash that names a training dataset's version.

sha256 over the canonical rows (sorted by key, floats rounded to 9 digits), the column list
and the definitions and build parameters passed in; not over ``created_at``, ``as_of`` or
the source run ids. The same content gives the same version, so a rebuild writes nothing.
It is separate from the builders because it must stay byte-for-byte stable: any change here
renames every stored version, and keeping it small and alone makes that hard to do by
accident.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: How the hash is made, as recorded in each dataset's manifest.
HASH_ALGORITHM = ("sha256 over canonical rows sorted by key (floats rounded to "
                  "9 digits) + columns + features + labels + label_definition "
                  "+ params; created_at, as_of and source_run_ids excluded")


def _canonical(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return repr(v)
        return round(v, 9) + 0.0  # + 0.0 folds -0.0 into 0.0
    return v


def content_hash(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]],
                 key: Sequence[str], extra: Mapping[str, Any]) -> str:
    """sha256 of the canonical rows (sorted by ``key``) plus ``extra`` (definitions, params)."""
    names = [n for n, _ in columns]
    ordered = sorted(rows, key=lambda r: tuple(str(r[k]) for k in key))
    h = hashlib.sha256()
    h.update(json.dumps({"columns": list(map(list, columns)), **extra}, sort_keys=True,
                        separators=(",", ":")).encode())
    for r in ordered:
        h.update(b"\n")
        h.update(json.dumps([_canonical(r[n]) for n in names], separators=(",", ":"),
                            allow_nan=False).encode())
    return h.hexdigest()
