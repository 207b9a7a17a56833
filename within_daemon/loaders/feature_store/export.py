"""The feature store's Parquet export, in the layout a Feast ``FileSource`` reads.

:meth:`~within_daemon.loaders.feature_store.FeatureStore.export_parquet` delegates here. It
is separate from the store because it is the only part of it that needs ``pyarrow``
(imported on call, so materializing and serving do not load it) and because its join of
an entity's feature views and keyset paging share nothing with materializing or serving
values. The views' tables are already wide (one row per key and day, schema migration
15): a Parquet row is the union of their keys with each view's row left-joined.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from within_daemon.features import features_of

from ..database import DatabaseLoader
from ..schema.feature_store import FEATURE_VIEWS, FeatureView
from .values import check_entity, load_column, parse_ts, split_key


def _page_sql(views: Sequence[FeatureView], page_rows: int, after: bool) -> str:
    """The next ``page_rows`` (entity key, event timestamp) of ``views``, their rows joined.

    The keys are the union of the views' keys, each view read along its primary key from
    the cursor (parameters: the cursor's key and timestamp once per view, with ``after``)
    and cut at ``page_rows`` before the union, so a page reads at most ``page_rows`` rows
    of each view whatever their size. Columns: ``entity_key``, ``event_timestamp``, each
    view's ``created_timestamp`` as ``c0``, ``c1``... and every feature.
    """
    where = " WHERE (entity_key, event_timestamp) > (?, ?)" if after else ""
    order = "ORDER BY entity_key, event_timestamp"
    keys = " UNION ".join(
        f"SELECT * FROM (SELECT entity_key, event_timestamp FROM {v.table}{where} {order} "
        f"LIMIT {page_rows}) AS k{j}" for j, v in enumerate(views))
    cols = ", ".join(
        [f"h{j}.created_timestamp AS c{j}" for j in range(len(views))]
        + [f"h{j}.{f.name} AS {f.name}" for j, v in enumerate(views) for f in v.features])
    joins = "".join(
        f" LEFT JOIN {v.table} h{j} ON h{j}.entity_key = k.entity_key"
        f" AND h{j}.event_timestamp = k.event_timestamp" for j, v in enumerate(views))
    return (f"SELECT k.entity_key AS entity_key, k.event_timestamp AS event_timestamp, {cols} "
            f"FROM (SELECT * FROM ({keys}) AS u {order} LIMIT {page_rows}) AS k{joins} "
            f"ORDER BY k.entity_key, k.event_timestamp")


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
    views = [v for v in FEATURE_VIEWS if v.entity == ent]
    buffer: list[dict[str, Any]] = []

    def add(r: dict[str, Any]) -> None:
        created = max(r[f"c{j}"] for j in range(len(views)) if r[f"c{j}"] is not None)
        buffer.append({**dict(zip(key_cols, split_key(ent, r["entity_key"]), strict=True)),
                       "event_timestamp": parse_ts(r["event_timestamp"]),
                       "created": parse_ts(created),
                       **{f.name: load_column(f, r[f.name]) for f in defs}})

    def table(rows: list[dict[str, Any]]) -> Any:
        return pa.Table.from_pylist(rows, schema=schema)

    path = Path(path)
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pq.ParquetWriter(part, schema) as writer:
            cursor: tuple[str, str] | None = None
            wrote = False
            while True:
                page = await db.fetch_dicts(_page_sql(views, page_rows, cursor is not None),
                                            list(cursor or ()) * len(views))
                for r in page:
                    add(r)
                if len(buffer) >= row_group_rows:
                    writer.write_table(table(buffer), row_group_size=row_group_rows)
                    buffer.clear()
                    wrote = True
                if len(page) < page_rows:
                    break
                cursor = (page[-1]["entity_key"], page[-1]["event_timestamp"])
            if buffer or not wrote:  # an empty export still carries its schema
                writer.write_table(table(buffer), row_group_size=row_group_rows)
                buffer.clear()
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path
