"""The database connection under the loader: lifecycle, migrations, transactions, reads.

:class:`DatabaseConnection` opens one of the two drivers (:mod:`.backends`), applies the
migrations of :mod:`.schema` and checks the tables against it, and holds the one lock every
call takes, so a readiness probe or ``status`` never sees, or joins, a half-done transaction.
It also offers the generic access the stores on top use (:meth:`~DatabaseConnection.fetch_dicts`,
:meth:`~DatabaseConnection.fetch_rows`, :meth:`~DatabaseConnection.execute_in_transaction`)
and the inspection calls (row counts, ping, integrity check). What is written, and when,
is :class:`.database.DatabaseLoader`'s part.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio

from within_daemon.errors import LoaderError, RowsRefusedError
from within_daemon.loaders import backends
from within_daemon.loaders.refusals import first_line, refused_values
from within_daemon.loaders.schema import migrations as schema_migrations
from within_daemon.loaders.schema.dialect import Dialect
from within_daemon.loaders.schema.feature_store import FEATURE_VIEWS, missing_feature_columns
from within_daemon.loaders.schema.tables import FACT_TABLES, TABLES
from within_daemon.loaders.statements import Statements

T = TypeVar("T")

log = logging.getLogger(__name__)


def now_iso() -> str:
    """The current UTC time as the loader stamps it (ISO 8601, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


#: A cluster replica's lease lookup: ``(platform, account_id) -> (resource, generation)``.
Fence = Callable[[str, str], tuple[str, int] | None]


class DatabaseConnection:
    """One database (SQLite in WAL, or PostgreSQL): open, migrate, transact, read."""

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
                 fence: Fence | None = None) -> Self:
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

    @asynccontextmanager
    async def sibling(self) -> AsyncIterator[Self]:
        """Another connection to the same database, closed on leaving (PostgreSQL only).

        For work the server can do beside this connection's, on a core of its own (the
        post-load steps of a backfill). Same holder and fence. SQLite has one writer, so a
        second connection would only wait for the first: asking for one is a bug.
        """
        if self.dialect.name != "postgresql":
            raise LoaderError(f"a second connection is for PostgreSQL, not {self.dialect.name}")
        other = type(self)(None, url=self.url, holder=self.holder, fence=self.fence)
        # Connected only: this connection already migrated and checked the schema.
        await other._backend.open()
        other._open, other._lock = True, anyio.Lock()
        try:
            yield other
        finally:
            await other.close()

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
                await tx.execute(self._sql["migration_record"], (m.version, m.name, now_iso()))
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

    async def fetch_rows(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        """Rows of a read-only query as the driver gives them, in the query's column order.

        Tuples on both backends: ``sqlite3`` rows (no ``row_factory`` is set) and asyncpg
        records copied into tuples by :meth:`.backends.Postgres.fetch`. For large reads a
        caller unpacks by position; :meth:`fetch_dicts` costs a dict per row (about 40 %
        of the history and benchmark steps' reads).
        """
        async with self._locked():
            return (await self._guard(self._require().fetch(sql, params)))[1]

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

    async def upsert_keyed(self, table: str, columns: Sequence[str], key: Sequence[str],
                           rows: Sequence[Sequence[Any]]) -> None:
        """Insert-or-update ``rows`` of a derived table on ``key``, in one transaction.

        Every non-key column is taken from the new row. PostgreSQL: COPY into a staging
        table and one statement, as the fact tables are written.
        """
        if table not in TABLES:  # a table name cannot be a parameter: allowlist it
            raise LoaderError(f"unknown table {table!r}")
        async with self._transaction() as tx:
            await tx.upsert_keyed(table, columns, key, rows)

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
