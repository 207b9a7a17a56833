"""The feature store's materialization as set-based SQL: no feature value passes through Python.

:meth:`~within_daemon.loaders.feature_store.FeatureStore.materialize` (in :mod:`.store`)
used to read every
source row into dicts and offer one ``feature_history`` row per (entity, feature, day) with
``executemany``: 18 rows per ad-day once an ad has history, benchmarks and a creative,
which made the feature store the largest post-load step of an enriched run (11 s of a
20 s run for 25,000 ad-days, see ``bench/README.md``). Here each step is one statement
per feature view plus one for the online table, run inside the database in one
transaction:

1. ``INSERT INTO feature_view_<entity>_<source> SELECT``: the source's rows of the step's
   days as they are, one wide row per entity and day (schema migration 15: the history is
   one table per feature view, as Feast's offline store holds it, 18x fewer B-tree rows
   per ad-day than the long table had), with the view's conflict rule (a row whose values
   are all unchanged keeps its ``created_timestamp``, :func:`.sql.view_conflict`);
2. with the last step only, ``INSERT INTO feature_online SELECT`` of each entity's latest
   row on the call's days, read back from the view tables just written (one seek per
   entity) and unpivoted, with its rule (an older day never replaces a newer one). Once
   per call, not per step: each step's online rows were overwritten by the next step's
   newer days, and with 23,000 ads (one step per day) that rewrite was 8 s of 14.

The values are those the Python path stored: numbers cast to ``REAL`` (``float(v)``), text
features as text, ``NULL`` as ``NULL``; a creative value is the version in effect on the
day (the latest ``ad_creative_history`` row starting on or before it; an ad with no
history row has its current creative from the beginning), as ``analytics.creative_versions``
reads it. Steps are sized by ad-days (:data:`AD_DAYS_PER_STEP`), not a fixed number of
days: a commit on SQLite rewrites every B-tree page it touched, and a step of 7 days
touches nearly every page of an account's history, so fewer, larger steps write far less
(and one step never holds the write lock for long: its size is bounded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from within_daemon.errors import LoaderError
from within_daemon.features import FeatureDef
from within_daemon.utils.runs import greedy_runs

from ..database import DatabaseLoader
from ..schema.feature_store import FeatureView
from .sql import SOURCES, VIEWS, statements, view_conflict
from .values import day_end

#: Ad-days (ad_data rows of the account) per step; each becomes up to ~20 history rows.
#: A step holds the write lock for about 2 s at this size (SQLite, 2 shared cores); 10,000
#: measured 15 % slower, 3,000 70 % slower, 25,000 barely faster.
AD_DAYS_PER_STEP = 20_000
#: Most days per step whatever their size (the days are SQL parameters).
MAX_DAYS_PER_STEP = 62
#: PostgreSQL: for this transaction only (``SET LOCAL``), nested-loop joins "on" or "off".
_NESTLOOP = "SET LOCAL enable_nestloop = {}"
#: Most days per online statement (each is a parameter once per view: 5,000 parameters).
ONLINE_DAYS = 1000


def _wide_sql(table: str, entity: str, feats: Sequence[FeatureDef], marks: str, *,
              dialect: str = "sqlite") -> str:
    """One account's source rows on the step's days: keys, ``day``, then ``v0``, ``v1``...

    Parameters: platform, account id, the first and the last day, the days (the creative
    source: see :func:`_creative_by_range` and :func:`_creative_by_lead`).
    The range as well as the list lets the primary key's index limit the scan: PostgreSQL,
    with statistics older than the account's rows, otherwise walked all of them (18-27 s
    per account on the many-days bench).
    """
    on_days = f"date >= ? AND date <= ? AND date IN ({marks})"
    vals = ", ".join(f"{f.source_column} AS v{i}" for i, f in enumerate(feats))
    if table in ("ad_history", "ad_benchmarks") and entity == "ad":
        return (f"SELECT platform, account_id, ad_id, date AS day, {vals} FROM {table} "
                f"WHERE platform = ? AND account_id = ? AND {on_days}")
    if table == "ad_history" and entity == "account":
        # Every ad row of an account carries the same account ratios for a day.
        vals = ", ".join(f"MAX({f.source_column}) AS v{i}" for i, f in enumerate(feats))
        return (f"SELECT platform, account_id, date AS day, {vals} FROM ad_history "
                f"WHERE platform = ? AND account_id = ? AND {on_days} "
                "GROUP BY platform, account_id, date")
    if table == "rollup_account_daily" and entity == "account":
        # One row per currency the account reported that day: keep the dominant one.
        return (f"SELECT platform, account_id, period_start AS day, {vals} FROM ("
                "SELECT *, ROW_NUMBER() OVER (PARTITION BY platform, account_id, period_start "
                "ORDER BY row_count DESC, spend DESC, currency) AS rn "
                "FROM rollup_account_daily WHERE platform = ? AND account_id = ? "
                "AND period_start >= ? AND period_start <= ? "
                f"AND period_start IN ({marks})) AS r WHERE rn = 1")
    if table == "ad_creative_features" and entity == "ad":
        # The days the ad ran, each with the creative version in effect on it.
        return (_creative_by_range(feats, on_days) if dialect == "sqlite"
                else _creative_by_lead(feats, on_days))
    raise LoaderError(f"no reader for {entity} features from {table}")


def _creative_by_range(feats: Sequence[FeatureDef], on_days: str) -> str:
    """SQLite: the account's versions listed once with their end, each ad-day finding its own.

    The version in effect on a day is the one whose ``valid_from`` is the latest on or
    before it, i.e. the day is in [valid_from, next version's valid_from); an ad without
    any version has its current creative on every day. Each ad-day finds its version by
    ad and range (an automatic index on the few versions): a seek for the latest start
    and another for its row per ad-day cost 1.5-2x as much
    here, and read the ad-days a second time for the ads without versions. Parameters:
    platform, account id, the last day (versions), platform, account id (current
    creatives), then the ad-days' platform, account id, first and last day, the days.
    """
    same = "n.platform = v.platform AND n.account_id = v.account_id AND n.ad_id = v.ad_id"
    hv = ", ".join(f"v.{f.source_column} AS v{i}" for i, f in enumerate(feats))
    cv = ", ".join(f"c.{f.source_column} AS v{i}" for i, f in enumerate(feats))
    rv = ", ".join(f"r.v{i}" for i in range(len(feats)))
    versions = (
        f"SELECT v.ad_id, v.valid_from, (SELECT MIN(n.valid_from) FROM ad_creative_history "
        f"n WHERE {same} AND n.valid_from > v.valid_from) AS valid_to, {hv} "
        "FROM ad_creative_history v WHERE v.platform = ? AND v.account_id = ? "
        "AND v.valid_from <= ? "
        f"UNION ALL SELECT c.ad_id, NULL, NULL, {cv} FROM ad_creative_features c "
        "WHERE c.platform = ? AND c.account_id = ? AND NOT EXISTS (SELECT 1 FROM "
        "ad_creative_history n WHERE n.platform = c.platform "
        "AND n.account_id = c.account_id AND n.ad_id = c.ad_id)")
    return (
        f"WITH r AS MATERIALIZED ({versions}) "
        # CROSS JOIN: SQLite keeps the ad-days as the outer loop (each finds its version
        # by an automatic index on the ad). With statistics saying the versions are few,
        # it otherwise chose to walk every ad-day of the step once per version: 21 s
        # instead of 2 on 200,000 ad-days.
        f"SELECT d.platform, d.account_id, d.ad_id, d.date AS day, {rv} FROM ad_data d "
        "CROSS JOIN r WHERE d.platform = ? AND d.account_id = ? "
        f"AND {on_days.replace('date', 'd.date')} "
        "AND r.ad_id = d.ad_id AND (r.valid_from IS NULL OR (d.date >= r.valid_from "
        "AND (r.valid_to IS NULL OR d.date < r.valid_to)))")


def _creative_by_lead(feats: Sequence[FeatureDef], on_days: str) -> str:
    """PostgreSQL: the account's versions with their end (``LEAD``), hash-joined to the ad-days.

    The ranges of :func:`_creative_by_range`, each version's end from the next one's start
    in a window instead of a subquery per version, and the ad-days (distinct: ON CONFLICT
    may touch a row once per statement) joined to them by ad; the same parameters. Run
    with nested loops off (:func:`materialize_days`): with statistics from before the
    account's rows were loaded, the planner expects one ad-day and would compute the
    versions again for each of them (206 s for one step of 15,000 ad-days, instead of
    0.1 s). A seek per ad-day for its latest version, the former way, took 0.23 s.
    """
    hv = ", ".join(f"v.{f.source_column} AS v{i}" for i, f in enumerate(feats))
    cv = ", ".join(f"c.{f.source_column} AS v{i}" for i, f in enumerate(feats))
    rv = ", ".join(f"r.v{i}" for i in range(len(feats)))
    versions = (
        "SELECT v.ad_id, v.valid_from, LEAD(v.valid_from) OVER (PARTITION BY v.ad_id "
        f"ORDER BY v.valid_from) AS valid_to, {hv} FROM ad_creative_history v "
        "WHERE v.platform = ? AND v.account_id = ? AND v.valid_from <= ? "
        f"UNION ALL SELECT c.ad_id, NULL, NULL, {cv} FROM ad_creative_features c "
        "WHERE c.platform = ? AND c.account_id = ? AND NOT EXISTS (SELECT 1 FROM "
        "ad_creative_history n WHERE n.platform = c.platform "
        "AND n.account_id = c.account_id AND n.ad_id = c.ad_id)")
    days = ("SELECT DISTINCT platform, account_id, ad_id, date FROM ad_data "
            f"WHERE platform = ? AND account_id = ? AND {on_days}")
    return (
        f"WITH r AS ({versions}) "
        f"SELECT d.platform, d.account_id, d.ad_id, d.date AS day, {rv} FROM ({days}) AS d "
        "JOIN r ON r.ad_id = d.ad_id WHERE r.valid_from IS NULL OR (d.date >= r.valid_from "
        "AND (r.valid_to IS NULL OR d.date < r.valid_to))")


def _view_sql(table: str, entity: str, feats: Sequence[FeatureDef], marks: str, *,
              dialect: str = "sqlite") -> str:
    """The source's rows of the step as rows of its view table, an entity's days together.

    Columns: ``entity_key, event_timestamp, created_timestamp``, then each feature as its
    column type (numbers ``REAL``, as ``float(v)`` always stored them; text as text).
    Parameters: the created timestamp, then those of :func:`_wide_sql`.
    """
    ids = "platform, account_id, ad_id" if entity == "ad" else "platform, account_id"
    # An entity's days together (a source table is otherwise read in the order its rows
    # were written, day by day): its rows then land next to each other in the B-tree,
    # measured 1.5x faster. SQLite drops a subquery's ORDER BY when it flattens the
    # subquery; a LIMIT keeps it from flattening.
    limit = " LIMIT -1" if dialect == "sqlite" else ""
    wide = (f"SELECT * FROM ({_wide_sql(table, entity, feats, marks, dialect=dialect)}) AS w "
            f"ORDER BY {ids}, day{limit}")
    vals = ", ".join(f"CAST(s.v{i} AS {'TEXT' if f.dtype == 'str' else 'REAL'})"
                     for i, f in enumerate(feats))
    return (f"SELECT {_key(entity)} AS entity_key, "
            "CAST(s.day AS TEXT) || 'T23:59:59Z' AS event_timestamp, "
            f"CAST(? AS TEXT) AS created_timestamp, {vals} FROM ({wide}) AS s")


def _key(entity: str) -> str:
    return ("s.platform || ':' || s.account_id || ':' || s.ad_id" if entity == "ad"
            else "s.platform || ':' || s.account_id")


def _online_sql(view: FeatureView, marks: str, j: int) -> tuple[str, str]:
    """Each entity's view row on its latest day of the step, one row per feature, as online rows.

    Read back from the view's table, in the same transaction, right after the step's rows
    were written there, rather than by reading the sources again (whose creative join costs
    most). Returns a ``WITH`` entry (named ``k<j>``) and the select over it: the entry lists
    the account's keys in the table one index seek each (a recursive walk from key to next
    key, so the cost follows the number of entities, not of their days), the select seeks
    each key's newest row on the step's days. Parameters, entry then select: the account's
    key bounds (ad views: from ``<platform>:<account>:`` to before ``<platform>:<account>;``,
    ``;`` following ``:``, the upper bound twice; account views: the key), then the first
    and the last event timestamp of the step and each day's. (A view row of a step day
    that the sources no longer hold, since history rows are never deleted, counts too: the
    online value then is what the history says of that day.)
    """
    t, feats = view.table, view.features
    if view.entity == "ad":
        keys = (f"k{j}(key) AS (SELECT (SELECT entity_key FROM {t} WHERE entity_key >= ? "
                "AND entity_key < ? ORDER BY entity_key LIMIT 1) UNION ALL SELECT (SELECT "
                f"entity_key FROM {t} WHERE entity_key > k{j}.key AND entity_key < ? "
                f"ORDER BY entity_key LIMIT 1) FROM k{j} WHERE k{j}.key IS NOT NULL)")
    else:
        keys = f"k{j}(key) AS (SELECT CAST(? AS TEXT))"
    names = ", ".join(f"({i}, '{f.name}')" for i, f in enumerate(feats))
    real = " ".join(f"WHEN {i} THEN l.{f.name}" for i, f in enumerate(feats) if f.dtype != "str")
    text = " ".join(f"WHEN {i} THEN l.{f.name}" for i, f in enumerate(feats) if f.dtype == "str")
    last = (f"SELECT v.* FROM k{j} JOIN {t} v ON v.entity_key = k{j}.key "
            f"AND v.event_timestamp = (SELECT x.event_timestamp FROM {t} x "
            f"WHERE x.entity_key = k{j}.key AND x.event_timestamp >= ? "
            f"AND x.event_timestamp <= ? AND x.event_timestamp IN ({marks}) "
            "ORDER BY x.event_timestamp DESC LIMIT 1)")
    return keys, (
        f"SELECT '{view.entity}' AS entity, l.entity_key AS entity_key, f.column2 AS feature, "
        f"{f'CASE f.column1 {real} END' if real else 'NULL'} AS value_real, "
        f"{f'CASE f.column1 {text} END' if text else 'NULL'} AS value_text, "
        "l.event_timestamp AS event_timestamp "
        f"FROM ({last}) AS l CROSS JOIN (VALUES {names}) AS f")


def _conflict(upsert: str) -> str:
    # The conflict rule of the row-at-a-time statement, so the two cannot drift apart.
    return upsert[upsert.index(" ON CONFLICT"):]


async def _steps(db: DatabaseLoader, platform: str, account_id: str,
                 days: list[str]) -> list[list[str]]:
    """``days`` cut into runs of at most :data:`AD_DAYS_PER_STEP` ad-days of the account."""
    rows = await db.fetch_dicts(
        "SELECT date AS day, COUNT(*) AS n FROM ad_data WHERE platform = ? AND account_id = ? "
        "AND date >= ? AND date <= ? GROUP BY date", [platform, account_id, days[0], days[-1]])
    size = {str(r["day"]): int(r["n"]) for r in rows}
    return greedy_runs(((d, size.get(d, 0)) for d in days), AD_DAYS_PER_STEP,
                       max_items=MAX_DAYS_PER_STEP)


async def materialize_days(db: DatabaseLoader, *, platform: str, account_id: str,
                           days: list[str], created: Callable[[], str]) -> int:
    """Record one account's feature values for the sorted ``days``; history rows offered.

    ``created`` gives each step's ``created_timestamp`` (called once per step). Each step
    commits its view rows in one transaction; the last one also writes the online rows,
    each entity's newest view row on ``days`` (a crash before it leaves the online values
    of the days before until the days are materialized again). The count is that of the long
    rows the store offered before the views (a source row times its view's features):
    every offered view row is inserted or updated, so the inserts' row counts give it.
    """
    if not days:
        return 0
    dialect = db.dialect
    stmts = statements(dialect)
    total = 0
    steps_days = await _steps(db, platform, account_id, days)
    for k, chunk in enumerate(steps_days):
        marks = ", ".join("?" * len(chunk))
        now = created()
        steps: list[tuple[str, list[tuple[Any, ...]]]] = []
        widths: list[int] = []
        for src, feats in SOURCES.items():
            view = VIEWS[src]
            p = [platform, account_id, min(chunk), max(chunk), *chunk]
            if src.table == "ad_creative_features":
                p = [platform, account_id, max(chunk), platform, account_id, *p]
            cols = ", ".join(("entity_key", "event_timestamp", "created_timestamp",
                              *(f.name for f in feats)))
            steps.append((
                f"INSERT INTO {view.table} ({cols}) "
                f"{_view_sql(src.table, src.entity, feats, marks, dialect=dialect.name)} "
                f"WHERE 1 = 1{view_conflict(view, dialect)}", [(now, *p)]))
            widths.append(len(feats))
        if k == len(steps_days) - 1:
            # The online values once, with the last step, over every day of the call: a
            # step's would be replaced by the next step's newer days (each entity keeps
            # its newest), and rewriting them per step cost 8 of 14 s on 23,000 ads x 7
            # days (one step per day there: 414,000 online rows per step). The days go
            # in groups (bounded parameters); a later group's newer rows win.
            steps += [_online_step(platform, account_id, days[i:i + ONLINE_DAYS],
                                   stmts.upsert_online)
                      for i in range(0, len(days), ONLINE_DAYS)]
        if dialect.name == "postgresql":
            # The view statements join whole sets (see _creative_by_lead); the online
            # statement walks keys by index seeks, which are nested loops.
            steps = [(_NESTLOOP.format("off"), [()]), *steps[:len(widths)],
                     (_NESTLOOP.format("on"), [()]), *steps[len(widths):]]
            counts = await db.execute_in_transaction(steps)
            counts = counts[1:len(widths) + 1]
        else:
            counts = await db.execute_in_transaction(steps)
        total += sum(n * w for n, w in zip(counts, widths, strict=False))
    return total


def _online_step(platform: str, account_id: str, days: list[str],
                 upsert: str) -> tuple[str, list[tuple[Any, ...]]]:
    """The statement writing each entity's newest view row on ``days`` as online rows."""
    online_cols = "entity, entity_key, feature, value_real, value_text, event_timestamp"
    marks = ", ".join("?" * len(days))
    ctes: list[str] = []
    online: list[str] = []
    cte_params: list[Any] = []
    online_params: list[Any] = []
    prefix = f"{platform}:{account_id}"
    stamps = [day_end(d) for d in days]
    for src in SOURCES:
        keys, select = _online_sql(VIEWS[src], marks, len(ctes))
        ctes.append(keys)
        online.append(select)
        cte_params += ([f"{prefix}:", f"{prefix};", f"{prefix};"] if src.entity == "ad"
                       else [prefix])
        online_params += [stamps[0], stamps[-1], *stamps]
    return (f"WITH RECURSIVE {', '.join(ctes)} "
            f"INSERT INTO feature_online ({online_cols}) SELECT {online_cols} FROM "
            f"({' UNION ALL '.join(online)}) AS u WHERE 1 = 1" + _conflict(upsert),
            [(*cte_params, *online_params)])


def check_sources() -> None:
    """Every feature source has a reader here (``LoaderError`` names the first without)."""
    for src, feats in SOURCES.items():
        for dialect in ("sqlite", "postgresql"):
            _wide_sql(src.table, src.entity, feats, "?", dialect=dialect)


check_sources()  # at import: fail early, not at the first run
