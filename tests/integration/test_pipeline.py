"""Whole pipelines against the emulator over real sockets, into SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio

from within_daemon.config import LoadedConfig, sqlite_path
from within_daemon.daemon import run_backfill, run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines import AccountDataPipeline, AdDataPipeline
from within_daemon.pipelines.engine import TaskResult
from within_daemon.sandbox import FacebookEmulator

from .. import dbq

A1, A2 = "1000000001", "1000000002"


def scalar(loaded: LoadedConfig, sql: str, *args: Any) -> Any:
    return dbq.scalar(loaded, sql, *args)


def window(lookback: int) -> tuple[str, str]:
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    end = today - timedelta(days=1)
    return (end - timedelta(days=lookback - 1)).isoformat(), end.isoformat()


async def once(loaded: LoadedConfig, metrics: Metrics | None = None) -> list[TaskResult]:
    with anyio.fail_after(60):
        return await run_once(loaded, metrics=metrics or Metrics())


async def test_once_loads_every_row_exactly(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A task over two accounts loads every ad-day row once and completes every day."""
    loaded = make_config()
    [res] = await once(loaded)
    since, until = window(5)
    want = emulator.expected_rows(A1, since, until) + emulator.expected_rows(A2, since, until)
    assert res.status == "success"
    assert res.fetched == res.loaded == want == 100
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_data") == want
    assert scalar(loaded, "SELECT COUNT(*) FROM ledger WHERE status='complete'") == 10
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_data WHERE run_id IS NULL") == 0
    spend = round(scalar(loaded, "SELECT SUM(spend) FROM ad_data WHERE account_id=?", A1), 2)
    assert spend == emulator.expected_totals(A1, since, until)["spend"]


async def test_rerun_is_idempotent_and_counts_restatements(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Running the same task twice leaves the same rows; the second run restates all days."""
    loaded = make_config()
    await once(loaded)
    first = scalar(loaded, "SELECT COUNT(*) FROM ad_data")
    [res] = await once(loaded)
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_data") == first == 100
    assert [a.days_restated for a in res.accounts] == [5, 5]
    assert scalar(loaded, "SELECT COUNT(*) FROM ledger_history") == 20


async def test_expired_token_beside_healthy_account(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """One account with an expired token fails alone; the healthy one finishes."""
    emulator.set_fault(A2, "expired_token")
    loaded = make_config()
    [res] = await once(loaded)
    by = {a.account_id: a for a in res.accounts}
    assert res.status == "partial"
    assert by[A1].status == "success" and by[A1].loaded == 60
    assert by[A2].status == "failed" and "auth" in (by[A2].error or "")
    assert scalar(loaded, "SELECT COUNT(*) FROM ledger WHERE account_id=?", A2) == 0
    assert scalar(loaded, "SELECT status FROM runs WHERE account_id=?", A2) == "failed"
    # No retry storm: the broken account made one request.
    assert emulator.stats.count(account_id=A2) == 1


async def test_bad_rows_go_to_quarantine_with_reason(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Invalid rows are quarantined with reason and raw record; the rest loads."""
    emulator.set_fault(A1, "bad_rows", every=10, mode="negative_spend")
    loaded = make_config()
    [res] = await once(loaded)
    assert res.quarantined == 6
    assert res.loaded == 94
    assert res.fetched == 100
    reason = scalar(loaded, "SELECT reason FROM quarantine LIMIT 1")
    raw = scalar(loaded, "SELECT raw_json FROM quarantine LIMIT 1")
    assert "spend" in reason
    assert '"spend":"-' in raw
    assert scalar(loaded, "SELECT records_quarantined FROM runs WHERE account_id=?", A1) == 6


async def test_failing_window_is_never_marked_complete(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Insights down past the outage budget: the account fails, its days stay incomplete."""
    emulator.set_fault(A1, "server_error", path="insights")
    loaded = make_config(facebook={"max_retries": 1, "breaker_fail_max": 50,
                                   "max_outage_seconds": 0.5})
    [res] = await once(loaded)
    by = {a.account_id: a for a in res.accounts}
    assert by[A1].status == "failed"
    assert by[A2].status == "success"
    assert scalar(loaded, "SELECT COUNT(*) FROM ledger WHERE account_id=?", A1) == 0


async def test_account_pipeline_matches_ad_totals(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Account-day rows carry the platform totals and active campaign and ad counts."""
    loaded = make_config(tasks=[{"name": "acc", "pipeline": "AccountDataPipeline",
                                 "lookback_days": 3}])
    [res] = await once(loaded)
    since, until = window(3)
    assert res.status == "success" and res.loaded == 6
    imps = scalar(loaded, "SELECT SUM(daily_impressions) FROM account_data WHERE account_id=?",
                  A1)
    assert imps == emulator.expected_totals(A1, since, until)["impressions"]
    assert scalar(loaded, "SELECT MIN(ad_count) FROM account_data WHERE account_id=?", A1) > 0
    assert scalar(loaded, "SELECT COUNT(*) FROM account_data WHERE currency='USD'") == 6


async def test_seed_pipeline_api(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """AdDataPipeline(...).arun(account_id, date_range, batch_size) returns the seed's dict."""
    loaded = make_config()
    pipe = AdDataPipeline(source_platform="facebook", destination="database", validate=True,
                          enrich=False, config=loaded)
    result = await pipe.arun(A1, ("2024-02-01", "2024-02-10"), batch_size=25)
    assert result["success"] is True
    assert result["records_processed"] == 120
    assert result["error"] is None and result["duration_seconds"] >= 0
    acc = await AccountDataPipeline(config=loaded).arun(A1, ("2024-02-01", "2024-02-10"))
    assert acc["success"] and acc["records_processed"] == 10


async def test_backfill_skips_complete_days(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A second backfill over the same range skips the days the ledger has complete."""
    loaded = make_config()
    args: dict[str, Any] = {"metrics": Metrics(), "platform": "facebook", "account_id": A1}
    first = await run_backfill(loaded, start=date(2024, 1, 1), end=date(2024, 1, 31), **args)
    assert first.status == "success" and first.loaded == 12 * 31
    again = await run_backfill(loaded, start=date(2024, 1, 1), end=date(2024, 2, 10), **args)
    [acc] = again.accounts
    assert acc.days_skipped == 31 and acc.days_completed == 10
    assert again.loaded == 120
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_data") == 12 * 41


async def test_long_windows_use_async_jobs(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A window longer than async_after_days goes through an async report job."""
    loaded = make_config(facebook={"async_after_days": 10, "window_days": 14})
    res = await run_backfill(loaded, metrics=Metrics(), platform="facebook", account_id=A2,
                             start=date(2024, 1, 1), end=date(2024, 1, 28))
    assert res.loaded == 8 * 28
    creates = [r for r in emulator.stats.recent if r.method == "POST"]
    assert len(creates) == 2  # 28 days in windows of 14


async def test_large_windows_use_async_jobs(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A window of more rows (ads listed x days) than async_after_rows uses a job too."""
    loaded = make_config(facebook={"async_after_days": 10, "window_days": 7,
                                   "async_after_rows": 50})
    res = await run_backfill(loaded, metrics=Metrics(), platform="facebook", account_id=A2,
                             start=date(2024, 1, 1), end=date(2024, 1, 28))
    assert res.loaded == 8 * 28
    creates = [r for r in emulator.stats.recent if r.method == "POST"]
    assert len(creates) == 4  # 28 days in windows of 7, 8 ads x 7 days > 50 rows each


async def test_long_backfill_of_small_windows_pages_sync(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A range longer than async_after_days in small windows needs no async job.

    The choice is per window: a long backfill used to send every 7-day window through a
    job polled to completion, one after another.
    """
    loaded = make_config(facebook={"async_after_days": 10, "window_days": 7})
    res = await run_backfill(loaded, metrics=Metrics(), platform="facebook", account_id=A2,
                             start=date(2024, 1, 1), end=date(2024, 1, 28))
    assert res.loaded == 8 * 28 and res.status == "success"
    assert not [r for r in emulator.stats.recent if r.method == "POST"]
    assert scalar(loaded, "SELECT COUNT(DISTINCT date) FROM ad_data") == 28


def test_database_path_is_relative_to_config(tmp_path: Path) -> None:
    """A relative sqlite url resolves against the config file's folder."""
    assert sqlite_path("sqlite:///data/x.db", tmp_path) == tmp_path / "data" / "x.db"


def test_account_today_follows_the_account_time_zone() -> None:
    """A day is final only once it is over in the account's own time zone."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from within_daemon.pipelines.source_actor import account_today
    from within_daemon.schema import AccountInfo

    for tz in ("America/Los_Angeles", "Asia/Tokyo"):
        assert account_today(AccountInfo(timezone=tz)) == datetime.now(ZoneInfo(tz)).date(
        ).isoformat()
    assert account_today(AccountInfo(timezone="Not/AZone")) == datetime.now(UTC).date(
    ).isoformat()
    assert account_today(AccountInfo()) == datetime.now(UTC).date().isoformat()


async def test_run_exports_token_expiry(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A run sets within_token_expiry_timestamp_seconds for each account it pulls."""
    import time

    metrics = Metrics()
    await once(make_config(), metrics)
    for acc in (A1, A2):
        value = metrics.registry.get_sample_value(
            "within_token_expiry_timestamp_seconds", {"platform": "facebook", "account_id": acc})
        assert value is not None and value > time.time() + 59 * 86400
