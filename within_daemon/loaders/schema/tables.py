"""Tables, migrations and statement text of the database loader, built from ``schema``.

Every column list comes from :mod:`within_daemon.schema` (``AD_FIELDS``, ``ACCOUNT_FIELDS``
and their keys), so the DDL, the upsert statements and the tuples the loader binds cannot
drift apart. The only SQLite-specific parts are gathered in :class:`Dialect` (placeholder,
auto-increment id, ``STRICT``); :data:`POSTGRES` is the other instance, and both
backends apply the same migrations. Migrations are an ordered, append-only list: a
released migration is never edited, a schema change is a new entry. The tuples the loader
binds to these statements are shaped in :mod:`.rows`, from the same column lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from within_daemon.schema import (
    ACCOUNT_FIELDS,
    ACCOUNT_KEY,
    AD_EXTRA_FIELDS,
    AD_FIELDS,
    AD_KEY,
)

#: Columns every fact row carries besides its record fields: which run wrote it, when the
#: source served it and when it was committed.
PROVENANCE: tuple[str, ...] = ("run_id", "fetched_at", "loaded_at")

#: Numeric columns; everything else in the record lists is TEXT (dates as ISO strings).
INTEGER_COLUMNS: frozenset[str] = frozenset({
    "impressions", "clicks", "link_clicks",
    "daily_impressions", "daily_clicks", "campaign_count", "ad_count",
})
#: Conversions are REAL since migration 13: attribution credits fractions of a conversion
#: (see :mod:`.conversions_migration`).
REAL_COLUMNS: frozenset[str] = frozenset({
    "ctr", "spend", "conversion_rate", "cpa", "roas", "relevance_score", "quality_score",
    "revenue", "daily_spend", "daily_revenue", "daily_roas", "conversions",
    "daily_conversions",
})

RUN_STATUSES: tuple[str, ...] = ("running", "success", "partial", "failed", "interrupted")
FINAL_RUN_STATUSES: tuple[str, ...] = ("success", "partial", "failed", "interrupted")

# A cheap shape check: the ledger and the fact tables must agree on how a day is spelled, or
# "is this day complete?" silently answers no.
_ISO_DAY = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"


@dataclass(frozen=True)
class Dialect:
    """The few bits of SQL that differ between databases."""

    name: str
    #: Positional parameter marker as the statements are written ("?" for both backends).
    placeholder: str
    #: Column definition of a surrogate integer primary key.
    serial_pk: str
    #: Appended to CREATE TABLE; SQLite's STRICT makes a wrong type an error, not a coercion.
    table_suffix: str
    #: Equality that holds for two NULLs.
    null_safe_eq: str = "IS"
    #: The database server's clock in unix seconds (leases compare against one clock, not
    #: each replica's).
    now_epoch: str = "((julianday('now') - 2440587.5) * 86400.0)"

    def params(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)


SQLITE = Dialect(
    name="sqlite", placeholder="?", serial_pk="INTEGER PRIMARY KEY", table_suffix=" STRICT",
)
#: Statements keep "?" here; the PostgreSQL backend numbers them ($1, $2, ...) when it runs
#: them, together with every other statement the modules above the loader write.
POSTGRES = Dialect(
    name="postgresql", placeholder="?", serial_pk="BIGSERIAL PRIMARY KEY", table_suffix="",
    null_safe_eq="IS NOT DISTINCT FROM",
    now_epoch="CAST(extract(epoch from clock_timestamp()) AS DOUBLE PRECISION)",
)


@dataclass(frozen=True)
class FactTable:
    """One fact table: its record fields, natural key, and the statement that upserts it."""

    kind: str
    name: str
    fields: tuple[str, ...]
    key: tuple[str, ...]
    #: Columns added by later migrations: a record may carry them, otherwise the batch's
    #: context gives the value (or NULL).
    extras: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.fields, *self.extras, *PROVENANCE)

    @property
    def storage_key(self) -> tuple[str, ...]:
        """The key's column order in the index: day-major within an account.

        Pipelines write one day of an account's ads per batch, so ``date`` right after the
        account keeps a batch's index inserts contiguous instead of scattered over every
        ad's history: 3x the insert rate measured (58k -> 169k rows/s, 200 one-day batches
        of 1,000 ads). ``ON CONFLICT`` matches the index by its column set, not its order.
        """
        head = tuple(k for k in ("platform", "account_id", "date") if k in self.key)
        return (*head, *(k for k in self.key if k not in head))


#: ``attribution_window``: the conversion window the platform counted with (Amazon's
#: 1d/7d/14d/30d setting), so rows pulled under different settings stay distinguishable;
#: ``link_clicks`` (migration 9). See ``schema.AD_EXTRA_FIELDS``.
AD_TABLE = FactTable("ad", "ad_data", AD_FIELDS, AD_KEY, extras=AD_EXTRA_FIELDS)
ACCOUNT_TABLE = FactTable("account", "account_data", ACCOUNT_FIELDS, ACCOUNT_KEY)
FACT_TABLES: dict[str, FactTable] = {t.kind: t for t in (AD_TABLE, ACCOUNT_TABLE)}

#: Every table the loader owns; ``count_rows`` only accepts these names.
TABLES: tuple[str, ...] = (
    "schema_migrations", "ad_data", "account_data", "quarantine", "runs", "ledger",
    "ledger_history", "ad_creative_features", "ad_history", "ad_benchmarks", "quality_reports",
    "unified_ad_data",
    "rollup_campaign_daily", "rollup_account_daily", "rollup_account_weekly",
    "rollup_account_monthly", "rollup_platform_weekly", "rollup_platform_monthly",
    "audience_data", "ad_audience_summary", "feature_online", "feature_history",
    "replicas", "leases", "task_slots", "ad_creative_history", "image_failures",
)


def column_type(column: str) -> str:
    if column in INTEGER_COLUMNS:
        return "INTEGER"
    if column in REAL_COLUMNS:
        return "REAL"
    return "TEXT"


def _check_type_lists() -> None:
    # A renamed field in schema.py would otherwise silently become a TEXT column.
    known = set(AD_FIELDS) | set(AD_EXTRA_FIELDS) | set(ACCOUNT_FIELDS)
    stray = sorted((INTEGER_COLUMNS | REAL_COLUMNS) - known)
    if stray:
        raise RuntimeError(f"numeric column(s) not in schema field lists: {stray}")


_check_type_lists()


def day_check(column: str, d: Dialect) -> str:
    if d.name == "sqlite":
        return f"{column} GLOB {_ISO_DAY}"
    return f"{column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'"


def fact_table_ddl(table: FactTable, d: Dialect = SQLITE, *,
                   extras: tuple[str, ...] = ()) -> str:
    """``CREATE TABLE`` of a fact table, optionally with columns later migrations added.

    ``extras`` go after the provenance columns, where ``ALTER TABLE ... ADD COLUMN`` put them.
    """
    cols = []
    for c in table.fields:
        null = " NOT NULL" if c in table.key else ""
        check = f" CHECK ({day_check(c, d)})" if c == "date" else ""
        cols.append(f"{c} {column_type(c)}{null}{check}")
    cols += ["run_id TEXT", "fetched_at TEXT", "loaded_at TEXT"]
    cols += [f"{c} {column_type(c)}" for c in extras]
    cols.append(f"PRIMARY KEY ({', '.join(table.storage_key)})")
    body = ",\n  ".join(cols)
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {body}\n){d.table_suffix}"


def upsert_sql(table: FactTable, d: Dialect = SQLITE, *, source: str | None = None) -> str:
    """Insert-or-update on the natural key, every non-key column taken from the new row.

    The ``WHERE`` keeps a row fetched earlier from overwriting one fetched later: with
    at-least-once delivery a retried, older batch can arrive after a newer one. Rows come
    from bound parameters, or with ``source`` from that (staging) table's same columns.
    """
    cols = ", ".join(table.columns)
    n = len(table.columns)
    rows = f"SELECT {cols} FROM {source}" if source else f"VALUES ({d.params(n)})"
    updates = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
    return (
        f"INSERT INTO {table.name} ({cols}) {rows} "
        f"ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {updates} "
        f"WHERE excluded.fetched_at >= {table.name}.fetched_at"
    )


def _support_ddl(d: Dialect) -> list[str]:
    s = d.table_suffix
    day_ok = f" CHECK ({day_check('day', d)})"
    statuses = ", ".join(f"'{x}'" for x in RUN_STATUSES)
    return [
        f"""CREATE TABLE IF NOT EXISTS quarantine (
  id {d.serial_pk},
  run_id TEXT NOT NULL,
  task TEXT NOT NULL,
  platform TEXT,
  account_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('ad', 'account')),
  record_key TEXT,
  reason TEXT NOT NULL,
  errors_json TEXT NOT NULL,
  raw_json TEXT NOT NULL,
  created_at TEXT NOT NULL
){s}""",
        "CREATE INDEX IF NOT EXISTS quarantine_run ON quarantine (run_id)",
        "CREATE INDEX IF NOT EXISTS quarantine_account "
        "ON quarantine (platform, account_id, created_at)",
        # One row per run_id; a run may cover one account or (account_id NULL) many.
        f"""CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  task TEXT NOT NULL,
  pipeline TEXT,
  platform TEXT,
  account_id TEXT,
  window_start TEXT,
  window_end TEXT,
  status TEXT NOT NULL CHECK (status IN ({statuses})),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  records_fetched INTEGER NOT NULL DEFAULT 0,
  records_loaded INTEGER NOT NULL DEFAULT 0,
  records_quarantined INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  resumed_count INTEGER NOT NULL DEFAULT 0
){s}""",
        "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
        "CREATE INDEX IF NOT EXISTS runs_window "
        "ON runs (task, platform, account_id, window_start, window_end)",
        f"""CREATE TABLE IF NOT EXISTS ledger (
  task TEXT NOT NULL,
  platform TEXT NOT NULL,
  account_id TEXT NOT NULL,
  day TEXT NOT NULL{day_ok},
  kind TEXT NOT NULL CHECK (kind IN ('ad', 'account')),
  status TEXT NOT NULL CHECK (status IN ('complete')),
  run_id TEXT NOT NULL,
  rows INTEGER NOT NULL,
  completed_at TEXT NOT NULL,
  first_completed_at TEXT NOT NULL,
  restated_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task, platform, account_id, day, kind)
){s}""",
        # completed_days asks by (platform, account, kind, day) with or without a task.
        "CREATE INDEX IF NOT EXISTS ledger_day ON ledger (platform, account_id, kind, day)",
        # Append-only: which run (re)wrote which day, so restatements stay visible.
        f"""CREATE TABLE IF NOT EXISTS ledger_history (
  id {d.serial_pk},
  task TEXT NOT NULL,
  platform TEXT NOT NULL,
  account_id TEXT NOT NULL,
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  run_id TEXT NOT NULL,
  rows INTEGER NOT NULL,
  completed_at TEXT NOT NULL
){s}""",
        "CREATE INDEX IF NOT EXISTS ledger_history_day "
        "ON ledger_history (platform, account_id, day)",
    ]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def migrations(d: Dialect = SQLITE) -> tuple[Migration, ...]:
    """The ordered migration list; append new versions, never edit applied ones."""
    from ..audience import audience_ddl, audience_level_ddl
    from ..feature_store.sql import feature_store_ddl
    from ..image_failures import image_failures_ddl
    from .analytics import (  # they import this module
        analytics_ddl,
        creative_history_ddl,
        unified_ddl,
    )
    from .conversions import as_released, conversions_to_real
    # Migrations 1-3 build their DDL from today's column types; as_released keeps the
    # conversion columns INTEGER there, as released, and migration 13 makes them REAL.
    return (
        Migration(
            1,
            "fact tables, quarantine, runs, ledger",
            as_released((fact_table_ddl(AD_TABLE, d), fact_table_ddl(ACCOUNT_TABLE, d),
                         *_support_ddl(d))),
        ),
        Migration(
            2,
            "creative features, history, benchmarks, rollups, quality reports",
            as_released(analytics_ddl(d)),
        ),
        Migration(3, "unified cross-platform dataset", as_released(unified_ddl(d))),
        Migration(4, "audience insights", tuple(audience_ddl(d))),
        Migration(5, "attribution window of ad rows",
                  ("ALTER TABLE ad_data ADD COLUMN attribution_window TEXT",)),
        Migration(6, "feature store", tuple(feature_store_ddl(d))),
        Migration(7, "replicas, leases and task slots for several daemons", (
            *cluster_ddl(d), "ALTER TABLE runs ADD COLUMN holder TEXT")),
        Migration(8, "dated versions of ad creatives", tuple(creative_history_ddl(d))),
        Migration(9, "link clicks of ad rows", (
            "ALTER TABLE ad_data ADD COLUMN link_clicks INTEGER",
        )),
        Migration(10, "image fetch failures", tuple(image_failures_ddl(d))),
        Migration(12, "audience level: ad, or ad group (Google)", tuple(audience_level_ddl())),
        # Last, so the tables it rebuilds (SQLite) already have every column added before.
        Migration(13, "conversions as real numbers (fractional attribution)",
                  conversions_to_real(d)),
    )


def cluster_ddl(d: Dialect) -> list[str]:
    """Replica heartbeats, account leases and once-per-cluster task slots (times: unix s)."""
    s = d.table_suffix
    return [
        f"""CREATE TABLE IF NOT EXISTS replicas (
  replica_id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at REAL NOT NULL,
  heartbeat_at REAL NOT NULL,
  lease_seconds REAL NOT NULL
){s}""",
        f"""CREATE TABLE IF NOT EXISTS leases (
  resource TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  generation INTEGER NOT NULL,
  acquired_at REAL NOT NULL,
  expires_at REAL NOT NULL
){s}""",
        f"""CREATE TABLE IF NOT EXISTS task_slots (
  task TEXT NOT NULL,
  account_id TEXT NOT NULL,
  slot TEXT NOT NULL,
  holder TEXT NOT NULL,
  claimed_at REAL NOT NULL,
  PRIMARY KEY (task, account_id, slot)
){s}""",
    ]


MIGRATIONS_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def _render(sql: str, d: Dialect) -> str:
    # Statements are written once with "?" markers (no literal in them contains "?") and
    # "IS" for null-safe equality; a dialect swaps in its own spelling.
    return sql.replace(" IS ?", f" {d.null_safe_eq} ?").replace("?", d.placeholder)


_LEDGER_COLS = ("task", "platform", "account_id", "day", "kind", "status", "run_id", "rows",
                "completed_at", "first_completed_at")
_HISTORY_COLS = ("task", "platform", "account_id", "day", "kind", "run_id", "rows",
                 "completed_at")
_QUARANTINE_COLS = ("run_id", "task", "platform", "account_id", "kind", "record_key", "reason",
                    "errors_json", "raw_json", "created_at")


def _insert(table: str, cols: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


# A run held by a live replica (heartbeat within its lease time) is not interrupted.
_MARK_INTERRUPTED = (
    "UPDATE runs SET status = 'interrupted', finished_at = ?,"
    " error = COALESCE(error, 'process exited while the run was in progress')"
    " WHERE status = 'running' AND {holders} AND (holder IS NULL OR holder NOT IN"
    " (SELECT replica_id FROM replicas WHERE heartbeat_at + lease_seconds > {now}))"
    " RETURNING run_id"
)

_TEMPLATES: dict[str, str] = {
    "ledger_upsert": _insert("ledger", _LEDGER_COLS) + (
        " ON CONFLICT (task, platform, account_id, day, kind) DO UPDATE SET"
        " status = excluded.status, run_id = excluded.run_id, rows = excluded.rows,"
        " completed_at = excluded.completed_at, restated_count = ledger.restated_count + 1"
    ),
    "ledger_history": _insert("ledger_history", _HISTORY_COLS),
    "quarantine": _insert("quarantine", _QUARANTINE_COLS),
    "completed_days": (
        "SELECT day FROM ledger WHERE platform = ? AND account_id = ? AND kind = ?"
        " AND status = 'complete' AND day IN ({days})"
    ),
    # The last pull of each complete day of an account, by any task or backfill
    # (settling, pipelines/settling).
    "last_pulls": (
        "SELECT day, MAX(completed_at) FROM ledger WHERE platform = ? AND account_id = ?"
        " AND kind = ? AND status = 'complete' AND day >= ? AND day <= ? GROUP BY day"
    ),
    # Optional filters appended to completed_days, parameters in this order.
    "and_task": " AND task = ?",
    "and_run": " AND run_id = ?",
    # Re-using the id of a run that is not running re-opens it (a resume).
    "start_run": _insert("runs", (
        "run_id", "task", "pipeline", "platform", "account_id", "window_start", "window_end",
        "status", "started_at", "holder",
    )) + (
        " ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, finished_at = NULL,"
        " error = NULL, resumed_count = runs.resumed_count + 1, holder = excluded.holder"
        " WHERE runs.status <> 'running'"
    ),
    # "AND holder IS ?": a replica that lost an account cannot close or count a run that
    # its successor has taken over (resumed under the same id).
    "finish_run": (
        "UPDATE runs SET status = ?, finished_at = ?,"
        " records_fetched = COALESCE(?, records_fetched),"
        " records_loaded = COALESCE(?, records_loaded),"
        " records_quarantined = COALESCE(?, records_quarantined), error = ? WHERE run_id = ?"
        " AND holder IS ?"
    ),
    "add_counts": (
        "UPDATE runs SET records_fetched = records_fetched + ?,"
        " records_loaded = records_loaded + ?,"
        " records_quarantined = records_quarantined + ? WHERE run_id = ? AND holder IS ?"
    ),
    # The fencing check of a cluster replica, inside the batch's transaction.
    "fence": (
        "SELECT 1 FROM leases WHERE resource = ? AND holder = ? AND generation = ?"
        " AND expires_at > {now}"
    ),
    "mark_interrupted": _MARK_INTERRUPTED.format(holders="1 = 1", now="{now}"),
    # A replica's periodic sweep: holder-less runs may be a one-shot `once` next to it.
    "mark_interrupted_replicas": _MARK_INTERRUPTED.format(holders="holder IS NOT NULL",
                                                          now="{now}"),
    "find_resumable": (
        "SELECT run_id FROM runs WHERE status = 'interrupted' AND task = ?"
        " AND platform IS ? AND account_id IS ? AND window_start IS ? AND window_end IS ?"
        " ORDER BY started_at DESC, run_id DESC LIMIT 1"
    ),
    "run_summary": "SELECT * FROM runs WHERE run_id IN ({ids}) ORDER BY started_at, run_id",
    "migration_versions": "SELECT version FROM schema_migrations",
    "migration_applied": "SELECT 1 FROM schema_migrations WHERE version = ?",
    "migration_record": _insert("schema_migrations", ("version", "name", "applied_at")),
}


class Statements:
    """Every statement the loader runs besides DDL, rendered once for a dialect."""

    def __init__(self, d: Dialect = SQLITE) -> None:
        self.dialect = d
        self.upsert: dict[str, str] = {k: upsert_sql(t, d) for k, t in FACT_TABLES.items()}
        self._sql = {name: _render(text.replace("{now}", d.now_epoch), d)
                     for name, text in _TEMPLATES.items()}

    def __getitem__(self, name: str) -> str:
        return self._sql[name]

    def params(self, n: int) -> str:
        """Markers for an ``IN (...)`` list of ``n`` values."""
        return self.dialect.params(n)


def chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Split a parameter list so one statement stays under the dialect's parameter limit."""
    return [items[i:i + size] for i in range(0, len(items), size)]
