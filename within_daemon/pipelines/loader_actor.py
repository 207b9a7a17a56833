"""The loader actor: the one writer of the database.

It buffers records per run and writes a transaction when a buffer reaches ``batch_size``
or when a ``WindowDone`` arrives; in the latter case the window's days are marked complete
in the ledger inside the same transaction as their last rows, so the ledger can never be
ahead of the data. A failed write is retried; if it keeps failing the run is marked failed
and its days stay incomplete, so the next run pulls them again. Rows the database refuses
(a value validation let through) are isolated by bisection and quarantined with the
database's reason while the rest of the batch loads (:mod:`within_daemon.loaders.isolate`).
A ``WindowDone`` that carries a ``Receipt`` (the internal source's) gets it set after the
commit, so its source can act only once the window's rows and marker are durable.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from ..errors import LoaderError
from ..loaders import DatabaseLoader
from ..loaders.analytics import upsert_creative_features
from ..loaders.isolate import write_isolating
from ..observability.metrics import Metrics
from ..records import Record
from ..runtime import Actor
from .messages import CreativeFeatures, LoaderMsg, RecordBatch, RunRef, SourceDone, WindowDone

log = logging.getLogger(__name__)

#: Backoff 0.5, 1, 2, 4 s between them: rides out a PostgreSQL restart or failover.
WRITE_ATTEMPTS = 5


@dataclass
class RunState:
    """What the loader knows about one (run, account) while it is in flight."""

    ref: RunRef
    done: anyio.Event = field(default_factory=anyio.Event)
    fetched: int = 0
    loaded: int = 0
    quarantined: int = 0
    days_completed: int = 0
    status: str = "running"
    error: str | None = None


class RunTracker:
    """Registry of in-flight runs; ``wait`` returns when the loader has finished one."""

    def __init__(self) -> None:
        self.runs: dict[str, RunState] = {}

    def open(self, ref: RunRef) -> RunState:
        st = RunState(ref)
        self.runs[ref.run_id] = st
        return st

    def get(self, run_id: str) -> RunState | None:
        return self.runs.get(run_id)

    async def wait(self, run_id: str) -> RunState:
        st = self.runs[run_id]
        await st.done.wait()
        return self.runs.pop(run_id)


@dataclass
class _Buffer:
    ref: RunRef
    records: list[Record] = field(default_factory=list)
    quarantined: list[tuple[str | None, str | None, Any, list[dict[str, Any]]]] = field(
        default_factory=list
    )
    fetched_at: str = ""
    #: Rows per ``date`` (validated records have one; ``None`` is the type's, not seen).
    day_rows: Counter[str | None] = field(default_factory=Counter)
    context: dict[str, Any] | None = None


class LoaderActor(Actor[LoaderMsg, None]):
    name = "loader"

    def __init__(
        self,
        inbox: MemoryObjectReceiveStream[LoaderMsg],
        *,
        db: DatabaseLoader,
        tracker: RunTracker,
        batch_size: int = 1000,
        metrics: Metrics | None = None,
        write_attempts: int = WRITE_ATTEMPTS,
    ) -> None:
        super().__init__(inbox, None, metrics=metrics)
        self.write_attempts = write_attempts
        self.db = db
        self.tracker = tracker
        self.batch_size = batch_size
        self.buffers: dict[str, _Buffer] = {}

    def _buffer(self, ref: RunRef) -> _Buffer:
        buf = self.buffers.get(ref.run_id)
        if buf is None:
            buf = self.buffers[ref.run_id] = _Buffer(ref)
        return buf

    async def handle(self, msg: LoaderMsg) -> None:
        if isinstance(msg, RecordBatch):
            buf = self._buffer(msg.ref)
            buf.records.extend(msg.records)
            buf.fetched_at = msg.fetched_at
            buf.context = msg.context or buf.context
            ref = msg.ref
            for raw, errors in msg.quarantined:
                buf.quarantined.append((ref.platform, ref.account_id, raw, errors))
            day_rows = buf.day_rows
            for rec in msg.records:
                day_rows[rec.date] += 1
            st = self.tracker.get(ref.run_id)
            if st is not None:
                st.fetched += msg.fetched
            if len(buf.records) >= self.batch_size:
                await self._write(buf, ())
        elif isinstance(msg, WindowDone):
            buf = self._buffer(msg.ref)
            acct = msg.ledger_account or msg.ref.account_id
            if msg.rows_of == "window":
                n = sum(buf.day_rows.values())
                buf.day_rows.clear()
                days = [(msg.ref.platform, acct, d, n) for d in msg.days]
            else:
                days = [(msg.ref.platform, acct, d, buf.day_rows.pop(d, 0)) for d in msg.days]
            committed = await self._write(buf, days, cover=msg.rows_of == "window")
            if msg.receipt is not None:
                self._acknowledge(msg, committed, len(days))
        elif isinstance(msg, SourceDone):
            await self._finish(msg)
        elif isinstance(msg, CreativeFeatures):
            try:
                await upsert_creative_features(self.db, msg.rows)
            except LoaderError as exc:
                # Features are derived data: the rows still load, the next run retries.
                log.error("storing creative features failed: %s", exc)

    def _acknowledge(self, msg: WindowDone, committed: bool, days: int) -> None:
        """Tell the source its window is committed (or not), with the run's totals."""
        assert msg.receipt is not None
        receipt = msg.receipt
        st = self.tracker.get(msg.ref.run_id)
        if st is not None:
            receipt.loaded, receipt.quarantined = st.loaded, st.quarantined
        if committed:
            receipt.days_completed = days
        else:
            receipt.error = (st.error if st is not None else None) or "database write failed"
        receipt.done.set()

    async def flush(self) -> None:
        for buf in list(self.buffers.values()):
            await self._write(buf, ())

    async def _write(self, buf: _Buffer, days: Sequence[tuple[str, str, str, int]], *,
                     cover: bool = False) -> bool:
        """Write the buffer (and ``days`` as complete); False when nothing could commit.

        ``cover``: each day's count covers the whole buffer (a file's marker), so every
        row the database refuses comes off it.
        """
        ref = buf.ref
        st = self.tracker.get(ref.run_id)
        if st is not None and st.status == "failed":
            buf.records.clear()
            buf.quarantined.clear()
            return False
        if not buf.records and not buf.quarantined and not days:
            return True
        try:
            result = await write_isolating(
                self.db, run_id=ref.run_id, task=ref.task, kind=ref.kind, records=buf.records,
                fetched_at=buf.fetched_at or "1970-01-01T00:00:00Z", complete_days=days,
                quarantined=buf.quarantined, context=buf.context if ref.kind == "ad" else None,
                days_cover_batch=cover, attempts=self.write_attempts)
        except LoaderError as exc:
            log.error("write for run %s failed: %s; its days stay incomplete", ref.run_id, exc)
            if st is not None:
                st.status, st.error = "failed", f"database write failed: {exc}"
            buf.records.clear()
            buf.quarantined.clear()
            return False
        written, nq = result.written, result.quarantined
        in_this_write = {d for _p, _a, d, _n in days}
        for d in result.refused_dates:  # refused rows do not count toward a later day
            if d not in in_this_write and buf.day_rows.get(d):
                buf.day_rows[d] -= 1
        if st is not None:
            st.loaded += written
            st.quarantined += nq
            st.days_completed += len(days)
        if self.metrics is not None:
            self.metrics.records.labels(ref.platform, ref.pipeline, "loaded").inc(written)
            if nq:
                self.metrics.records.labels(ref.platform, ref.pipeline, "quarantined").inc(nq)
            if days:
                self.metrics.days_completed.labels(ref.platform, ref.pipeline).inc(len(days))
        buf.records = []
        buf.quarantined = []
        return True

    async def _finish(self, msg: SourceDone) -> None:
        ref = msg.ref
        buf = self.buffers.pop(ref.run_id, None)
        if buf is not None:
            await self._write(buf, ())
        st = self.tracker.get(ref.run_id)
        status = msg.status
        error = msg.error
        if st is not None and st.status == "failed":
            status, error = "failed", st.error
        try:
            if st is not None and st.fetched:
                await self.db.add_run_counts(ref.run_id, fetched=st.fetched)
            await self.db.finish_run(ref.run_id, status, error=error)
        except LoaderError as exc:
            log.error("could not record the end of run %s: %s", ref.run_id, exc)
        if st is not None:
            st.status, st.error = status, error
            st.done.set()
