"""How far each account's post-load got (``post_load_done``, schema migration 16).

The ledger says which days' rows are all in; the post-load steps computed from them
(rollups, history, benchmarks, feature store, quality) run after a run's last batch. A
process stopped in between, or a step that failed, used to leave those days' derived rows
stale for good: the next run skips complete days, so nothing touched them again.
:func:`days_after_mark` lists an account's complete ad days newer than its mark, which the
next post-load recomputes with its own days; :func:`move_marks` moves the marks once a
post-load has finished.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from .database import DatabaseLoader

_MARKS = "SELECT account_id, done_at FROM post_load_done WHERE platform = ?"
# A range of the (platform, kind, completed_at) index: from the oldest mark of the accounts
# asked about (each account's own mark is applied after), so a post-load reads only the
# ledger rows completed since the last one, not the platform's whole ledger.
_COMPLETED_BETWEEN = (
    "SELECT account_id, day, completed_at FROM ledger WHERE platform = ? AND kind = 'ad' "
    "AND completed_at > ? AND completed_at <= ? AND status = 'complete'")
_MOVE = (
    "INSERT INTO post_load_done (platform, account_id, done_at) VALUES (?, ?, ?) "
    "ON CONFLICT (platform, account_id) DO UPDATE SET done_at = excluded.done_at "
    "WHERE excluded.done_at > post_load_done.done_at")


async def days_after_mark(db: DatabaseLoader, platform: str, accounts: Collection[str],
                          until: str) -> dict[str, list[str]]:
    """Each of ``accounts``' complete ad days completed after its mark, up to ``until``.

    An account without a mark (new since migration 16) has all its complete days listed.
    """
    if not accounts:
        return {}
    marks = {str(a): str(t) for a, t in await db.fetch_rows(_MARKS, [platform])}
    since = min(marks.get(a, "") for a in accounts)
    out: dict[str, set[str]] = {}
    for account_id, day, completed_at in await db.fetch_rows(_COMPLETED_BETWEEN,
                                                             [platform, since, until]):
        account_id = str(account_id)
        if account_id in accounts and str(completed_at) > marks.get(account_id, ""):
            out.setdefault(account_id, set()).add(
                day.isoformat() if isinstance(day, date) else str(day))
    return {a: sorted(days) for a, days in out.items()}


async def move_marks(db: DatabaseLoader, platform: str, accounts: Collection[str],
                     done_at: str) -> None:
    """The post-load of ``accounts`` covered every complete day up to ``done_at`` (never back)."""
    if accounts:
        await db.execute_in_transaction(
            [(_MOVE, [(platform, a, done_at) for a in sorted(accounts)])])
