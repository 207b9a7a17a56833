"""Load what the database accepts, quarantine what it refuses: one bad row never costs a batch.

Validation quarantines every value it knows no column holds, but the database has the last
word (a CHECK, an index row too large for PostgreSQL's btree page, a type a driver cannot
encode). When it refuses a batch (:class:`~within_daemon.errors.RowsRefusedError`), the
batch is split in halves, and halves again, until each refused row stands alone: every
accepted part commits in its own transaction, each refused row goes to the quarantine with
the database's reason, and the batch's complete days and earlier rejects commit last, with
those refused rows. ``k`` bad rows in ``n`` cost about ``2 k log2 n`` transactions; a clean
batch costs one, as before.

A transaction that fails for another reason (a dropped connection, a failover) is retried
``attempts`` times with backoff and then raised, as the loader always did; a lease lost
mid-batch is raised at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import anyio

from within_daemon.errors import LeaseLostError, LoaderError, RowsRefusedError
from within_daemon.records import Record, as_dict

from .database import DatabaseLoader, Kind

log = logging.getLogger(__name__)

QItem = tuple[str | None, str | None, Any, list[dict[str, Any]]]


class BatchResult(NamedTuple):
    """What one isolating write did."""

    written: int
    #: Validation rejects plus rows the database refused, all now in the quarantine.
    quarantined: int
    #: Of those, rows the database refused.
    refused: int
    #: The ``date`` of each refused row (a caller counting rows per day takes them off).
    refused_dates: tuple[str, ...] = ()


def refused_item(rec: Record | dict[str, Any], detail: str) -> QItem:
    """The quarantine item of a row the database refused, with the database's reason."""
    raw = rec if isinstance(rec, dict) else as_dict(rec)  # the quarantine stores dicts
    key = " ".join(f"{k}={raw.get(k)!r}" for k in ("ad_id", "date") if raw.get(k) is not None)
    return (raw.get("platform"), raw.get("account_id"), raw, [{
        "field": None, "message": f"the database refused the row: {detail}", "index": None,
        "key": key or None, "value": None}])


async def write_isolating(
    db: DatabaseLoader, *, run_id: str, task: str, kind: Kind,
    records: Sequence[Record] | Sequence[dict[str, Any]], fetched_at: str | datetime,
    complete_days: Sequence[tuple[str, str, str, int]] = (),
    quarantined: Sequence[QItem] = (), context: Mapping[str, Any] | None = None,
    days_cover_batch: bool = False, attempts: int = 1, backoff_seconds: float = 0.5,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> BatchResult:
    """``db.write_batch`` (run counts included) that isolates the rows the database refuses.

    A complete day's row count loses the refused rows of its (platform, account, day); with
    ``days_cover_batch`` (a file marker, whose count is every row of the file) it loses
    every refused row.
    """

    async def write(rows: Sequence[Any], days: Sequence[tuple[str, str, str, int]],
                    rejects: Sequence[QItem]) -> int:
        for attempt in range(attempts):
            try:
                return await db.write_batch(
                    run_id=run_id, task=task, kind=kind, records=rows, fetched_at=fetched_at,
                    complete_days=days, quarantined=rejects, count_in_run=True,
                    context=context)
            except (RowsRefusedError, LeaseLostError):
                raise
            except LoaderError as exc:
                if attempt + 1 == attempts:
                    raise
                log.warning("write for run %s failed (attempt %d of %d), retrying: %s",
                            run_id, attempt + 1, attempts, exc)
                await sleep(backoff_seconds * 2 ** attempt)
        raise AssertionError("unreachable: attempts >= 1")

    try:
        written = await write(records, complete_days, quarantined)
        return BatchResult(written, len(quarantined), 0)
    except RowsRefusedError as exc:
        if not records:
            raise
        first = exc
    log.warning("the database refused a batch of %d %s rows for run %s (%s); isolating the "
                "rows it refuses", len(records), kind, run_id, first.detail)
    refused: list[QItem] = []

    async def bisect(rows: Sequence[Any], known: RowsRefusedError | None) -> int:
        if known is None:
            try:
                return await write(rows, (), ())
            except RowsRefusedError as exc:
                known = exc
        if len(rows) == 1:
            refused.append(refused_item(rows[0], known.detail))
            return 0
        mid = len(rows) // 2
        return await bisect(rows[:mid], None) + await bisect(rows[mid:], None)

    written = await bisect(records, first)
    # A complete day's row count is what it holds, so refused rows come off it.
    gone = Counter((p, a, r.get("date")) for p, a, r, _e in refused)
    days = [(p, a, d, max(0, n - (len(refused) if days_cover_batch else gone[(p, a, d)])))
            for p, a, d, n in complete_days]
    await write((), days, [*quarantined, *refused])
    log.warning("run %s: the database refused %d of %d %s rows; they are quarantined with "
                "its reason", run_id, len(refused), len(records), kind)
    return BatchResult(written, len(quarantined) + len(refused), len(refused),
                       tuple(str(r.get("date")) for _p, _a, r, _e in refused))
