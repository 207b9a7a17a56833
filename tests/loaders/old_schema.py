"""A database opened by the daemon as it was before a given schema migration (tests only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.schema import migrations
from within_daemon.loaders.schema.dialect import SQLITE, Dialect
from within_daemon.loaders.schema.migrations import Migration


@asynccontextmanager
async def opened_before(monkeypatch: pytest.MonkeyPatch, url: str,
                        version: int) -> AsyncIterator[DatabaseLoader]:
    """``url`` opened with migrations ``< version`` only: what an older daemon left there."""
    released = migrations.migrations

    def older(d: Dialect = SQLITE) -> tuple[Migration, ...]:
        return tuple(x for x in released(d) if x.version < version)

    with monkeypatch.context() as m:
        m.setattr(migrations, "migrations", older)
        async with DatabaseLoader.from_url(url) as old:
            yield old
