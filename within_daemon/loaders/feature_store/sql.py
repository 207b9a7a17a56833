"""The feature store's SQL: source reads, conflict rules, online and point-in-time reads.

Everything here is statement text, in the spelling of one :class:`Dialect` where SQLite and
PostgreSQL differ (``IS NOT`` / ``IS DISTINCT FROM``, a correlated subquery over ``VALUES``
/ a ``LATERAL`` seek over ``unnest``-ed arrays). Each source (:data:`SOURCES`) is one
feature view (:data:`VIEWS`): its history is one wide table, read by one seek per request
row and view. It is kept apart from
:class:`~.store.FeatureStore` so the two dialects can be read side by side. The tables
themselves are defined in ``loaders.schema.feature_store``. No statement here runs
anything; the store executes them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from within_daemon.errors import LoaderError
from within_daemon.features import FEATURES, Entity, FeatureDef

from ..schema.dialect import Dialect
from ..schema.feature_store import FEATURE_HISTORY_COLUMNS, FEATURE_VIEWS, FeatureView

_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")
__all__ = ["FEATURE_HISTORY_COLUMNS", "SOURCES", "VIEWS", "Source", "source_sql", "statements"]


# -- reading the sources ----------------------------------------------------------------------


class Source(NamedTuple):
    table: str
    entity: Entity


#: The creative source: its SQL gives the ad-days, the values come from the versions.
CREATIVE_SOURCE = Source("ad_creative_features", "ad")


def source_sql(src: Source, feats: Sequence[FeatureDef], n_days: int) -> str:
    """``platform, account_id, [ad_id,] day, <feature>...`` of one account on ``n_days`` days.

    Parameters: platform, account_id, the first and the last day, then the days.
    """
    for f in feats:
        if not (_IDENT.match(f.source_column) and _IDENT.match(f.name)):
            raise LoaderError(f"feature {f.name!r}: bad identifier")
    # Each day column is bounded by the first and last day (the two parameters after the
    # account) as well as listed: the range lets the primary key's index limit the scan
    # (PostgreSQL, with statistics older than the account's rows, walked all of them).
    marks = ", ".join("?" * n_days)
    on_days = f"date >= ? AND date <= ? AND date IN ({marks})"
    if (src.table, src.entity) in {("ad_history", "ad"), ("ad_benchmarks", "ad")}:
        cols = ", ".join(f"{f.source_column} AS {f.name}" for f in feats)
        return (f"SELECT platform, account_id, ad_id, date AS day, {cols} FROM {src.table} "
                f"WHERE platform = ? AND account_id = ? AND {on_days}")
    if (src.table, src.entity) == ("ad_history", "account"):
        # Every ad row of an account carries the same account ratios for a day.
        cols = ", ".join(f"MAX({f.source_column}) AS {f.name}" for f in feats)
        return (f"SELECT platform, account_id, date AS day, {cols} FROM ad_history "
                f"WHERE platform = ? AND account_id = ? AND {on_days} "
                "GROUP BY platform, account_id, date")
    if src == CREATIVE_SOURCE:
        # The days the ad ran; each takes the creative version in effect on it.
        return ("SELECT DISTINCT platform, account_id, ad_id, date AS day FROM ad_data "
                f"WHERE platform = ? AND account_id = ? AND {on_days}")
    if (src.table, src.entity) == ("rollup_account_daily", "account"):
        # One row per currency the account reported that day: keep the dominant one.
        cols = ", ".join(f"{f.source_column} AS {f.name}" for f in feats)
        # (The derived table needs its alias: PostgreSQL before 16 refuses one without.)
        return (f"SELECT platform, account_id, period_start AS day, {cols} FROM ("
                "SELECT *, ROW_NUMBER() OVER (PARTITION BY platform, account_id, period_start "
                "ORDER BY row_count DESC, spend DESC, currency) AS rn "
                "FROM rollup_account_daily WHERE platform = ? AND account_id = ? "
                "AND period_start >= ? AND period_start <= ? "
                f"AND period_start IN ({marks})) AS r WHERE rn = 1")
    raise LoaderError(f"no reader for {src.entity} features from {src.table}")


def _sources() -> dict[Source, list[FeatureDef]]:
    groups: dict[Source, list[FeatureDef]] = defaultdict(list)
    for f in FEATURES:
        groups[Source(f.source_table, f.entity)].append(f)
    for src, feats in groups.items():
        source_sql(src, feats, 1)  # fail at import, not at the first run
    return dict(groups)


SOURCES = _sources()
#: The feature view (wide history table) of each source.
VIEWS: dict[Source, FeatureView] = {Source(v.source_table, v.entity): v for v in FEATURE_VIEWS}
if any(VIEWS[src].features != tuple(feats) for src, feats in SOURCES.items()):
    raise LoaderError("feature sources and views disagree")  # one grouping, two spellings

# -- writing and the online read ----------------------------------------------------------------


class StoreStatements(NamedTuple):
    """The store's online statements in one dialect's spelling."""

    upsert_online: str
    get_online: str


def _statements(d: Dialect) -> StoreStatements:
    return StoreStatements(
        upsert_online=(
            "INSERT INTO feature_online (entity, entity_key, feature, value_real, value_text, "
            "event_timestamp) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (entity, entity_key, feature) DO UPDATE SET "
            "value_real = excluded.value_real, value_text = excluded.value_text, "
            "event_timestamp = excluded.event_timestamp "
            "WHERE excluded.event_timestamp >= feature_online.event_timestamp"),
        # The same text on both: one primary-key range read.
        get_online=("SELECT feature, value_real, value_text FROM feature_online "
                    "WHERE entity = ? AND entity_key = ?"),
    )


_STATEMENTS: dict[str, StoreStatements] = {}


def statements(d: Dialect) -> StoreStatements:
    """The store's statements in ``d``'s spelling (built once per dialect)."""
    if d.name not in _STATEMENTS:
        _STATEMENTS[d.name] = _statements(d)
    return _STATEMENTS[d.name]


def view_conflict(v: FeatureView, d: Dialect) -> str:
    """The ``ON CONFLICT`` clause of an insert into ``v``'s table: Feast's rule per row.

    A re-materialized row whose values are all unchanged keeps its ``created_timestamp``;
    if any value changed, the row takes the new values and the new ``created_timestamp``.
    The row is updated either way (with the same values if unchanged), so the statement's
    row count is the rows offered. The comparison must hold for NULLs: SQLite spells it
    ``IS NOT``. (Every right-hand side reads the row as it was before the update.)
    """
    differs = "IS NOT" if d.name == "sqlite" else "IS DISTINCT FROM"
    changed = " OR ".join(f"{v.table}.{f.name} {differs} excluded.{f.name}"
                          for f in v.features)
    sets = ", ".join(f"{f.name} = excluded.{f.name}" for f in v.features)
    return (" ON CONFLICT (entity_key, event_timestamp) DO UPDATE SET created_timestamp = "
            f"CASE WHEN {changed} THEN excluded.created_timestamp "
            f"ELSE {v.table}.created_timestamp END, {sets}")


# -- point in time ------------------------------------------------------------------------------


def _pit_columns(wanted: Sequence[tuple[FeatureView, Sequence[FeatureDef]]]) -> str:
    return ", ".join(f"h{j}.{f.name} AS {f.name}" for j, (_v, feats) in enumerate(wanted)
                     for f in feats)


def _key(v: FeatureView) -> str:
    return "req.k_ad" if v.entity == "ad" else "req.k_acct"


def pit_sqlite(n_rows: int, wanted: Sequence[tuple[FeatureView, Sequence[FeatureDef]]]) -> str:
    """Point in time over the views of ``wanted`` (each with the features read from it).

    One row per request row: ``i`` and each wanted feature, the view row with the greatest
    event timestamp at or before the row's time (``NULL``s where there is none). Markers: 4
    per request row (i, ad key, account key, time). SQLite has no LATERAL; its planner
    turns each correlated subquery into one index seek per (row, view).
    """
    rvalues = ", ".join(["(?, ?, ?, ?)"] * n_rows)
    joins = "".join(
        f" LEFT JOIN {v.table} h{j} ON h{j}.entity_key = {_key(v)}"
        f" AND h{j}.event_timestamp = (SELECT x.event_timestamp FROM {v.table} x"
        f"  WHERE x.entity_key = {_key(v)} AND x.event_timestamp <= req.ts"
        "  ORDER BY x.event_timestamp DESC LIMIT 1)"
        for j, (v, _f) in enumerate(wanted))
    return (f"WITH req(i, k_ad, k_acct, ts) AS (VALUES {rvalues}) "
            f"SELECT req.i AS i, {_pit_columns(wanted)} FROM req{joins}")


def pit_postgres(wanted: Sequence[tuple[FeatureView, Sequence[FeatureDef]]]) -> str:
    """:func:`pit_sqlite` for PostgreSQL: four array parameters whatever the number of rows.

    One statement text per set of wanted features (no 32,767-marker limit), the arrays cast
    so asyncpg knows each element type; ``LATERAL`` makes the newest-at-or-before lookup
    one backward scan of a view's primary key per (row, view).
    """
    joins = "".join(
        f" LEFT JOIN LATERAL (SELECT * FROM {v.table} x WHERE x.entity_key = {_key(v)}"
        " AND x.event_timestamp <= req.ts ORDER BY x.event_timestamp DESC LIMIT 1)"
        f" h{j} ON TRUE" for j, (v, _f) in enumerate(wanted))
    return ("WITH req AS (SELECT * FROM unnest(CAST(? AS INTEGER[]), CAST(? AS TEXT[]), "
            "CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS t(i, k_ad, k_acct, ts)) "
            f"SELECT req.i AS i, {_pit_columns(wanted)} FROM req{joins}")
