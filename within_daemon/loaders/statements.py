"""Statement text of the database loader besides DDL: upserts, ledger, runs, quarantine.

Written once with ``?`` markers and rendered for a dialect by :class:`Statements`; the
tables they address are defined in :mod:`.schema.tables`, and the tuples bound to them are
shaped in :mod:`.rows` from the same column lists.
"""

from __future__ import annotations

from collections.abc import Sequence

from .schema.dialect import SQLITE, Dialect
from .schema.tables import AUDIENCE_PIPELINE, FACT_TABLES, FactTable


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


def keyed_upsert_sql(table: str, columns: Sequence[str], key: Sequence[str], *,
                     source: str | None = None) -> str:
    """Insert-or-update on ``key`` of a derived table, every other column from the new row.

    Rows from bound parameters, or with ``source`` from that (staging) table's same columns.
    """
    rows = (f"SELECT {', '.join(columns)} FROM {source}" if source
            else f"VALUES ({', '.join('?' * len(columns))})")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (f"INSERT INTO {table} ({', '.join(columns)}) {rows} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


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
    # An interrupted audience pull shares its task's name but is not resumed as a pull.
    "find_resumable": (
        "SELECT run_id FROM runs WHERE status = 'interrupted' AND task = ?"
        " AND platform IS ? AND account_id IS ? AND window_start IS ? AND window_end IS ?"
        f" AND (pipeline IS NULL OR pipeline <> '{AUDIENCE_PIPELINE}')"
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
        self._sql = {name: d.render(text.replace("{now}", d.now_epoch))
                     for name, text in _TEMPLATES.items()}

    def __getitem__(self, name: str) -> str:
        return self._sql[name]

    def params(self, n: int) -> str:
        """Markers for an ``IN (...)`` list of ``n`` values."""
        return self.dialect.params(n)


def chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Split a parameter list so one statement stays under the dialect's parameter limit."""
    return [items[i:i + size] for i in range(0, len(items), size)]
