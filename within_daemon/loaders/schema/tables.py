"""The loader's own tables: the fact tables, quarantine, runs, ledger and the cluster's.

Every column list comes from :mod:`within_daemon.schema` (``AD_FIELDS``, ``ACCOUNT_FIELDS``
and their keys), so the DDL, the upsert statements (``loaders.statements``) and the tuples
the loader binds (``loaders.rows``) cannot drift apart. The DDL is written once and spelled
for SQLite or PostgreSQL by a :class:`~.dialect.Dialect`; :mod:`.migrations` puts it in
order.
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

from .dialect import SQLITE, Dialect, day_check
from .feature_store import FEATURE_VIEWS

#: Columns every fact row carries besides its record fields: which run wrote it, when the
#: source served it and when it was committed.
PROVENANCE: tuple[str, ...] = ("run_id", "fetched_at", "loaded_at")

#: Numeric columns; everything else in the record lists is TEXT (dates as ISO strings).
INTEGER_COLUMNS: frozenset[str] = frozenset({
    "impressions", "clicks", "link_clicks",
    "daily_impressions", "daily_clicks", "campaign_count", "ad_count",
})
#: Conversions are REAL since migration 13: attribution credits fractions of a conversion
#: (see :mod:`.conversions`).
REAL_COLUMNS: frozenset[str] = frozenset({
    "ctr", "spend", "conversion_rate", "cpa", "roas", "relevance_score", "quality_score",
    "revenue", "daily_spend", "daily_revenue", "daily_roas", "conversions",
    "daily_conversions",
})

#: What the ledger counts complete days of, as migration 1 created it: the fact tables' kinds.
RELEASED_LEDGER_KINDS: tuple[str, ...] = ("ad", "account")
#: ... and since migration 14 also the audience breakdowns (``pipelines.audience_pull``).
LEDGER_KINDS: tuple[str, ...] = (*RELEASED_LEDGER_KINDS, "audience")
RUN_STATUSES: tuple[str, ...] = ("running", "success", "partial", "failed", "interrupted")
FINAL_RUN_STATUSES: tuple[str, ...] = ("success", "partial", "failed", "interrupted")
#: ``runs.pipeline`` of an audience pull's run: never resumed (the next pull takes its days).
AUDIENCE_PIPELINE = "AudiencePull"


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
    "post_load_done",
    *(v.table for v in FEATURE_VIEWS),
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


def keyed_table_ddl(name: str, key: Sequence[str], cols: Sequence[tuple[str, str]],
                    d: Dialect) -> str:
    """``CREATE TABLE`` of a derived table: text key columns, then ``(column, type)`` pairs."""
    lines = [f"  {k} TEXT NOT NULL" for k in key]
    lines += [f"  {c} {t}" for c, t in cols]
    lines.append(f"  PRIMARY KEY ({', '.join(key)})")
    return f"CREATE TABLE IF NOT EXISTS {name} (\n" + ",\n".join(lines) + f"\n){d.table_suffix}"


def ledger_ddl(d: Dialect, kinds: Sequence[str], name: str = "ledger") -> str:
    """``CREATE TABLE`` of the day ledger whose ``kind`` may be one of ``kinds``."""
    allowed = ", ".join(f"'{k}'" for k in kinds)
    return f"""CREATE TABLE IF NOT EXISTS {name} (
  task TEXT NOT NULL,
  platform TEXT NOT NULL,
  account_id TEXT NOT NULL,
  day TEXT NOT NULL CHECK ({day_check('day', d)}),
  kind TEXT NOT NULL CHECK (kind IN ({allowed})),
  status TEXT NOT NULL CHECK (status IN ('complete')),
  run_id TEXT NOT NULL,
  rows INTEGER NOT NULL,
  completed_at TEXT NOT NULL,
  first_completed_at TEXT NOT NULL,
  restated_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task, platform, account_id, day, kind)
){d.table_suffix}"""


def support_ddl(d: Dialect) -> list[str]:
    """Quarantine, runs, the ledger and its history (migration 1, with the fact tables)."""
    s = d.table_suffix
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
        ledger_ddl(d, RELEASED_LEDGER_KINDS),
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
