"""Days whose post-load never finished are recomputed by the next post-load (migration 16).

Real databases (SQLite file, PostgreSQL). The ledger says a day is complete once its rows
are in; the post-load (rollups, history, benchmarks, feature store, quality) runs after the
run's last batch. A process stopped in between, or a failed step, must not leave those
days' derived rows stale for good: the next post-load of the account, whatever days its
own run loaded (or none), recomputes them. An existing database starts with every account
marked done up to its newest ledger day.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.loaders.old_schema import opened_before
from within_daemon.config import QualityConfig, TaskConfig
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.analytics import AccountDays, after_task
from within_daemon.schema import AD_FIELDS

DAYS = [f"2024-03-{d:02d}" for d in range(1, 11)]
TODAY = "2024-03-20"
TASK = TaskConfig(name="fb", platform="facebook", enrich=("historical_performance",))
ADS = 3


def _ad(account: str, ad: int, day: str) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="facebook", account_id=account, ad_id=f"{account}-{ad}", date=day,
             currency="USD", impressions=1000 + ad, clicks=10 + ad, spend=5.0)
    return r


async def _load(db: DatabaseLoader, account: str, days: list[str]) -> None:
    """One run's batches: the rows and their days marked complete in the ledger."""
    await db.write_batch(run_id=f"r-{account}", task="fb", kind="ad",
                         records=[_ad(account, a, d) for a in range(ADS) for d in days],
                         fetched_at="2024-03-20T00:00:00Z",
                         complete_days=[("facebook", account, d, ADS) for d in days])


async def _post_load(db: DatabaseLoader, account: str, days: list[str],
                     accounts: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    touched = [AccountDays("facebook", account, f"r-{account}", days, days, TODAY)] if days \
        else []
    return await after_task(db, TASK, touched, quality=QualityConfig(), metrics=Metrics(),
                            accounts=accounts)


async def _history_days(db: DatabaseLoader, account: str) -> list[str]:
    rows = await db.fetch_rows("SELECT DISTINCT date FROM ad_history WHERE account_id = ? "
                               "ORDER BY date", [account])
    return [str(r[0]) for r in rows]


async def test_a_post_load_that_never_ran_is_done_by_the_next(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with DatabaseLoader.from_url(db_url) as db:
        # The first run loaded days 1-7 and stopped before its post-load.
        await _load(db, "a", DAYS[:7])
        assert await _history_days(db, "a") == []
        # The next run loads days 8-10; its post-load does days 1-7 as well.
        await _load(db, "a", DAYS[7:])
        with caplog.at_level(logging.WARNING):
            got = await _post_load(db, "a", DAYS[7:])
        assert "error" not in got, got
        assert got["history_rows"] == ADS * len(DAYS)
        assert await _history_days(db, "a") == DAYS
        assert "7 complete day(s) of 1 account(s) whose post-load never finished" in caplog.text
        # Once done, they are not done again.
        caplog.clear()
        again = await _post_load(db, "a", DAYS[-1:])
        assert again["history_rows"] == ADS
        assert "never finished" not in caplog.text
        # An account of the run that loaded nothing new gets its left-over days too.
        await _load(db, "b", DAYS[:3])
        other = await _post_load(db, "a", [], accounts=(("facebook", "a"), ("facebook", "b")))
        assert other["history_rows"] == ADS * 3
        assert await _history_days(db, "b") == DAYS[:3]
        assert await _post_load(db, "a", [], accounts=(("facebook", "b"),)) == {}


async def test_a_failed_post_load_leaves_its_days_for_the_next(tmp_path: Path) -> None:
    path = tmp_path / "within.db"
    db = DatabaseLoader(path, busy_timeout_ms=50)
    async with db:
        await _load(db, "a", DAYS)
        # Another process holds the write lock: every write of the post-load fails.
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            failed = await _post_load(db, "a", DAYS)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert "error" in failed
        assert await _history_days(db, "a") == []
        # The next run loaded nothing; its post-load still does the failed run's days.
        got = await _post_load(db, "a", [], accounts=(("facebook", "a"),))
        assert "error" not in got, got
        assert await _history_days(db, "a") == DAYS


async def test_an_existing_database_starts_marked_done(db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async with opened_before(monkeypatch, db_url, 16) as old:
        await _load(old, "a", DAYS)  # its post-load ran, as the old daemon ran it
    async with DatabaseLoader.from_url(db_url) as db:
        got = await _post_load(db, "a", DAYS[-1:])
        assert got["history_rows"] == ADS  # the new day only, not the whole history
        marks = await db.fetch_rows("SELECT account_id FROM post_load_done")
        assert [r[0] for r in marks] == ["a"]


