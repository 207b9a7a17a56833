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
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import LoaderError
from ..features import ENTITIES, FEATURES, FEATURES_BY_NAME, Entity, FeatureDef, features_of
from .analytics import CreativeVersions, creative_versions
from .database import DatabaseLoader
from .sqlite_schema import SQLITE, Dialect

FEATURE_TABLES: tuple[str, ...] = ("feature_online", "feature_history")

#: Days read and written per transaction by :meth:`FeatureStore.materialize`.
DAYS_PER_STEP = 7
#: Entity rows per point-in-time query (4 parameters each, under SQLite's 32,766).
ROWS_PER_QUERY = 2000
#: History rows read per page by the Parquet export.
EXPORT_PAGE = 50_000

_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")
_HIST_COLS = ("entity", "entity_key", "feature", "event_timestamp", "created_timestamp",
              "value_real", "value_text")


def feature_store_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 6."""
    options = ", ".join(o for o in (
        "WITHOUT ROWID" if d.name == "sqlite" else "", d.table_suffix.strip()) if o)
    suffix = f" {options}" if options else ""
    entities = ", ".join(f"'{e}'" for e in ENTITIES)
    # SQLite compares TEXT as bytes; PostgreSQL by the database's locale, in which
    # "ad_2" < "ad1" and the index order (the export's page order) would differ. "C" is
    # byte order there too, and the faster comparison.
    key = "TEXT NOT NULL" + ("" if d.name == "sqlite" else ' COLLATE "C"')
    return [
        f"""CREATE TABLE IF NOT EXISTS feature_online (
  entity {key} CHECK (entity IN ({entities})),
  entity_key {key},
  feature {key},
  value_real REAL,
  value_text TEXT,
  event_timestamp {key},
  PRIMARY KEY (entity, entity_key, feature)
){suffix}""",
        f"""CREATE TABLE IF NOT EXISTS feature_history (
  entity {key} CHECK (entity IN ({entities})),
  entity_key {key},
  feature {key},
  event_timestamp {key},
  created_timestamp TEXT NOT NULL,
  value_real REAL,
  value_text TEXT,
  PRIMARY KEY (entity, entity_key, feature, event_timestamp)
){suffix}""",
    ]


# -- timestamps -------------------------------------------------------------------------------


def day_end(day: str) -> str:
    """The event timestamp of a day's values: ``2024-03-01`` -> ``2024-03-01T23:59:59Z``."""
    date.fromisoformat(day)  # reject anything that is not an ISO day
    return f"{day}T23:59:59Z"


def normalize_ts(value: str | datetime | date) -> str:
    """A request time in the stored spelling (UTC, whole seconds, ``Z``), rounded down.

    Rounding down keeps the comparison exact: stored times are whole seconds, so
    ``stored <= floor(t)`` exactly when ``stored <= t``. A naive time is taken as UTC; a bare
    date means its midnight (the start of the day: that day's own values are not yet known).
    """
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError as exc:
            raise LoaderError(f"not an ISO timestamp: {value!r}") from exc
    elif isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        raise LoaderError(f"not a timestamp: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


# -- keys and values --------------------------------------------------------------------------


def entity_key(platform: str, account_id: str, ad_id: str | None = None) -> str:
    """``"<platform>:<account_id>"`` or ``"<platform>:<account_id>:<ad_id>"``."""
    return f"{platform}:{account_id}" if ad_id is None else f"{platform}:{account_id}:{ad_id}"


def split_key(entity: Entity, key: str) -> tuple[str, ...]:
    """The key's parts: ``(platform, account_id)`` or ``(platform, account_id, ad_id)``."""
    parts = tuple(key.split(":", 2))
    if len(parts) != (3 if entity == "ad" else 2) or not all(parts):
        raise LoaderError(f"not an {entity} key: {key!r}")
    return parts


def _account_of(key: str) -> str | None:
    parts = key.split(":", 2)
    return f"{parts[0]}:{parts[1]}" if len(parts) >= 2 and parts[0] and parts[1] else None


def _store(f: FeatureDef, v: Any) -> tuple[float | None, str | None]:
    if v is None:
        return None, None
    if f.dtype == "str":
        return None, str(v)
    return float(v), None


def _load(f: FeatureDef, real: float | None, text: str | None) -> Any:
    if f.dtype == "str":
        return text
    if real is None:
        return None
    return int(real) if f.dtype == "int" else float(real)


def _check_entity(entity: str) -> Entity:
    if entity == "ad":
        return "ad"
    if entity == "account":
        return "account"
    raise LoaderError(f"unknown entity {entity!r} (expected 'ad' or 'account')")


def _defs(names: Iterable[str] | None, entity: Entity | None = None) -> list[FeatureDef]:
    if names is None:
        return list(FEATURES if entity is None else features_of(entity))
    out = []
    for n in names:
        f = FEATURES_BY_NAME.get(n)
        if f is None:
            raise LoaderError(f"unknown feature {n!r}; `within-daemon features` lists them")
        if entity is not None and f.entity != entity:
            raise LoaderError(f"feature {n!r} describes an {f.entity}, not an {entity}")
        out.append(f)
    return out


# -- reading the sources ----------------------------------------------------------------------


class _Source(NamedTuple):
    table: str
    entity: Entity


#: The creative source: its SQL gives the ad-days, the values come from the versions.
_CREATIVE = _Source("ad_creative_features", "ad")


def _source_sql(src: _Source, feats: Sequence[FeatureDef], n_days: int) -> str:
    """``platform, account_id, [ad_id,] day, <feature>...`` of one account on ``n_days`` days."""
    for f in feats:
        if not (_IDENT.match(f.source_column) and _IDENT.match(f.name)):
            raise LoaderError(f"feature {f.name!r}: bad identifier")
    marks = ", ".join("?" * n_days)
    if (src.table, src.entity) in {("ad_history", "ad"), ("ad_benchmarks", "ad")}:
        cols = ", ".join(f"{f.source_column} AS {f.name}" for f in feats)
        return (f"SELECT platform, account_id, ad_id, date AS day, {cols} FROM {src.table} "
                f"WHERE platform = ? AND account_id = ? AND date IN ({marks})")
    if (src.table, src.entity) == ("ad_history", "account"):
        # Every ad row of an account carries the same account ratios for a day.
        cols = ", ".join(f"MAX({f.source_column}) AS {f.name}" for f in feats)
        return (f"SELECT platform, account_id, date AS day, {cols} FROM ad_history "
                f"WHERE platform = ? AND account_id = ? AND date IN ({marks}) "
                "GROUP BY platform, account_id, date")
    if src == _CREATIVE:
        # The days the ad ran; each takes the creative version in effect on it.
        return ("SELECT DISTINCT platform, account_id, ad_id, date AS day FROM ad_data "
                f"WHERE platform = ? AND account_id = ? AND date IN ({marks})")
    if (src.table, src.entity) == ("rollup_account_daily", "account"):
        # One row per currency the account reported that day: keep the dominant one.
        cols = ", ".join(f"{f.source_column} AS {f.name}" for f in feats)
        # (The derived table needs its alias: PostgreSQL before 16 refuses one without.)
        return (f"SELECT platform, account_id, period_start AS day, {cols} FROM ("
                "SELECT *, ROW_NUMBER() OVER (PARTITION BY platform, account_id, period_start "
                "ORDER BY row_count DESC, spend DESC, currency) AS rn "
                "FROM rollup_account_daily WHERE platform = ? AND account_id = ? "
                f"AND period_start IN ({marks})) AS r WHERE rn = 1")
    raise LoaderError(f"no reader for {src.entity} features from {src.table}")


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


def _sources() -> dict[_Source, list[FeatureDef]]:
    groups: dict[_Source, list[FeatureDef]] = defaultdict(list)
    for f in FEATURES:
        groups[_Source(f.source_table, f.entity)].append(f)
    for src, feats in groups.items():
        _source_sql(src, feats, 1)  # fail at import, not at the first run
    return dict(groups)


SOURCES = _sources()

class _Statements(NamedTuple):
    """The store's write and online-read statements in one dialect's spelling."""

    upsert_history: str
    upsert_online: str
    get_online: str


def _statements(d: Dialect) -> _Statements:
    # A restated value replaces the stored one; an unchanged one keeps its row (and its
    # created_timestamp). The comparison must hold for NULLs: SQLite spells it IS NOT.
    differs = "IS NOT" if d.name == "sqlite" else "IS DISTINCT FROM"
    return _Statements(
        upsert_history=(
            f"INSERT INTO feature_history ({', '.join(_HIST_COLS)}) VALUES (?, ?, ?, ?, ?, ?, ?) "
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


_STATEMENTS: dict[str, _Statements] = {}


def statements(d: Dialect) -> _Statements:
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


def _pit_sqlite(n_rows: int, n_feats: int) -> str:
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
_PIT_POSTGRES = (
    "WITH req AS (SELECT * FROM unnest(CAST(? AS INTEGER[]), CAST(? AS TEXT[]), "
    "CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS t(i, k_ad, k_acct, ts)), "
    "f AS (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS t(entity, feature)), "
    + _PIT_SELECT
    + "CROSS JOIN LATERAL (SELECT h.value_real, h.value_text FROM feature_history h"
    " WHERE h.entity = q.entity AND h.entity_key = q.k AND h.feature = q.feature"
    " AND h.event_timestamp <= q.ts ORDER BY h.event_timestamp DESC LIMIT 1) h"
)


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
            created = _now()
            out: list[tuple[Any, ...]] = []
            online: dict[tuple[str, str, str], tuple[Any, ...]] = {}
            for src, feats in SOURCES.items():
                rows = await self.db.fetch_dicts(
                    _source_sql(src, feats, len(chunk)), [platform, account_id, *chunk])
                if src == _CREATIVE:
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
                        real, text = _store(f, r[f.name])
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
        ent = _check_entity(entity)
        wanted = _defs(features, ent)
        rows = await self.db.fetch_dicts(self._sql.get_online, (ent, key))
        got = {r["feature"]: r for r in rows}
        out: dict[str, Any] = {}
        for f in wanted:
            r = got.get(f.name)
            out[f.name] = None if r is None else _load(f, r["value_real"], r["value_text"])
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
        defs = _defs(features)
        if not defs:
            raise LoaderError("no features requested")
        reqs = []
        for key, ts in entity_rows:
            reqs.append((key if key.count(":") >= 2 else None, _account_of(key),
                         normalize_ts(ts)))
        out: list[dict[str, Any]] = [
            {"entity_key": key, "event_timestamp": ts, **dict.fromkeys(f.name for f in defs)}
            for key, ts in entity_rows]
        postgres = self.db.dialect.name == "postgresql"
        fparams = [x for f in defs for x in (f.entity, f.name)]
        for start in range(0, len(reqs), ROWS_PER_QUERY):
            part = reqs[start:start + ROWS_PER_QUERY]
            if postgres:
                sql = _PIT_POSTGRES
                params: list[Any] = [list(range(start, start + len(part))),
                                     *(list(col) for col in zip(*part, strict=True)),
                                     [f.entity for f in defs], [f.name for f in defs]]
            else:
                sql = _pit_sqlite(len(part), len(defs))
                params = [x for j, r in enumerate(part) for x in (start + j, *r)] + fparams
            for r in await self.db.fetch_dicts(sql, params):
                f = FEATURES_BY_NAME[r["feature"]]
                out[r["i"]][f.name] = _load(f, r["value_real"], r["value_text"])
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
        import pyarrow as pa  # imported here: only the export needs it
        import pyarrow.parquet as pq

        ent = _check_entity(entity)
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
                w[f.name] = _load(f, r["value_real"], r["value_text"])
            for ts in sorted(wide):
                w = wide[ts]
                buffer.append({**dict(zip(key_cols, parts, strict=True)),
                               "event_timestamp": _parse(ts), **w,
                               "created": _parse(w["created"])})

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
                    page = await self.db.fetch_dicts(
                        f"SELECT {', '.join(_HIST_COLS)} FROM feature_history WHERE {where} "
                        f"ORDER BY entity_key, feature, event_timestamp LIMIT {EXPORT_PAGE}",
                        params)
                    last_page = len(page) < EXPORT_PAGE
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

