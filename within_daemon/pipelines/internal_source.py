"""The internal query source: the company's SQL query, window by window, into the chain.

It plays the part the API platforms' :class:`~.source_actor.SourceActor` plays: each window
of ``window_days`` runs the configured query with ``:since`` / ``:until`` bound to the
window's first and last day, every page of rows goes downstream as a ``RawPage`` (with a
``RowRef`` per row: the window and the row's number in it, for quarantine), and a
``WindowDone`` follows with the window's finished days (before ``today``). The transform
actor normalizes and validates, the loader writes and marks the days in the same
transaction as the window's last rows. The source waits for each window's ``Receipt``
before the next one, so its per-window numbers are exact and a database failure stops the
query instead of running it for nothing. It ends with exactly one ``SourceDone``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectSendStream

from ..errors import SourceError
from ..schema import AccountInfo
from ..sources.internal import iter_query
from ..transforms.normalize.internal import InternalMapping
from .messages import RawPage, Receipt, RowRef, RunRef, SourceDone, SourceMsg, WindowDone
from .source_actor import windows

log = logging.getLogger(__name__)

#: Names the query in a quarantined row (the SQL itself may be long, or hold a secret).
QUERY_NAME = "platforms.internal.sql_query"


class WindowOutcome(msgspec.Struct):
    """What one window of the SQL query loaded (``status``: success or failed)."""

    since: str
    until: str
    status: str = "failed"
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    days_completed: int = 0
    error: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class InternalQuerySource:
    """Runs one account's query over its days and feeds the transform queue."""

    def __init__(self, ref: RunRef, outbox: MemoryObjectSendStream[SourceMsg], *,
                 source: Path, query: str, mapping: InternalMapping, days: Sequence[str],
                 today: str, window_days: int, page_size: int) -> None:
        self.ref = ref
        self.outbox = outbox
        self.source = source
        self.query = query
        self.days = list(days)
        self.today = today
        self.window_days = window_days
        self.page_size = page_size
        #: The normalizer reads the field map from here (``internal_ads``).
        self.account = AccountInfo(account_id=mapping.account_id,
                                   details={"mapping": mapping})
        self.outcomes: list[WindowOutcome] = []
        self._loaded = self._quarantined = 0  # the run's totals at the last receipt
        self.interrupted = False

    async def run(self) -> None:
        error: str | None = None
        async with self.outbox:
            try:
                for since, until, wdays in windows(self.days, self.window_days):
                    out = WindowOutcome(since, until)
                    self.outcomes.append(out)
                    if not await self._window(out, wdays):
                        break  # the loader refuses every later write of this run anyway
            except Exception as exc:  # noqa: BLE001 - reported in the run, not raised
                error = f"internal error: {type(exc).__name__}: {exc}"
                log.exception("internal query source crashed")
            except BaseException:
                self.interrupted = True
                raise
            finally:
                status = "interrupted" if self.interrupted else self.status(error)
                with anyio.CancelScope(shield=True):
                    await self.outbox.send(SourceDone(self.ref, status,
                                                      error=self.error(error),
                                                      windows_failed=self.failed()))

    def failed(self) -> int:
        return sum(o.status == "failed" for o in self.outcomes)

    def status(self, error: str | None) -> Literal["success", "partial", "failed"]:
        if not self.failed() and not error:
            return "success"
        return "partial" if len(self.outcomes) > self.failed() else "failed"

    def error(self, error: str | None) -> str | None:
        errs = [error] if error else []
        errs += [f"{o.since}..{o.until}: {o.error}" for o in self.outcomes if o.error]
        return "; ".join(errs) or None

    async def _window(self, out: WindowOutcome, wdays: tuple[str, ...]) -> bool:
        """Send one window and wait for its commit; False when the database failed."""
        fetched_at = _now()
        where = {"query": QUERY_NAME, "window": [out.since, out.until]}
        pages = iter_query(self.source, self.query, {"since": out.since, "until": out.until},
                           page_size=self.page_size, account_id=self.account.account_id or "")
        # Today's rows are still moving; like the API windows, only finished days complete.
        done = tuple(d for d in wdays if d < self.today)
        try:
            async with contextlib.aclosing(pages):
                async for rows in pages:
                    if not rows:
                        continue
                    first = out.rows + 1  # row numbers count from the window's first row
                    refs = [RowRef(f"row {first + i}", {**where, "row_number": first + i},
                                   {"row_number": first + i}) for i in range(len(rows))]
                    await self.outbox.send(RawPage(self.ref, rows, fetched_at,
                                                   account=self.account, row_refs=refs))
                    out.rows += len(rows)
        except SourceError as exc:
            out.error = str(exc)
            log.error("internal query window %s..%s failed: %s", out.since, out.until, exc)
            done = ()  # the rows sent so far still load; the days stay incomplete
        receipt = Receipt()
        await self.outbox.send(WindowDone(self.ref, done, receipt=receipt))
        await receipt.done.wait()
        out.loaded, self._loaded = receipt.loaded - self._loaded, receipt.loaded
        out.quarantined = receipt.quarantined - self._quarantined
        self._quarantined = receipt.quarantined
        out.days_completed = receipt.days_completed
        out.error = out.error or receipt.error
        out.status = "failed" if out.error else "success"
        return receipt.error is None
