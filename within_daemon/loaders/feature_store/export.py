"""The feature store's Parquet export, in the layout a Feast ``FileSource`` reads.

:meth:`~within_daemon.loaders.feature_store.FeatureStore.export_parquet` delegates here. It
is separate from the store because it is the only part of it that needs ``pyarrow``
(imported on call, so materializing and serving do not load it) and because its
long-to-wide pivot and keyset paging share nothing with materializing or serving values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from within_daemon.features import FEATURES_BY_NAME, features_of

from ..database import DatabaseLoader
from .sql import FEATURE_HISTORY_COLUMNS
from .values import check_entity, load_value, parse_ts, split_key


async def export_parquet(db: DatabaseLoader, path: Path, entity: str, *,
                         row_group_rows: int, page_rows: int) -> Path:
    """Write the history of one entity of ``db`` to ``path``; returns ``path``.

    ``page_rows`` history rows are read per query (the caller passes its module setting, so
    a test can shrink the pages there). The layout and guarantees are those documented on
    :meth:`~within_daemon.loaders.feature_store.FeatureStore.export_parquet`.
    """
    import pyarrow as pa  # imported here: only the export needs it
    import pyarrow.parquet as pq

    ent = check_entity(entity)
    defs = features_of(ent)
    key_cols = ("platform", "account_id", "ad_id") if ent == "ad" else ("platform",
                                                                        "account_id")
    types = {"float": pa.float64(), "int": pa.int64(), "str": pa.string()}
    ts_type = pa.timestamp("us", tz="UTC")
    schema = pa.schema(
        [pa.field(c, pa.string(), nullable=False) for c in key_cols]
        + [pa.field("event_timestamp", ts_type, nullable=False), pa.field("created", ts_type)]
        + [pa.field(f.name, types[f.dtype]) for f in defs])
    buffer: list[dict[str, Any]] = []

    def flush_key(key: str, rows: list[dict[str, Any]]) -> None:
        parts = split_key(ent, key)
        wide: dict[str, dict[str, Any]] = {}
        for r in rows:
            f = FEATURES_BY_NAME.get(r["feature"])
            if f is None or f.entity != ent:
                continue  # a feature since removed from the definitions
            w = wide.setdefault(r["event_timestamp"], {"created": r["created_timestamp"]})
            w["created"] = max(w["created"], r["created_timestamp"])
            w[f.name] = load_value(f, r["value_real"], r["value_text"])
        for ts in sorted(wide):
            w = wide[ts]
            buffer.append({**dict(zip(key_cols, parts, strict=True)),
                           "event_timestamp": parse_ts(ts), **w,
                           "created": parse_ts(w["created"])})

    def table(rows: list[dict[str, Any]]) -> Any:
        return pa.Table.from_pylist(rows, schema=schema)

    path = Path(path)
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pq.ParquetWriter(part, schema) as writer:
            pending: list[dict[str, Any]] = []
            cursor: tuple[str, str, str] | None = None
            wrote = False
            while True:
                where, params = "entity = ?", [str(ent)]
                if cursor is not None:
                    where += " AND (entity_key, feature, event_timestamp) > (?, ?, ?)"
                    params += list(cursor)
                cols = ", ".join(FEATURE_HISTORY_COLUMNS)
                page = await db.fetch_dicts(
                    f"SELECT {cols} FROM feature_history WHERE {where} "
                    f"ORDER BY entity_key, feature, event_timestamp LIMIT {page_rows}",
                    params)
                last_page = len(page) < page_rows
                for r in page:
                    if pending and pending[-1]["entity_key"] != r["entity_key"]:
                        flush_key(pending[-1]["entity_key"], pending)
                        pending = []
                    pending.append(r)
                if len(buffer) >= row_group_rows:
                    writer.write_table(table(buffer), row_group_size=row_group_rows)
                    buffer.clear()
                    wrote = True
                if last_page:
                    break
                lr = page[-1]
                cursor = (lr["entity_key"], lr["feature"], lr["event_timestamp"])
            if pending:
                flush_key(pending[-1]["entity_key"], pending)
            if buffer or not wrote:  # an empty export still carries its schema
                writer.write_table(table(buffer), row_group_size=row_group_rows)
                buffer.clear()
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path
