"""Feature store: latest feature values online, dated history offline, Feast-style export.

The features are those of :data:`within_daemon.features.FEATURES`; this module only moves
their values. :meth:`FeatureStore.materialize` reads the derived tables (``ad_history``,
``ad_benchmarks``, ``ad_creative_history``, ``rollup_account_daily``) for the days a run
touched and writes two tables (schema migration 6):

``feature_online`` — ``(entity, entity_key, feature) -> value``, the newest value per key.
    Long format (one row per feature), ``WITHOUT ROWID`` so the primary key is the table's
    own B-tree: an entity's ~20 rows are contiguous and :meth:`FeatureStore.get_online` is
    one index range read, as fast as one wide row would be. Long over wide because a new
    feature is then one entry in ``features.py`` and no ``ALTER TABLE`` migration, and
    because each value keeps its own ``event_timestamp`` (sources land at different times).
    An upsert only replaces a value whose ``event_timestamp`` is not newer than the
    incoming one, so a backfill of old days never rolls the online vector back.

``feature_history`` — every value with its ``event_timestamp`` (the end of its day in UTC,
    ``<date>T23:59:59Z``) and ``created_timestamp`` (when the store first wrote that
    value). :meth:`FeatureStore.get_historical` is point-in-time correct: for an entity row
    at time *t* each feature's value is the one with the greatest ``event_timestamp <= t``,
    never a later one (an index seek per row and feature). Re-materializing is idempotent:
    an unchanged value keeps its row and its ``created_timestamp``; a restated one (the
    source recomputed that day) replaces it with a new ``created_timestamp``.

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

PostgreSQL: the same tables (a plain heap plus its primary-key index; no ``WITHOUT
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
from within_daemon.features import FEATURES_BY_NAME, FeatureDef

from ..analytics import CreativeVersions, creative_versions
from ..database import DatabaseLoader
from .export import export_parquet
from .sql import (
    CREATIVE_SOURCE,
    PIT_POSTGRES,
    SOURCES,
    pit_sqlite,
    source_sql,
    statements,
)
from .values import (
    account_of,
    check_entity,
    day_end,
    entity_key,
    feature_defs,
    load_value,
    normalize_ts,
    now_stamp,
    store_value,
)

__all__ = ["DAYS_PER_STEP", "EXPORT_PAGE", "ROWS_PER_QUERY", "FeatureStore"]

#: Days read and written per transaction by :meth:`FeatureStore.materialize`.
DAYS_PER_STEP = 7
#: Entity rows per point-in-time query (4 parameters each, under SQLite's 32,766).
ROWS_PER_QUERY = 2000
#: History rows read per page by the Parquet export (read from here on each export, so a
#: test can shrink it with ``monkeypatch.setattr`` on this module).
EXPORT_PAGE = 50_000


def _with_creatives(rows: list[dict[str, Any]], feats: Sequence[FeatureDef],
                    versions: dict[tuple[str, str, str], CreativeVersions],
                    ) -> list[dict[str, Any]]:
    """The ad-days of ``rows`` that have a creative, with its features on that day."""
    out = []
    for r in rows:
        ad_versions = versions.get((r["platform"], r["account_id"], r["ad_id"]))
        version = ad_versions.on(r["day"]) if ad_versions is not None else None
        if version is not None:
            out.append({**r, **{f.name: version[f.source_column] for f in feats}})
    return out


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
        rollups). Each step of ``DAYS_PER_STEP`` days commits history and online rows in one
        transaction, so a reader never sees an online value without its history row.
        """
        if ":" in platform or ":" in account_id:
            raise LoaderError(f"platform and account id must not contain ':' "
                              f"({platform!r}, {account_id!r})")
        ordered = sorted({d for d in days})
        for d in ordered:
            day_end(d)
        total = 0
        versions: dict[tuple[str, str, str], CreativeVersions] | None = None
        for i in range(0, len(ordered), DAYS_PER_STEP):
            chunk = ordered[i:i + DAYS_PER_STEP]
            created = now_stamp()
            out: list[tuple[Any, ...]] = []
            online: dict[tuple[str, str, str], tuple[Any, ...]] = {}
            for src, feats in SOURCES.items():
                rows = await self.db.fetch_dicts(
                    source_sql(src, feats, len(chunk)),
                    [platform, account_id, min(chunk), max(chunk), *chunk])
                if src == CREATIVE_SOURCE:
                    if versions is None:  # once per call: an account's creatives are few
                        versions = await creative_versions(
                            self.db, [f.source_column for f in feats], platform=platform,
                            account_id=account_id)
                    rows = _with_creatives(rows, feats, versions)
                for r in rows:
                    key = entity_key(r["platform"], r["account_id"],
                                     r["ad_id"] if src.entity == "ad" else None)
                    ts = day_end(r["day"])
                    for f in feats:
                        real, text = store_value(f, r[f.name])
                        out.append((f.entity, key, f.name, ts, created, real, text))
                        slot = (f.entity, key, f.name)
                        seen = online.get(slot)
                        if seen is None or seen[5] <= ts:
                            online[slot] = (f.entity, key, f.name, real, text, ts)
            await self.db.execute_in_transaction([
                (self._sql.upsert_history, out),
                (self._sql.upsert_online, list(online.values())),
            ])
            total += len(out)
        return total

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
        postgres = self.db.dialect.name == "postgresql"
        fparams = [x for f in defs for x in (f.entity, f.name)]
        for start in range(0, len(reqs), ROWS_PER_QUERY):
            part = reqs[start:start + ROWS_PER_QUERY]
            if postgres:
                sql = PIT_POSTGRES
                params: list[Any] = [list(range(start, start + len(part))),
                                     *(list(col) for col in zip(*part, strict=True)),
                                     [f.entity for f in defs], [f.name for f in defs]]
            else:
                sql = pit_sqlite(len(part), len(defs))
                params = [x for j, r in enumerate(part) for x in (start + j, *r)] + fparams
            for r in await self.db.fetch_dicts(sql, params):
                f = FEATURES_BY_NAME[r["feature"]]
                out[r["i"]][f.name] = load_value(f, r["value_real"], r["value_text"])
        return out

    # -- export ---------------------------------------------------------------------------

    async def export_parquet(self, path: Path, entity: str, *,
                             row_group_rows: int = 100_000) -> Path:
        """The history of one entity as Parquet for a Feast ``FileSource``; returns ``path``.

        One row per ``(entity key, event_timestamp)`` with every feature of the entity as a
        column (``None`` where it had no value then), ``event_timestamp`` and ``created``
        (the newest ``created_timestamp`` of the row's values) as ``timestamp[us, UTC]``.
        The history is read in pages along its primary key and written in row groups, so
        memory stays bounded by a page and a row group. Written to ``<path>.part`` and
        renamed, so a reader never sees half a file.
        """
        return await export_parquet(self.db, path, entity, row_group_rows=row_group_rows,
                                    page_rows=EXPORT_PAGE)
