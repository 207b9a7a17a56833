"""The feature store's SQL: its DDL, source reads, upserts and point-in-time reads.

Everything here is statement text, in the spelling of one :class:`Dialect` where SQLite and
PostgreSQL differ (``IS NOT`` / ``IS DISTINCT FROM``, a correlated subquery over ``VALUES``
/ a ``LATERAL`` seek over ``unnest``-ed arrays). It is kept apart from
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

_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")
#: The columns of ``feature_history`` in the order the store writes and the export reads them.
FEATURE_HISTORY_COLUMNS = ("entity", "entity_key", "feature", "event_timestamp",
                           "created_timestamp", "value_real", "value_text")


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

# -- writing and the online read ----------------------------------------------------------------


class StoreStatements(NamedTuple):
    """The store's write and online-read statements in one dialect's spelling."""

    upsert_history: str
    upsert_online: str
    get_online: str


def _statements(d: Dialect) -> StoreStatements:
    # A restated value replaces the stored one; an unchanged one keeps its row (and its
    # created_timestamp). The comparison must hold for NULLs: SQLite spells it IS NOT.
    differs = "IS NOT" if d.name == "sqlite" else "IS DISTINCT FROM"
    return StoreStatements(
        upsert_history=(
            f"INSERT INTO feature_history ({', '.join(FEATURE_HISTORY_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (entity, entity_key, feature, event_timestamp) DO UPDATE SET "
            "created_timestamp = excluded.created_timestamp, value_real = excluded.value_real, "
            "value_text = excluded.value_text "
            f"WHERE feature_history.value_real {differs} excluded.value_real "
            f"OR feature_history.value_text {differs} excluded.value_text"),
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


# -- point in time ------------------------------------------------------------------------------

#: The value with the greatest event timestamp at or before q.ts, per request row and feature.
_PIT_SELECT = (
    "q AS (SELECT req.i AS i, req.ts AS ts, f.entity AS entity, f.feature AS feature,"
    " CASE f.entity WHEN 'ad' THEN req.k_ad ELSE req.k_acct END AS k"
    " FROM req CROSS JOIN f) "
    "SELECT q.i AS i, q.feature AS feature, h.value_real AS value_real,"
    " h.value_text AS value_text FROM q "
)


def pit_sqlite(n_rows: int, n_feats: int) -> str:
    # Markers: 4 per request row, then 2 per feature. SQLite has no LATERAL; its planner
    # turns the correlated subquery into one index seek per (row, feature).
    rvalues = ", ".join(["(?, ?, ?, ?)"] * n_rows)
    fvalues = ", ".join(["(?, ?)"] * n_feats)
    return (
        f"WITH req(i, k_ad, k_acct, ts) AS (VALUES {rvalues}), "
        f"f(entity, feature) AS (VALUES {fvalues}), " + _PIT_SELECT
        + "JOIN feature_history h"
        " ON h.entity = q.entity AND h.entity_key = q.k AND h.feature = q.feature"
        " AND h.event_timestamp = (SELECT h2.event_timestamp FROM feature_history h2"
        "  WHERE h2.entity = q.entity AND h2.entity_key = q.k AND h2.feature = q.feature"
        "  AND h2.event_timestamp <= q.ts ORDER BY h2.event_timestamp DESC LIMIT 1)"
    )


#: PostgreSQL: six array parameters whatever the number of rows (one statement text, no
#: 32,767-marker limit), cast so asyncpg knows each array's element type (the row number is
#: an integer, not text); LATERAL makes the newest-at-or-before lookup one backward scan of
#: the primary key per (row, feature).
PIT_POSTGRES = (
    "WITH req AS (SELECT * FROM unnest(CAST(? AS INTEGER[]), CAST(? AS TEXT[]), "
    "CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS t(i, k_ad, k_acct, ts)), "
    "f AS (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS t(entity, feature)), "
    + _PIT_SELECT
    + "CROSS JOIN LATERAL (SELECT h.value_real, h.value_text FROM feature_history h"
    " WHERE h.entity = q.entity AND h.entity_key = q.k AND h.feature = q.feature"
    " AND h.event_timestamp <= q.ts ORDER BY h.event_timestamp DESC LIMIT 1) h"
)
