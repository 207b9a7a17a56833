"""The two database drivers behind :class:`~.database.DatabaseLoader`: SQLite and PostgreSQL.

Statements are written once, in SQLite's spelling with ``?`` markers; :class:`Postgres`
renders them for PostgreSQL (``$n`` markers, ``DOUBLE PRECISION``/``BIGINT`` for SQLite's
``REAL``/``INTEGER`` so sums neither lose precision nor overflow) and caches the result. The
loader above holds one connection per backend and one lock, so a transaction is never shared
between tasks; everything backend-specific (pragmas, advisory locks, bulk upserts through
``COPY``, integrity checks) is in this module.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import aiosqlite

from within_daemon.errors import LoaderError
from within_daemon.redaction import redact_url

from .schema.dialect import POSTGRES, SQLITE, Dialect
from .schema.tables import FactTable
from .statements import keyed_upsert_sql, upsert_sql

log = logging.getLogger(__name__)

Row = Sequence[Any]


def redact(url: str) -> str:
    """The url with any password (``user:pw@`` or ``?password=``) replaced by ``***``."""
    return redact_url(url)


class Backend(ABC):
    """One connection to one database; the caller serializes access."""

    dialect: Dialect
    #: Exceptions of the driver that mean "the database refused": wrapped as LoaderError.
    errors: tuple[type[BaseException], ...]

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def in_transaction(self) -> bool: ...

    @abstractmethod
    async def begin(self) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        """Column names and rows of a query."""

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return (await self.fetch(sql, params))[1]

    @abstractmethod
    async def upsert(self, table: FactTable, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Upsert fact rows inside the open transaction; how many were inserted or updated."""

    async def upsert_keyed(self, table: str, columns: Sequence[str], key: Sequence[str],
                           rows: Sequence[Sequence[Any]]) -> None:
        """Insert-or-update ``rows`` of a derived table on ``key``, in the open transaction."""
        await self.executemany(keyed_upsert_sql(table, columns, key), rows)

    @abstractmethod
    async def table_columns(self, table: str) -> set[str]: ...

    @abstractmethod
    async def integrity_check(self) -> str: ...

    async def lock_migrations(self) -> None:  # noqa: B027 - SQLite needs nothing here
        """Inside the migration transaction: keep other processes out until it commits."""


class Sqlite(Backend):
    """aiosqlite in WAL mode; ``BEGIN IMMEDIATE`` takes the write lock up front."""

    dialect = SQLITE
    errors = (sqlite3.Error,)

    def __init__(self, url: str, path: Path | None, busy_timeout_ms: int) -> None:
        super().__init__(url)
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None

    def _c(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise LoaderError(f"database {self.url} is not open")
        return self._conn

    async def open(self) -> None:
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
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so no implicit
            # transaction can wrap a statement behind our back.
            self._conn = await aiosqlite.connect(target, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise LoaderError(f"cannot open {self.url}: {exc}") from exc
        try:
            await self._configure()
        except BaseException:
            await self.close()
            raise

    async def _configure(self) -> None:
        conn = self._c()
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

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass  # an optimisation hint; the close still matters more
        await conn.close()

    @property
    def in_transaction(self) -> bool:
        return self._c().in_transaction

    async def begin(self) -> None:
        await self._c().execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        await self._c().execute("COMMIT")

    async def rollback(self) -> None:
        await self._c().rollback()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._c().execute(sql, params) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._c().executemany(sql, rows)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        async with self._c().execute(sql, params) as cur:
            names = [d[0] for d in cur.description or ()]
            return names, list(await cur.fetchall())

    async def upsert(self, table: FactTable, sql: str, rows: list[tuple[Any, ...]]) -> int:
        async with self._c().executemany(sql, rows) as cur:
            return cur.rowcount

    async def table_columns(self, table: str) -> set[str]:
        return {str(r[1]) for r in await self.fetchall(f"PRAGMA table_info({table})")}

    async def integrity_check(self) -> str:
        return "\n".join(str(r[0]) for r in await self.fetchall("PRAGMA integrity_check"))


# -- PostgreSQL --------------------------------------------------------------------------------

_TYPE_WORDS = {"REAL": "DOUBLE PRECISION", "INTEGER": "BIGINT"}
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|\b(?:REAL|INTEGER)\b")


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """SQLite-spelled SQL for PostgreSQL: ``?`` -> ``$n``, REAL/INTEGER widened.

    Quoted strings and identifiers are left alone, so a ``?`` in a literal stays a ``?``.
    Only the upper-case words are widened (our DDL spells types that way); write a cast
    that must stay 32-bit in lower case.
    """
    n = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal n
        tok = m.group(0)
        if tok == "?":
            n += 1
            return f"${n}"
        return _TYPE_WORDS.get(tok, tok)

    return _TOKEN.sub(sub, sql)


def _decode_numeric(text: str) -> int | float:
    # SUM/AVG over BIGINT give NUMERIC, which asyncpg hands back as Decimal; SQLite gives
    # int or float, and everything above the loader was written against that.
    if text.lstrip("-").isdigit():
        return int(text)
    return float(Decimal(text))


def _count(status: str) -> int:
    """Rows a command changed, from its tag ("INSERT 0 5", "UPDATE 3")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class Postgres(Backend):
    """asyncpg, one connection; facts go in through ``COPY`` to a staging table.

    A connection the server dropped (a restart, a failover, an idle timeout) is replaced at
    the next transaction or standalone statement; a transaction it broke fails and rolls
    back as a whole, and the caller's retry runs it again on the new connection.
    """

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        super().__init__(url)
        import asyncpg  # imported here: SQLite users never load it

        self._asyncpg = asyncpg
        self.errors = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
        self._conn: Any = None
        self._staged: set[str] = set()
        #: table -> its INSERT ... SELECT from the staging table, built once.
        self._upserts: dict[str, str] = {}
        self._keyed_upserts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}
        self._open = False
        self._tx_open = False

    def _c(self) -> Any:
        if self._conn is None:
            raise LoaderError(f"database {redact(self.url)} is not open")
        return self._conn

    def _alive(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _usable(self) -> Any:
        """The connection, replaced first if the server dropped it (outside transactions)."""
        if not self._tx_open and self._open and not self._alive():
            log.warning("connection to %s was lost; reconnecting", redact(self.url))
            if self._conn is not None:
                self._conn.terminate()
            self._conn = None
            self._staged.clear()  # temp tables died with the old session
            await self.open()
        return self._c()

    async def open(self) -> None:
        try:
            conn = await self._asyncpg.connect(self.url, timeout=30)
        except (self._asyncpg.PostgresError, OSError, ValueError,
                self._asyncpg.InterfaceError) as exc:
            raise LoaderError(f"cannot connect to {redact(self.url)}: {exc}") from exc
        await conn.set_type_codec("numeric", schema="pg_catalog", encoder=str,
                                  decoder=_decode_numeric, format="text")
        self._conn, self._open = conn, True

    async def close(self) -> None:
        self._open = self._tx_open = False
        conn, self._conn = self._conn, None
        self._staged.clear()
        if conn is not None:
            try:
                await conn.close(timeout=10)
            except Exception:  # noqa: BLE001 - a dead server still counts as closed
                conn.terminate()

    @property
    def in_transaction(self) -> bool:
        return self._alive() and bool(self._c().is_in_transaction())

    async def begin(self) -> None:
        conn = await self._usable()
        await conn.execute("BEGIN")
        self._tx_open = True

    async def commit(self) -> None:
        await self._c().execute("COMMIT")
        self._tx_open = False

    async def rollback(self) -> None:
        self._tx_open = False
        self._staged.clear()  # a staging table created in this transaction is gone too
        if self._alive() and self._c().is_in_transaction():
            await self._c().execute("ROLLBACK")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _count(await (await self._usable()).execute(to_postgres(sql), *params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await (await self._usable()).executemany(to_postgres(sql), rows)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        # conn.fetch goes through asyncpg's statement cache (one round trip, no re-parse);
        # the names come from a row, and an empty result needs none.
        rows = await (await self._usable()).fetch(to_postgres(sql), *params)
        names = list(rows[0].keys()) if rows else []
        return names, [tuple(r) for r in rows]

    async def upsert(self, table: FactTable, sql: str, rows: list[tuple[Any, ...]]) -> int:
        # ``sql`` (the row-by-row statement) is not used here. COPY into a per-connection
        # staging table, then one INSERT ... SELECT: 5-10x the rate of row-by-row statements.
        if table.name not in self._upserts:
            self._upserts[table.name] = upsert_sql(table, POSTGRES,
                                                   source=f"stage_{table.name}")
        return await self._copy_upsert(table.name, table.columns, table.key,
                                       self._upserts[table.name], rows)

    async def upsert_keyed(self, table: str, columns: Sequence[str], key: Sequence[str],
                           rows: Sequence[Sequence[Any]]) -> None:
        # The fact tables' way (COPY, then one statement): the post-load history and
        # benchmark rows took 19 us a row as row-by-row upserts (bench/README.md).
        shape = (table, tuple(columns), tuple(key))
        sql = self._keyed_upserts.get(shape)
        if sql is None:
            sql = self._keyed_upserts[shape] = to_postgres(
                keyed_upsert_sql(table, columns, key, source=f"stage_{table}"))
        await self._copy_upsert(table, columns, key, sql, rows)

    async def _copy_upsert(self, table: str, columns: Sequence[str], key: Sequence[str],
                           sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """COPY ``rows`` into ``table``'s staging table, run ``sql`` (reading it), empty it.

        Rows with the same key in one batch are collapsed to the last (what consecutive
        upserts would have left); ON CONFLICT refuses to touch a row twice in one statement.
        """
        conn, stage = self._c(), f"stage_{table}"
        if stage not in self._staged:
            await conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            self._staged.add(stage)
        # The key's columns by a C getter (one column: the value itself, as good a dict
        # key): a tuple built by a generator per row took three times as long.
        key_of = itemgetter(*(list(columns).index(k) for k in key))
        last = {key_of(r): r for r in rows}
        await conn.copy_records_to_table(stage, records=list(last.values()),
                                         columns=list(columns))
        status = await conn.execute(sql)
        await conn.execute(f"TRUNCATE {stage}")  # a later batch in this transaction
        return _count(status)

    async def table_columns(self, table: str) -> set[str]:
        rows = await self.fetchall(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?", (table,))
        return {str(r[0]) for r in rows}

    async def integrity_check(self) -> str:
        # PostgreSQL checks its pages itself (and amcheck is an extension we cannot assume);
        # what we can check is our own invariant: no ledger day without its rows.
        rows = await self.fetchall(
            "SELECT l.platform, l.account_id, l.day FROM ledger l WHERE l.kind = 'ad' "
            "AND l.rows > 0 AND NOT EXISTS (SELECT 1 FROM ad_data a WHERE "
            "a.platform = l.platform AND a.account_id = l.account_id AND a.date = l.day) "
            "LIMIT 20")
        if not rows:
            return "ok"
        return "\n".join(f"ledger day without rows: {p} {a} {d}" for p, a, d in rows)

    async def lock_migrations(self) -> None:
        # Replicas starting together would race on CREATE TABLE; the transaction-scoped
        # advisory lock makes the second wait and then find the migration applied.
        await self._c().execute("SELECT pg_advisory_xact_lock(7236184201)")


def open_backend(url: str, path: Path | None, busy_timeout_ms: int) -> Backend:
    if url.startswith(("postgresql://", "postgres://")):
        return Postgres(url)
    return Sqlite(url, path, busy_timeout_ms)
