"""The ``post_load_done`` table (schema migration 16): how far each account's post-load got.

One row per (platform, account): ``done_at`` is the ``ledger.completed_at`` up to which the
post-load steps (rollups, history, benchmarks, feature store, quality) covered the
account's complete ad days. A day completed after it, whose post-load never ran (the
process stopped between the last batch and the end of the post-load, or a step failed),
is recomputed by the next post-load of the account (``pipelines.analytics``). Existing
accounts start as done up to their newest ledger day: what earlier versions computed
stands.
"""

from __future__ import annotations

from .dialect import SQLITE, Dialect


def post_load_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 16."""
    return [
        f"""CREATE TABLE IF NOT EXISTS post_load_done (
  platform TEXT NOT NULL,
  account_id TEXT NOT NULL,
  done_at TEXT NOT NULL,
  PRIMARY KEY (platform, account_id)
){d.table_suffix}""",
        # The days completed after an account's mark, one range read per platform.
        "CREATE INDEX IF NOT EXISTS ledger_completed_at ON ledger (platform, kind, completed_at)",
        "INSERT INTO post_load_done (platform, account_id, done_at) SELECT platform, "
        "account_id, MAX(completed_at) FROM ledger WHERE kind = 'ad' GROUP BY platform, "
        "account_id",
    ]
