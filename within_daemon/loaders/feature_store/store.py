"""Feature store: latest feature values online, dated history offline, Feast-style export.

The features are those of :data:`within_daemon.features.FEATURES`; this module only moves
their values. :meth:`FeatureStore.materialize` reads the derived tables (``ad_history``,
``ad_benchmarks``, ``ad_creative_history``, ``rollup_account_daily``) for the days a run
touched and writes the online table (schema migration 6) and the history (migration 15):

``feature_online`` — ``(entity, entity_key, feature) -> value``, the newest value per key.
    Long format (one row per feature), ``WITHOUT ROWID`` so the primary key is the table's
    own B-tree: an entity's ~20 rows are contiguous and :meth:`FeatureStore.get_online` is
    one index range read, as fast as one wide row would be. Long over wide because a new
    feature is then one entry in ``features.py`` and no ``ALTER TABLE`` migration, and
    because each value keeps its own ``event_timestamp`` (sources land at different times).
    An upsert only replaces a value whose ``event_timestamp`` is not newer than the
    incoming one, so a backfill of old days never rolls the online vector back.

The history — one wide table per feature view (schema migration 15), as Feast's offline
    store holds it: a view is the features of one entity read from one source table
    (``feature_view_<entity>_<source_table>``, ``loaders.schema.feature_store``), a row
    is ``(entity_key, event_timestamp)`` (the end of its day in UTC,
    ``<date>T23:59:59Z``) with every feature of the view as a typed column and
    ``created_timestamp`` (when the store first wrote the row's values). Every feature of a
    source row is written, ``NULL`` included, so a view row holds each of its features on
    exactly the days the long history held one. :meth:`FeatureStore.get_historical` is
    point-in-time correct: for an entity row at time *t* each feature's value is the one
    of its view's row with the greatest ``event_timestamp <= t``, never a later one (an
    index seek per request row and view). Re-materializing is idempotent: a row whose
    values are all unchanged keeps its ``created_timestamp``; if any value of it was
    restated (the source recomputed that day), the row takes the new values and a new
    ``created_timestamp`` — per view row, as in Feast, no longer per value.

``feature_history`` — a ``VIEW`` with the columns of the long table the history was up to
    migration 15 (``entity, entity_key, feature, event_timestamp, created_timestamp,
    value_real, value_text``), unpivoting the view tables: SQL reading it sees the same
    rows. Writing the history long cost one B-tree row per (key, feature, day), 18 per
    ad-day, and was the largest step of an enriched run (``bench/README.md``).

The creative features (``source_table`` ``ad_creative_features``) are dated through
``ad_creative_history``: on each day the ad has rows in ``ad_data``, the value is that of the
creative version in effect that day (see ``analytics.creative_versions``), so a creative
edited later neither rewrites the days before the edit nor reaches them in a backfill. Like
every other source, a re-materialized day takes the values as now known (the first version
of an ad holds from the beginning: before the daemon first saw the ad, its creative is
unknown, and the first one seen stands in for it).

Entity keys: ad ``"<platform>:<account_id>:<ad_id>"``, account
``"<platform>:<account_id>"`` (platform and account id must not contain ``:``; the ad id
may). :meth:`FeatureStore.export_parquet` writes the history in the layout a Feast
``FileSource`` reads: entity columns (``platform``, ``account_id``, ``ad_id``),
``event_timestamp``, ``created`` and one column per feature, page by page.

PostgreSQL: the same tables and view (a plain heap plus its primary-key index; no ``WITHOUT
ROWID``), their text key columns ``COLLATE "C"`` so keys and timestamps compare byte by
byte as in SQLite whatever the database's locale (the export then pages in the same order,
along the index), and the point-in-time read as a ``LATERAL`` index seek over ``unnest``-ed
arrays instead of a correlated subquery over a ``VALUES`` list.

This module holds the store itself; the statement text of both dialects is in :mod:`.sql`,
the stored spellings of keys, times and values in :mod:`.values`, the Parquet export in
:mod:`.export` and the tables in ``loaders.schema.feature_store``. The package
(``loaders.feature_store``) exports the store and the key and time helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from within_daemon.errors import LoaderError
from within_daemon.features import FeatureDef

from ..database import DatabaseLoader
from .export import export_parquet
from .materialize import materialize_days
from .sql import VIEWS, Source, pit_postgres, pit_sqlite, statements
from .values import (
    account_of,
    check_entity,
    day_end,
    feature_defs,
    load_column,
    load_value,
    normalize_ts,
    now_stamp,
)

__all__ = ["DAYS_PER_STEP", "EXPORT_PAGE", "ROWS_PER_QUERY", "FeatureStore"]

#: Days per transaction of the row-at-a-time materialize this module had; kept for
#: importers. Steps are now sized by ad-days (``materialize.AD_DAYS_PER_STEP``).
DAYS_PER_STEP = 7
#: Entity rows per point-in-time query (4 parameters each, under SQLite's 32,766).
ROWS_PER_QUERY = 2000
#: History rows read per page by the Parquet export (read from here on each export, so a
#: test can shrink it with ``monkeypatch.setattr`` on this module).
EXPORT_PAGE = 50_000


class FeatureStore:
    """Materialize, serve and export the features of ``features.FEATURES``."""

    def __init__(self, db: DatabaseLoader) -> None:
        self.db = db
        self._sql = statements(db.dialect)

    # -- writing --------------------------------------------------------------------------

    async def materialize(self, *, platform: str, account_id: str,
                          days: Iterable[str]) -> int:
        """Record one account's feature values for ``days``; returns history rows offered.

        Call it after the derived tables of those days are written (history, benchmarks,
        rollups). The values move inside the database (:mod:`.materialize`); each step
        (about ``materialize.AD_DAYS_PER_STEP`` ad-days) commits history and online rows
        in one transaction, so a reader never sees an online value without its history row.
        """
        if ":" in platform or ":" in account_id:
            raise LoaderError(f"platform and account id must not contain ':' "
                              f"({platform!r}, {account_id!r})")
        ordered = sorted({d for d in days})
        for d in ordered:
            day_end(d)
        return await materialize_days(self.db, platform=platform, account_id=account_id,
                                      days=ordered, created=now_stamp)

    # -- online ---------------------------------------------------------------------------

    async def get_online(self, entity: str, key: str,
                         features: Sequence[str] | None = None) -> dict[str, Any]:
        """The newest value of each feature of one entity (``None`` where there is none)."""
        ent = check_entity(entity)
        wanted = feature_defs(features, ent)
        rows = await self.db.fetch_dicts(self._sql.get_online, (ent, key))
        got = {r["feature"]: r for r in rows}
        out: dict[str, Any] = {}
        for f in wanted:
            r = got.get(f.name)
            out[f.name] = None if r is None else load_value(f, r["value_real"], r["value_text"])
        return out

    # -- offline --------------------------------------------------------------------------

    async def get_historical(
        self, entity_rows: Sequence[tuple[str, str | datetime | date]],
        features: Sequence[str],
    ) -> list[dict[str, Any]]:
        """Point-in-time values for ``(entity_key, timestamp)`` rows, in the rows' order.

        Each result is ``{"entity_key", "event_timestamp", <feature>: value...}`` where a
        value is the one with the greatest event timestamp at or before the row's time, or
        ``None``. Ad and account features may be mixed: an account feature of an ad key is
        read for the ad's account.
        """
        defs = feature_defs(features)
        if not defs:
            raise LoaderError("no features requested")
        reqs = []
        for key, ts in entity_rows:
            reqs.append((key if key.count(":") >= 2 else None, account_of(key),
                         normalize_ts(ts)))
        out: list[dict[str, Any]] = [
            {"entity_key": key, "event_timestamp": ts, **dict.fromkeys(f.name for f in defs)}
            for key, ts in entity_rows]
        # The views of the wanted features, each read once per request row.
        by_view: dict[Source, list[FeatureDef]] = {}
        for f in defs:
            by_view.setdefault(Source(f.source_table, f.entity), []).append(f)
        wanted = [(VIEWS[src], feats) for src, feats in by_view.items()]
        postgres = self.db.dialect.name == "postgresql"
        sql_pg = pit_postgres(wanted) if postgres else ""
        for start in range(0, len(reqs), ROWS_PER_QUERY):
            part = reqs[start:start + ROWS_PER_QUERY]
            if postgres:
                sql = sql_pg
                params: list[Any] = [list(range(start, start + len(part))),
                                     *(list(col) for col in zip(*part, strict=True))]
            else:
                sql = pit_sqlite(len(part), wanted)
                params = [x for j, r in enumerate(part) for x in (start + j, *r)]
            for r in await self.db.fetch_dicts(sql, params):
                row = out[r["i"]]
                for f in defs:
                    row[f.name] = load_column(f, r[f.name])
        return out

    # -- export ---------------------------------------------------------------------------

    async def export_parquet(self, path: Path, entity: str, *,
                             row_group_rows: int = 100_000) -> Path:
        """The history of one entity as Parquet for a Feast ``FileSource``; returns ``path``.

        One row per ``(entity key, event_timestamp)`` with every feature of the entity as a
        column (``None`` where it had no value then), ``event_timestamp`` and ``created``
        (the newest ``created_timestamp`` of the entity's view rows at that key and time) as
        ``timestamp[us, UTC]``. The view tables are read in pages along their primary keys
        (the union of their keys, each view's row joined) and written in row groups, so
        memory stays bounded by a page and a row group. Written to ``<path>.part`` and
        renamed, so a reader never sees half a file.
        """
        return await export_parquet(self.db, path, entity, row_group_rows=row_group_rows,
                                    page_rows=EXPORT_PAGE)
