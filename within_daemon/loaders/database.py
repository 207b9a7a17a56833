"""The database loader: idempotent upserts with the day ledger in the same transaction.

Delivery is at-least-once, so every write is an upsert on the record's natural key and the
checkpoint (the ``ledger`` of complete days) commits in the same ``BEGIN IMMEDIATE`` ...
``COMMIT`` as the rows it vouches for: after a crash the ledger is never ahead of the data,
and a re-fetch simply overwrites. The loader also keeps the ``runs`` table (what each run
fetched, loaded and quarantined; crash-interrupted runs are found at start-up) and the
``quarantine`` of rejected records. SQL text and parameter shaping live in
:mod:`.sqlite_schema`; this module holds the connection, the pragmas, the transactions and
the run bookkeeping.

One loader actor writes per database. Calls from other tasks (readiness probes, ``status``)
are still safe: every call takes one lock, so nobody sees, or joins, a half-done transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self

import aiosqlite
import anyio

from within_daemon.errors import LoaderError
from within_daemon.loaders import sqlite_schema as sq

log = logging.getLogger(__name__)

Kind = Literal["ad", "account"]
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _utc_iso(value: str | datetime) -> str:
    """One spelling for timestamps, so the upsert's string comparison orders them right."""
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise LoaderError(f"fetched_at is not an ISO timestamp: {value!r}") from exc
    if dt.tzinfo is None:  # the daemon stamps UTC; a naive value is taken to be UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


class DatabaseLoader:
    """Async SQLite loader (WAL) with migrations, upserts, ledger, runs and quarantine."""

    def __init__(self, path: Path | None, *, url: str | None = None,
                 busy_timeout_ms: int = 5000) -> None:
        #: None means an in-memory database (unit tests only: it dies with the connection).
        self.path = path
        self.url = url or (f"sqlite:///{path}" if path else "sqlite:///:memory:")
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._lock: anyio.Lock | None = None
        self._sql = sq.Statements(sq.SQLITE)

    # -- construction and lifecycle -------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, *, base_dir: Path | None = None) -> DatabaseLoader:
        """``sqlite:///rel.db`` (against ``base_dir``), ``sqlite:////abs.db``, ``:memory:``."""
        scheme, sep, _ = url.partition("://")
        if not sep:
            raise LoaderError(f"not a database url: {url!r} (expected sqlite:///path.db)")
        if scheme != "sqlite":
            raise LoaderError(
                f"unsupported database url scheme {scheme!r} (only sqlite:/// for now)"
            )
        if not url.startswith("sqlite:///"):
            raise LoaderError(f"sqlite url needs three slashes then a path: {url!r}")
        rest = url[len("sqlite:///"):]
        if not rest or "?" in rest:
            raise LoaderError(f"sqlite url needs a file path and no query string: {url!r}")
        if rest == ":memory:":
            return cls(None, url=url)
        p = Path(rest)
        if not p.is_absolute():
            p = (base_dir if base_dir is not None else Path.cwd()) / p
        return cls(p, url=url)

    async def open(self) -> None:
        """Connect, set the pragmas and apply pending migrations (idempotent)."""
        if self._conn is not None:
            return
        target = ":memory:"
        if self.path is not None:
            target = str(self.path)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Created private; SQLite gives the -wal and -shm files the same mode.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise LoaderError(f"cannot create database file {self.path}: {exc}") from exc
        try:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the write lock is
            # taken up front and no implicit transaction can wrap a statement behind our back.
            conn = await aiosqlite.connect(target, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise LoaderError(f"cannot open {self.url}: {exc}") from exc
        self._conn, self._lock = conn, anyio.Lock()
        try:
            await self._configure(conn)
            await self._migrate()
            await self._verify_columns()
        except BaseException:
            self._conn = None
            await conn.close()
            raise

    async def close(self) -> None:
        if self._conn is None or self._lock is None:
            return
        async with self._lock:  # let an in-flight transaction finish first
            conn, self._conn = self._conn, None
            try:
                await conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass  # an optimisation hint; the close still matters more
            await conn.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        try:
            async with conn.execute("PRAGMA journal_mode=WAL") as cur:
                row = await cur.fetchone()
            mode = str(row[0]) if row else "?"
            if self.path is not None and mode.lower() != "wal":
                log.warning("journal_mode is %s, not wal, for %s", mode, self.path)
            # NORMAL in WAL survives any process crash; only power loss may drop the last
            # commits (operations.md §1.1), which the ledger and a re-fetch then repair.
            # temp_store=FILE: rollup sorts and the temporary per-ad summary of a long
            # backfill would otherwise grow the process by tens of MB (measured in bench/).
            for pragma in ("synchronous=NORMAL", "foreign_keys=ON",
                           f"busy_timeout={int(self.busy_timeout_ms)}", "temp_store=FILE"):
                await conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            raise LoaderError(f"cannot configure {self.url}: {exc}") from exc

    async def _migrate(self) -> None:
        migrations = sq.migrations(sq.SQLITE)
        latest = max(m.version for m in migrations)
        conn = self._require()
        try:
            await conn.execute(sq.MIGRATIONS_TABLE_DDL)
            rows = await conn.execute_fetchall(self._sql["migration_versions"])
        except sqlite3.Error as exc:
            raise LoaderError(f"cannot read schema_migrations: {exc}") from exc
        applied = {int(r[0]) for r in rows}
        if applied and max(applied) > latest:
            raise LoaderError(
                f"database schema version {max(applied)} is newer than this daemon's ({latest})"
            )
        for m in migrations:
            if m.version in applied:
                continue
            async with self._transaction() as tx:
                # Re-check under the write lock: another process may have just applied it.
                got = await tx.execute_fetchall(self._sql["migration_applied"], (m.version,))
                if list(got):
                    continue
                for stmt in m.statements:
                    await tx.execute(stmt)
                await tx.execute(self._sql["migration_record"], (m.version, m.name, _now()))
            log.info("applied migration %d (%s) to %s", m.version, m.name, self.url)

    async def _verify_columns(self) -> None:
        # The DDL is generated from schema.py; a field added there without a new migration
        # would otherwise fail on the first write, far from the cause.
        for t in sq.FACT_TABLES.values():
            rows = await self._fetchall(f"PRAGMA table_info({t.name})")
            missing = [c for c in t.columns if c not in {r[1] for r in rows}]
            if missing:
                raise LoaderError(
                    f"table {t.name} lacks columns {missing}: schema.py changed without a "
                    "migration in loaders/sqlite_schema.py"
                )

    # -- plumbing ----------------------------------------------------------------------

    def _require(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise LoaderError(f"database loader for {self.url} is not open")
        return self._conn

    def _locked(self) -> anyio.Lock:
        if self._lock is None:
            raise LoaderError(f"database loader for {self.url} is not open")
        return self._lock

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; any failure rolls back and surfaces as LoaderError."""
        async with self._locked():
            conn = self._require()
            try:
                if conn.in_transaction:  # a rollback lost to cancellation; start clean
                    await conn.rollback()
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
                await conn.execute("COMMIT")
            except BaseException as exc:
                # Shielded: under anyio a cancelled task would otherwise be cancelled again
                # at this await and leave the transaction (and the write lock) open.
                with anyio.CancelScope(shield=True):
                    try:
                        await conn.rollback()
                    except sqlite3.Error:
                        log.exception("rollback failed on %s", self.url)
                if isinstance(exc, Exception) and not isinstance(exc, LoaderError):
                    raise LoaderError(f"database write failed, rolled back: {exc}") from exc
                raise

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._locked():
            try:
                return list(await self._require().execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                raise LoaderError(f"database read failed: {exc}") from exc

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; returns the changed row count."""
        async with self._transaction() as tx, tx.execute(sql, params) as cur:
            return cur.rowcount

    # -- generic access for derived tables (analytics) ------------------------------------

    async def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts."""
        async with self._locked():
            try:
                async with self._require().execute(sql, params) as cur:
                    names = [d[0] for d in cur.description]
                    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]
            except sqlite3.Error as exc:
                raise LoaderError(f"database read failed: {exc}") from exc

    async def execute_in_transaction(
        self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]]
    ) -> None:
        """Run ``(sql, rows)`` steps (executemany; ``[()]`` for a plain statement) atomically."""
        async with self._transaction() as tx:
            for sql, rows in steps:
                if len(rows) == 1:
                    await tx.execute(sql, rows[0])  # also DDL, which executemany refuses
                elif rows:
                    await tx.executemany(sql, rows)

    # -- batches --------------------------------------------------------------------------

    async def write_batch(
        self, *, run_id: str, task: str, kind: Kind, records: Sequence[dict[str, Any]],
        fetched_at: str | datetime, complete_days: Sequence[tuple[str, str, str, int]] = (),
        quarantined: Sequence[tuple[str | None, str | None, Any, list[dict[str, Any]]]] = (),
        count_in_run: bool = False, context: Mapping[str, Any] | None = None,
    ) -> int:
        """Upsert records, mark complete days and quarantine rejects in one transaction.

        ``context`` fills the batch-wide columns (``attribution_window`` of ad rows).

        ``complete_days`` are ``(platform, account_id, day, rows)``; ``quarantined`` are
        ``(platform, account_id, raw_record, errors)``. With ``count_in_run`` the run's
        loaded/quarantined counters move in the same transaction (do not also call
        :meth:`add_run_counts` for them). Returns rows written: a row whose stored copy
        was fetched later than ``fetched_at`` is kept and not counted.
        """
        now = _now()
        rows = sq.fact_rows(kind, records, run_id, _utc_iso(fetched_at), now, context)
        ledger, history = sq.ledger_rows(task, kind, run_id, complete_days, now)
        qrows = sq.quarantine_rows(run_id, task, kind, quarantined, now)
        async with self._transaction() as tx:
            written = 0
            if rows:
                async with tx.executemany(self._sql.upsert[kind], rows) as cur:
                    written = cur.rowcount
            if ledger:
                await tx.executemany(self._sql["ledger_upsert"], ledger)
                await tx.executemany(self._sql["ledger_history"], history)
            if qrows:
                await tx.executemany(self._sql["quarantine"], qrows)
            if count_in_run and (rows or qrows):
                await tx.execute(self._sql["add_counts"], (0, written, len(qrows), run_id))
        return written

    async def quarantine(
        self, *, run_id: str, task: str, platform: str | None, account_id: str | None,
        kind: Kind, items: Sequence[tuple[Any, list[dict[str, Any]]]],
    ) -> int:
        """Store rejected records with a readable reason; returns how many were stored."""
        qrows = sq.quarantine_rows(
            run_id, task, kind, [(platform, account_id, raw, errs) for raw, errs in items], _now())
        if qrows:
            async with self._transaction() as tx:
                await tx.executemany(self._sql["quarantine"], qrows)
        return len(qrows)

    async def completed_days(self, *, task: str | None, platform: str, account_id: str,
                             kind: Kind, days: Sequence[str],
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
        for chunk in sq.chunks(list(days)):
            sql = self._sql["completed_days"].format(days=self._sql.params(len(chunk))) + extra
            rows = await self._fetchall(sql, [platform, account_id, kind, *chunk, *extra_params])
            done.update(str(r[0]) for r in rows)
        return done

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
            _now()))
        if changed == 0:
            raise LoaderError(f"run {run_id} is already running")
        return run_id

    async def finish_run(self, run_id: str, status: FinalStatus, *, fetched: int | None = None,
                         loaded: int | None = None, quarantined: int | None = None,
                         error: str | None = None) -> None:
        """Close a run; counts given here replace the accumulated ones, None keeps them."""
        if status not in sq.FINAL_RUN_STATUSES:
            raise LoaderError(f"not a final run status: {status!r}")
        changed = await self._write(self._sql["finish_run"], (
            status, _now(), fetched, loaded, quarantined, error, run_id))
        if changed == 0:
            raise LoaderError(f"unknown run {run_id}")

    async def add_run_counts(self, run_id: str, *, fetched: int = 0, loaded: int = 0,
                             quarantined: int = 0) -> None:
        changed = await self._write(self._sql["add_counts"], (fetched, loaded, quarantined, run_id))
        if changed == 0:
            raise LoaderError(f"unknown run {run_id}")

    async def mark_interrupted_runs(self) -> list[str]:
        """At start-up: every run still 'running' died with the last process; mark it."""
        async with self._transaction() as tx:
            rows = await tx.execute_fetchall(self._sql["mark_interrupted"], (_now(),))
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
        for chunk in sq.chunks(list(run_ids)):
            async with self._locked():
                conn = self._require()
                try:
                    sql = self._sql["run_summary"].format(ids=self._sql.params(len(chunk)))
                    async with conn.execute(sql, chunk) as cur:
                        names = [d[0] for d in cur.description]
                        out += [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]
                except sqlite3.Error as exc:
                    raise LoaderError(f"database read failed: {exc}") from exc
        return sorted(out, key=lambda r: (r["started_at"], r["run_id"]))

    # -- inspection -------------------------------------------------------------------------

    async def count_rows(self, table: str) -> int:
        if table not in sq.TABLES:  # table names cannot be parameters: allowlist them
            raise LoaderError(f"unknown table {table!r}")
        rows = await self._fetchall(f"SELECT COUNT(*) FROM {table}")
        return int(rows[0][0])

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for /readyz)."""
        try:
            return bool((await self._fetchall("SELECT 1"))[0][0] == 1)
        except LoaderError:
            return False

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok", or the problems it found, one per line."""
        rows = await self._fetchall("PRAGMA integrity_check")
        return "\n".join(str(r[0]) for r in rows)
