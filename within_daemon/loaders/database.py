"""The database loader: idempotent upserts with the day ledger in the same transaction.

Delivery is at-least-once, so every write is an upsert on the record's natural key and the
checkpoint (the ``ledger`` of complete days) commits in the same transaction as the rows it
vouches for: after a crash the ledger is never ahead of the data,
and a re-fetch simply overwrites. The loader also keeps the ``runs`` table (what each run
fetched, loaded and quarantined; crash-interrupted runs are found at start-up) and the
``quarantine`` of rejected records. Tables and migrations live in
:mod:`.schema`, statement text in :mod:`.statements`, parameter shaping in :mod:`.rows`, the
two drivers (SQLite, PostgreSQL) in :mod:`.backends`, and the connection it stands on (open,
migrate, the lock, transactions, generic reads) in :mod:`.connection`; this module holds the
batches, the ledger and the run bookkeeping, the same for both drivers.

One loader actor writes per database. Calls from other tasks (readiness probes, ``status``)
are still safe: every call takes one lock, so nobody sees, or joins, a half-done transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from within_daemon.errors import LeaseLostError, LoaderError
from within_daemon.loaders import backends
from within_daemon.loaders import rows as rows_
from within_daemon.loaders.connection import DatabaseConnection, Fence, now_iso
from within_daemon.loaders.schema.tables import FACT_TABLES, FINAL_RUN_STATUSES
from within_daemon.loaders.statements import chunks
from within_daemon.records import Record
from within_daemon.redaction import redact

# Fence is re-exported: the cluster's wiring imports it from here.
__all__ = ["CompleteDay", "DatabaseLoader", "Fence", "FinalStatus", "Kind", "LedgerKind",
           "QuarantineItem", "RunStatus"]

Kind = Literal["ad", "account"]
#: What the ledger counts days of: the fact tables' kinds and the audience breakdowns.
LedgerKind = Literal["ad", "account", "audience"]
RunStatus = Literal["running", "success", "partial", "failed", "interrupted"]
FinalStatus = Literal["success", "partial", "failed", "interrupted"]


class CompleteDay(NamedTuple):
    """A day whose rows are all in the batch (or earlier batches): mark it in the ledger."""

    platform: str
    account_id: str
    day: str
    rows: int


class QuarantineItem(NamedTuple):
    """A rejected record with the validator's errors (``{"field":..., "message":...}``)."""

    platform: str | None
    account_id: str | None
    raw: Any
    errors: list[dict[str, Any]]


def _utc_iso(value: str | datetime) -> str:
    """One spelling for timestamps, so the upsert's string comparison orders them right."""
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise LoaderError(f"fetched_at is not an ISO timestamp: {value!r}") from exc
    if dt.tzinfo is None:  # the daemon stamps UTC; a naive value is taken to be UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


class DatabaseLoader(DatabaseConnection):
    """Async loader (SQLite in WAL, or PostgreSQL) with migrations, upserts, ledger, runs."""

    async def write_with_ledger(
        self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]], *, run_id: str, task: str,
        kind: LedgerKind, complete_days: Sequence[tuple[str, str, str, int]],
    ) -> None:
        """Run ``steps`` and mark ``complete_days`` of ``kind`` in one transaction.

        ``steps`` as :meth:`execute_in_transaction` takes them, ``complete_days`` as
        ``(platform, account_id, day, rows)``. For a table the loader does not own (the
        audience breakdowns): the ledger is never ahead of those rows either.
        """
        ledger, history = rows_.ledger_rows(task, kind, run_id, complete_days, now_iso())
        await self.execute_in_transaction([
            *steps, (self._sql["ledger_upsert"], ledger),
            (self._sql["ledger_history"], history)])

    # -- batches --------------------------------------------------------------------------

    async def write_batch(
        self, *, run_id: str, task: str, kind: Kind,
        records: Sequence[Record] | Sequence[dict[str, Any]], fetched_at: str | datetime,
        complete_days: Sequence[tuple[str, str, str, int]] = (),
        quarantined: Sequence[tuple[str | None, str | None, Any, list[dict[str, Any]]]] = (),
        count_in_run: bool = False, context: Mapping[str, Any] | None = None,
    ) -> int:
        """Upsert records, mark complete days and quarantine rejects in one transaction.

        ``records`` are ``records.AdDay`` / ``AccountDay`` (the pipeline's) or their dict
        form. ``context`` fills the batch-wide columns (``attribution_window`` of ad rows).

        ``complete_days`` are ``(platform, account_id, day, rows)``; ``quarantined`` are
        ``(platform, account_id, raw_record, errors)``. With ``count_in_run`` the run's
        loaded/quarantined counters move in the same transaction (do not also call
        :meth:`add_run_counts` for them). Returns rows written: a row whose stored copy
        was fetched later than ``fetched_at`` is kept and not counted.
        """
        now = now_iso()
        rows = rows_.fact_rows(kind, records, run_id, _utc_iso(fetched_at), now, context)
        ledger, history = rows_.ledger_rows(task, kind, run_id, complete_days, now)
        qrows = rows_.quarantine_rows(run_id, task, kind, quarantined, now)
        async with self._transaction() as tx:
            if self.fence is not None:
                await self._check_fence(tx, kind, records, complete_days)
            written = 0
            if rows:
                written = await tx.upsert(FACT_TABLES[kind], self._sql.upsert[kind], rows)
            if ledger:
                await tx.executemany(self._sql["ledger_upsert"], ledger)
                await tx.executemany(self._sql["ledger_history"], history)
            if qrows:
                await tx.executemany(self._sql["quarantine"], qrows)
            if count_in_run and (rows or qrows):
                await tx.execute(self._sql["add_counts"],
                                 (0, written, len(qrows), run_id, self.holder))
        return written

    async def _check_fence(self, tx: backends.Backend, kind: Kind,
                           records: Sequence[Record] | Sequence[dict[str, Any]],
                           complete_days: Sequence[tuple[str, str, str, int]]) -> None:
        assert self.fence is not None
        accounts = {(str(r.get("platform")), str(r.get("account_id"))) if isinstance(r, dict)
                    else (str(r.platform), str(r.account_id)) for r in records}
        accounts |= {(p, a) for p, a, _d, _n in complete_days}
        lock = " FOR SHARE" if self.dialect.name == "postgresql" else ""
        for platform, account_id in sorted(accounts):
            lease = self.fence(platform, account_id)
            # FOR SHARE holds the lease row until this commit: a takeover (an UPDATE of the
            # row) waits for us, so no batch of ours lands after someone else took over.
            got = lease and await tx.fetchall(self._sql["fence"] + lock,
                                              (lease[0], self.holder, lease[1]))
            if not got:
                raise LeaseLostError(
                    f"{kind} batch for {platform} {account_id} refused: this replica "
                    f"({self.holder}) no longer holds its lease")

    async def quarantine(
        self, *, run_id: str, task: str, platform: str | None, account_id: str | None,
        kind: Kind, items: Sequence[tuple[Any, list[dict[str, Any]]]],
    ) -> int:
        """Store rejected records with a readable reason; returns how many were stored."""
        qrows = rows_.quarantine_rows(
            run_id, task, kind, [(platform, account_id, raw, errs) for raw, errs in items],
            now_iso())
        if qrows:
            async with self._transaction() as tx:
                await tx.executemany(self._sql["quarantine"], qrows)
        return len(qrows)

    async def completed_days(self, *, task: str | None, platform: str, account_id: str,
                             kind: LedgerKind, days: Sequence[str],
                             run_id: str | None = None) -> set[str]:
        """The subset of ``days`` the ledger has complete.

        ``task`` None means by any task. With ``run_id``, only days whose latest completion
        was by that run (what an interrupted run already finished, for its resume).
        """
        extra, extra_params = "", list[str]()
        for name, value in (("and_task", task), ("and_run", run_id)):
            if value is not None:
                extra += self._sql[name]
                extra_params.append(value)
        done: set[str] = set()
        for chunk in chunks(list(days)):
            sql = self._sql["completed_days"].format(days=self._sql.params(len(chunk))) + extra
            rows = await self._fetchall(sql, [platform, account_id, kind, *chunk, *extra_params])
            done.update(str(r[0]) for r in rows)
        return done

    async def last_pulls(self, *, platform: str, account_id: str, kind: str,
                         since: str, until: str) -> dict[str, str]:
        """Day -> ``completed_at`` of its last pull (by any task), for complete days in range."""
        rows = await self._fetchall(self._sql["last_pulls"],
                                    [platform, account_id, kind, since, until])
        return {str(r[0]): str(r[1]) for r in rows}

    # -- runs -------------------------------------------------------------------------

    async def start_run(self, *, task: str, pipeline: str | None = None,
                        platform: str | None = None, account_id: str | None = None,
                        window_start: str | None = None, window_end: str | None = None,
                        run_id: str | None = None) -> str:
        """Record a run as 'running' and return its id.

        Passing the id of a finished or interrupted run re-opens it (a resume): its counters
        keep accumulating and ``resumed_count`` goes up.
        """
        run_id = run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"
        changed = await self._write(self._sql["start_run"], (
            run_id, task, pipeline, platform, account_id, window_start, window_end, "running",
            now_iso(), self.holder))
        if changed == 0:
            raise LoaderError(f"run {run_id} is already running")
        return run_id

    async def finish_run(self, run_id: str, status: FinalStatus, *, fetched: int | None = None,
                         loaded: int | None = None, quarantined: int | None = None,
                         error: str | None = None) -> None:
        """Close a run; counts given here replace the accumulated ones, None keeps them."""
        if status not in FINAL_RUN_STATUSES:
            raise LoaderError(f"not a final run status: {status!r}")
        # The one place run errors become stored text: whatever raised them, no secret
        # (an echoed token, a URL with credentials) reaches runs.error.
        error = redact(error) if error is not None else None
        changed = await self._write(self._sql["finish_run"], (
            status, now_iso(), fetched, loaded, quarantined, error, run_id, self.holder))
        if changed == 0:
            raise LoaderError(f"unknown run {run_id} (or another replica has taken it over)")

    async def add_run_counts(self, run_id: str, *, fetched: int = 0, loaded: int = 0,
                             quarantined: int = 0) -> None:
        changed = await self._write(self._sql["add_counts"],
                                    (fetched, loaded, quarantined, run_id, self.holder))
        if changed == 0:
            raise LoaderError(f"unknown run {run_id} (or another replica has taken it over)")

    async def mark_interrupted_runs(self, *, replicas_only: bool = False) -> list[str]:
        """Mark runs still 'running' whose process is gone; returns their ids.

        At start-up of a single process, every such run died with the last process. Runs
        of a cluster replica (``holder`` set) stay while that replica's heartbeat is fresh.
        ``replicas_only`` leaves holder-less runs alone: a replica's periodic sweep must not
        touch a one-shot ``once``/``backfill`` running next to the cluster.
        """
        name = "mark_interrupted_replicas" if replicas_only else "mark_interrupted"
        async with self._transaction() as tx:
            rows = await tx.fetchall(self._sql[name], (now_iso(),))
        return sorted(str(r[0]) for r in rows)

    async def find_resumable_run(self, task: str, platform: str | None, account_id: str | None,
                                 window_start: str | None, window_end: str | None) -> str | None:
        """The latest interrupted run of this task over exactly this window, if any."""
        # The match is NULL-safe: a many-account run (account_id NULL) matches itself.
        rows = await self._fetchall(
            self._sql["find_resumable"], (task, platform, account_id, window_start, window_end))
        return str(rows[0][0]) if rows else None

    async def run_summary(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """One dict per run (all ``runs`` columns), oldest first."""
        out: list[dict[str, Any]] = []
        for chunk in chunks(list(run_ids)):
            sql = self._sql["run_summary"].format(ids=self._sql.params(len(chunk)))
            out += await self.fetch_dicts(sql, chunk)
        return sorted(out, key=lambda r: (r["started_at"], r["run_id"]))
