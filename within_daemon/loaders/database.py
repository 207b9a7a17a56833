"""The database loader: idempotent upserts with the day ledger in the same transaction.

Delivery is at-least-once, so every write is an upsert on the record's natural key and the
checkpoint (the ``ledger`` of complete days) commits in the same transaction as the rows it
vouches for: after a crash the ledger is never ahead of the data,
and a re-fetch simply overwrites. The loader also keeps the ``runs`` table (what each run
fetched, loaded and quarantined; crash-interrupted runs are found at start-up) and the
``quarantine`` of rejected records. Tables and migrations live in
:mod:`.schema`, statement text in :mod:`.statements`, parameter shaping in :mod:`.rows`, the
two drivers (SQLite, PostgreSQL) in :mod:`.backends`; this module
holds the transactions, the migrations and the run bookkeeping, the same for both.

One loader actor writes per database. Calls from other tasks (readiness probes, ``status``)
are still safe: every call takes one lock, so nobody sees, or joins, a half-done transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self, TypeVar

import anyio

from within_daemon.errors import LeaseLostError, LoaderError, RowsRefusedError
from within_daemon.loaders import backends
from within_daemon.loaders import rows as rows_
from within_daemon.loaders.refusals import first_line, refused_values
from within_daemon.loaders.schema import migrations as schema_migrations
from within_daemon.loaders.schema.dialect import Dialect
from within_daemon.loaders.schema.feature_store import FEATURE_VIEWS, missing_feature_columns
from within_daemon.loaders.schema.tables import FACT_TABLES, FINAL_RUN_STATUSES, TABLES
from within_daemon.loaders.statements import Statements, chunks
from within_daemon.records import Record
from within_daemon.redaction import redact

T = TypeVar("T")

log = logging.getLogger(__name__)

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


#: A cluster replica's lease lookup: ``(platform, account_id) -> (resource, generation)``.
Fence = Callable[[str, str], tuple[str, int] | None]


class DatabaseLoader:
    """Async loader (SQLite in WAL, or PostgreSQL) with migrations, upserts, ledger, runs."""

    def __init__(self, path: Path | None, *, url: str | None = None,
                 busy_timeout_ms: int = 5000, holder: str | None = None,
                 fence: Fence | None = None) -> None:
        #: None means an in-memory database (unit tests only: it dies with the connection)
        #: or a PostgreSQL url.
        self.path = path
        self.url = url or (f"sqlite:///{path}" if path else "sqlite:///:memory:")
        self.busy_timeout_ms = busy_timeout_ms
        self._backend = backends.open_backend(self.url, path, busy_timeout_ms)
        self._open = False
        self._lock: anyio.Lock | None = None
        self._sql = Statements(self._backend.dialect)
        #: The replica id written into ``runs.holder`` (None: a single process, no cluster).
        self.holder = holder
        #: In a cluster: ``(platform, account_id) -> (lease resource, generation)`` or None.
        #: Every batch then checks, inside its transaction, that the lease is still ours.
        self.fence = fence

    @property
    def dialect(self) -> Dialect:
        """Which SQL spelling the database wants (``dialect.name``: sqlite, postgresql)."""
        return self._backend.dialect

    @property
    def display_url(self) -> str:
        """The url with any password masked."""
        return backends.redact(self.url)

    # -- construction and lifecycle -------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, *, base_dir: Path | None = None, holder: str | None = None,
                 fence: Fence | None = None) -> DatabaseLoader:
        """A loader for ``sqlite:///rel.db`` (against ``base_dir``) or ``postgresql://``.

        ``holder`` and ``fence`` are a cluster replica's id and lease lookup (see ``fence``).

        SQLite also takes ``sqlite:////abs.db`` and ``sqlite:///:memory:``; PostgreSQL takes
        ``postgresql://user[:password]@host[:port]/database`` (libpq-style ``?host=/socket``).
        """
        scheme, sep, _ = url.partition("://")
        if not sep:
            raise LoaderError(f"not a database url: {url!r} "
                              "(expected sqlite:///path.db or postgresql://host/db)")
        if scheme in ("postgresql", "postgres"):
            return cls(None, url=url, holder=holder, fence=fence)
        if scheme != "sqlite":
            raise LoaderError(f"unsupported database url scheme {scheme!r} "
                              "(sqlite:/// or postgresql://)")
        if not url.startswith("sqlite:///"):
            raise LoaderError(f"sqlite url needs three slashes then a path: {url!r}")
        rest = url[len("sqlite:///"):]
        if not rest or "?" in rest:
            raise LoaderError(f"sqlite url needs a file path and no query string: {url!r}")
        if rest == ":memory:":
            return cls(None, url=url, holder=holder, fence=fence)
        p = Path(rest)
        if not p.is_absolute():
            p = (base_dir if base_dir is not None else Path.cwd()) / p
        return cls(p, url=url, holder=holder, fence=fence)

    async def open(self) -> None:
        """Connect, configure and apply pending migrations (idempotent)."""
        if self._open:
            return
        await self._backend.open()
        self._open, self._lock = True, anyio.Lock()
        try:
            await self._migrate()
            await self._verify_columns()
        except BaseException:
            self._open = False
            await self._backend.close()
            raise

    async def close(self) -> None:
        if not self._open or self._lock is None:
            return
        async with self._lock:  # let an in-flight transaction finish first
            self._open = False
            await self._backend.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def _migrate(self) -> None:
        migrations = schema_migrations.migrations(self.dialect)
        latest = max(m.version for m in migrations)
        async with self._transaction() as tx:
            await tx.lock_migrations()
            await tx.execute(schema_migrations.MIGRATIONS_TABLE_DDL)
        rows = await self._fetchall(self._sql["migration_versions"])
        applied = {int(r[0]) for r in rows}
        if applied and max(applied) > latest:
            raise LoaderError(
                f"database schema version {max(applied)} is newer than this daemon's ({latest})"
            )
        for m in migrations:
            if m.version in applied:
                continue
            async with self._transaction() as tx:
                await tx.lock_migrations()
                # Re-check under the lock: another process may have just applied it.
                if await tx.fetchall(self._sql["migration_applied"], (m.version,)):
                    continue
                for stmt in m.statements:
                    await tx.execute(stmt)
                await tx.execute(self._sql["migration_record"], (m.version, m.name, _now()))
            log.info("applied migration %d (%s) to %s", m.version, m.name, self.display_url)

    async def _verify_columns(self) -> None:
        # The DDL is generated from schema.py; a field added there without a new migration
        # would otherwise fail on the first write, far from the cause.
        for t in FACT_TABLES.values():
            async with self._locked():
                have = await self._guard(self._backend.table_columns(t.name))
            missing = [c for c in t.columns if c not in have]
            if missing:
                raise LoaderError(
                    f"table {t.name} lacks columns {missing}: schema.py changed without a "
                    "migration in loaders/schema/migrations.py"
                )
        # The feature views' columns come from features.py the same way.
        views: dict[str, set[str]] = {}
        for v in FEATURE_VIEWS:
            async with self._locked():
                views[v.table] = await self._guard(self._backend.table_columns(v.table))
        # (None of them before migration 15: a test of an older schema opens one.)
        if any(views.values()) and (missing := missing_feature_columns(views)):
            raise LoaderError(
                f"feature view tables lack columns {missing}: features.py changed without a "
                "migration in loaders/schema/migrations.py")

    # -- plumbing ----------------------------------------------------------------------

    def _require(self) -> backends.Backend:
        if not self._open:
            raise LoaderError(f"database loader for {self.display_url} is not open")
        return self._backend

    def _locked(self) -> anyio.Lock:
        if self._lock is None or not self._open:
            raise LoaderError(f"database loader for {self.display_url} is not open")
        return self._lock

    async def _guard(self, aw: Awaitable[T]) -> T:
        try:
            return await aw
        except self._backend.errors as exc:
            raise LoaderError(f"database read failed: {exc}") from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[backends.Backend]:
        """BEGIN ... COMMIT (SQLite: IMMEDIATE); a failure rolls back and is a LoaderError."""
        async with self._locked():
            conn = self._require()
            try:
                if conn.in_transaction:  # a rollback lost to cancellation; start clean
                    await conn.rollback()
                await conn.begin()
                yield conn
                await conn.commit()
            except BaseException as exc:
                # Shielded: under anyio a cancelled task would otherwise be cancelled again
                # at this await and leave the transaction (and the write lock) open.
                with anyio.CancelScope(shield=True):
                    try:
                        await conn.rollback()
                    except conn.errors:
                        log.exception("rollback failed on %s", self.display_url)
                if isinstance(exc, Exception) and not isinstance(exc, LoaderError):
                    msg = f"database write failed, rolled back: {exc}"
                    if refused_values(exc):
                        raise RowsRefusedError(msg, detail=first_line(exc)) from exc
                    raise LoaderError(msg) from exc
                raise

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        async with self._locked():
            return await self._guard(self._require().fetchall(sql, params))

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; returns the changed row count."""
        async with self._transaction() as tx:
            return await tx.execute(sql, params)

    # -- generic access for derived tables (analytics) ------------------------------------

    async def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts."""
        async with self._locked():
            names, rows = await self._guard(self._require().fetch(sql, params))
        # Converted from the end, each tuple freed as its dict is made: a large read (a
        # month of many ads for the quality check) never holds both forms at once.
        out: list[dict[str, Any]] = []
        rows.reverse()
        pop, append = rows.pop, out.append
        while rows:
            append(dict(zip(names, pop(), strict=True)))
        return out

    async def execute_in_transaction(
        self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]]
    ) -> list[int]:
        """Run ``(sql, rows)`` steps (executemany; ``[()]`` for a plain statement) atomically.

        Returns each step's changed row count (-1 for an ``executemany`` step).
        """
        counts: list[int] = []
        async with self._transaction() as tx:
            for sql, rows in steps:
                if len(rows) == 1:
                    # also DDL, which executemany refuses
                    counts.append(await tx.execute(sql, rows[0]))
                elif rows:
                    await tx.executemany(sql, rows)
                    counts.append(-1)
                else:
                    counts.append(0)
        return counts

    async def write_with_ledger(
        self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]], *, run_id: str, task: str,
        kind: LedgerKind, complete_days: Sequence[tuple[str, str, str, int]],
    ) -> None:
        """Run ``steps`` and mark ``complete_days`` of ``kind`` in one transaction.

        ``steps`` as :meth:`execute_in_transaction` takes them, ``complete_days`` as
        ``(platform, account_id, day, rows)``. For a table the loader does not own (the
        audience breakdowns): the ledger is never ahead of those rows either.
        """
        ledger, history = rows_.ledger_rows(task, kind, run_id, complete_days, _now())
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
        now = _now()
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
            run_id, task, kind, [(platform, account_id, raw, errs) for raw, errs in items], _now())
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
            _now(), self.holder))
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
            status, _now(), fetched, loaded, quarantined, error, run_id, self.holder))
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
            rows = await tx.fetchall(self._sql[name], (_now(),))
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

    # -- inspection -------------------------------------------------------------------------

    async def count_rows(self, table: str) -> int:
        if table not in TABLES:  # table names cannot be parameters: allowlist them
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
        """"ok", or the problems found, one per line.

        SQLite runs ``PRAGMA integrity_check``; PostgreSQL checks that no ledger day lacks
        its rows (it verifies its own pages).
        """
        async with self._locked():
            return await self._guard(self._require().integrity_check())
