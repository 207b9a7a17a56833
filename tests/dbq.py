"""Synchronous reads of the daemon's database for assertions, on either backend.

``rows(target, sql, *params)`` takes a ``LoadedConfig``, a database url or a SQLite file
path, and returns tuples. SQLite is read with ``sqlite3`` (a missing file or table reads as
no rows, as a process still starting up would show it); PostgreSQL through the daemon's own
loader in a worker thread with its own event loop, so it also works from inside an async
test (the call blocks that test's loop briefly, which the emulators tolerate).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from within_daemon.config import LoadedConfig, sqlite_path
from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader

_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbq")


def url_of(target: LoadedConfig | str | Path) -> tuple[str, Path | None]:
    """The url and, for SQLite, the file behind a target."""
    if isinstance(target, Path):
        return f"sqlite:///{target}", target
    if isinstance(target, LoadedConfig):
        url = target.config.database.url
        return url, sqlite_path(url, target.base_dir)
    return target, sqlite_path(target, Path.cwd()) if target.startswith("sqlite") else None


def is_postgres(target: LoadedConfig | str | Path) -> bool:
    return url_of(target)[1] is None


async def _pg(url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    try:
        async with DatabaseLoader.from_url(url) as db:
            # Positional rows: two unnamed COUNT(*)s are both called "count" on PostgreSQL.
            return [tuple(r) for r in await db._fetchall(sql, params)]
    except LoaderError as exc:
        if re.search(r'relation "[^"]+" does not exist', str(exc)):  # like "no such table"
            return []
        raise


def rows(target: LoadedConfig | str | Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    url, path = url_of(target)
    if path is None:
        return _pool.submit(asyncio.run, _pg(url, sql, params)).result(timeout=60)
    if not path.exists():
        return []
    con = sqlite3.connect(path, timeout=5)
    try:
        return con.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        con.close()


def scalar(target: LoadedConfig | str | Path, sql: str, *params: Any) -> Any:
    got = rows(target, sql, *params)
    return got[0][0] if got else None


async def _check(url: str) -> str:
    async with DatabaseLoader.from_url(url) as db:
        return await db.integrity_check()


def integrity(target: LoadedConfig | str | Path) -> str:
    """"ok" when the database is consistent (SQLite's pragma; PostgreSQL: ledger vs rows)."""
    url, _ = url_of(target)
    return _pool.submit(asyncio.run, _check(url)).result(timeout=60)
