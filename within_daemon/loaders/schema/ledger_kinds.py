"""Schema migration 14: the day ledger also counts the audience breakdowns' days.

Migration 1 created ``ledger`` with ``CHECK (kind IN ('ad', 'account'))``; the audience pull
(``pipelines.audience_pull``) records the days whose demographics it stored as kind
``audience``, in the same transaction as their rows, so the check must allow that kind.

- PostgreSQL names an unnamed column check ``<table>_<column>_check``: it is dropped and
  added again with the longer list (the existing rows are checked once, and all pass).
- SQLite cannot alter a check: the table is rebuilt as migration 13 rebuilds tables
  (:mod:`.conversions`): create the new table, copy every row, drop the old one, rename,
  re-create its index, all in the migration's one transaction. ``ledger`` has had no column
  added since migration 1, so today's column list is the one to copy (a later change to the
  ledger must freeze this migration's form here first, as migration 13 does its tables').
"""

from __future__ import annotations

from .dialect import Dialect
from .tables import LEDGER_KINDS, ledger_ddl

_COLUMNS = ("task", "platform", "account_id", "day", "kind", "status", "run_id", "rows",
            "completed_at", "first_completed_at", "restated_count")
_INDEX = "CREATE INDEX IF NOT EXISTS ledger_day ON ledger (platform, account_id, kind, day)"


def ledger_audience_kind(d: Dialect) -> tuple[str, ...]:
    """Statements of migration 14 on one backend."""
    allowed = ", ".join(f"'{k}'" for k in LEDGER_KINDS)
    if d.name == "postgresql":
        return (
            "ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_kind_check",
            f"ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ({allowed}))",
        )
    new = "ledger__m14"
    names = ", ".join(_COLUMNS)
    return (
        f"DROP TABLE IF EXISTS {new}",
        ledger_ddl(d, LEDGER_KINDS, name=new),
        f"INSERT INTO {new} ({names}) SELECT {names} FROM ledger",
        "DROP TABLE ledger",
        f"ALTER TABLE {new} RENAME TO ledger",
        _INDEX,
    )
