"""Quality after a run is judged on what the run loaded; freshness only where it is meant."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import anyio
import pytest

from within_daemon.config import LoadedConfig
from within_daemon.daemon import run_backfill
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.transforms.quality import DIMENSIONS

from .. import dbq

A1 = "1000000001"


def _today() -> datetime:
    return datetime.now(ZoneInfo("America/Los_Angeles"))


async def test_clean_backfill_of_a_month_old_range_raises_no_alert(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A clean backfill of last month's days: six scores of 1 stored, no quality alert."""
    loaded = make_config(tasks=[])
    today = _today().date()
    start, end = today - timedelta(days=60), today - timedelta(days=31)
    metrics = Metrics()
    with caplog.at_level(logging.INFO), anyio.fail_after(60):
        res = await run_backfill(loaded, metrics=metrics, platform="facebook", account_id=A1,
                                 start=start, end=end)
    assert res.status == "success" and res.loaded == 12 * 30
    alerts = [r.getMessage() for r in caplog.records if "quality ALERT" in r.getMessage()]
    assert alerts == []
    stored = dbq.rows(loaded, "SELECT dimension, score, passed FROM quality_reports "
                              "WHERE account_id = ? ORDER BY dimension", A1)
    assert [d for d, _, _ in stored] == sorted(DIMENSIONS)
    assert all(score == 1.0 and passed for _, score, passed in stored), stored
    for dim in DIMENSIONS:
        assert metrics.registry.get_sample_value(
            "within_data_quality_score", {"platform": "facebook", "dimension": dim}) == 1.0


async def test_backfill_judges_every_day_it_loaded(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Rows lost on the oldest days of a long backfill count, not only its newest weeks."""
    loaded = make_config(tasks=[], facebook={"async_after_days": 365, "window_days": 7})
    today = _today().date()
    start, end = today - timedelta(days=90), today - timedelta(days=31)
    args = {"metrics": Metrics(), "platform": "facebook", "account_id": A1, "start": start,
            "end": end}
    with anyio.fail_after(60):
        await run_backfill(loaded, pipeline="AccountDataPipeline", **args)  # type: ignore[arg-type]
        # The first insights page (the oldest week) carries rows the validator refuses.
        emulator.set_fault(A1, "bad_rows", count=1, every=3, mode="negative_spend")
        res = await run_backfill(loaded, **args)  # type: ignore[arg-type]
    assert 0 < res.quarantined < 12 * 7
    [(score, passed, issues)] = dbq.rows(
        loaded, "SELECT score, passed, issues_json FROM quality_reports WHERE account_id = ? "
                "AND dimension = 'consistency'", A1)
    assert score < 1.0 and "drift" in issues
    assert (start + timedelta(days=1)).isoformat() in issues


def test_freshness_is_judged_against_the_clock_only_for_recent_task_runs() -> None:
    """A task over recent days ages from today; a backfill or an old window from its end."""
    from within_daemon.pipelines.analytics import AccountDays, freshness_day

    recent = AccountDays("facebook", A1, None, ["2024-03-08", "2024-03-09"], [], "2024-03-10")
    old = AccountDays("facebook", A1, None, ["2024-01-01", "2024-01-31"], [], "2024-03-10")
    today, after_old = date(2024, 3, 10), date(2024, 2, 1)
    assert freshness_day(recent, mode="task", max_age_days=7) == today
    assert freshness_day(recent, mode="backfill", max_age_days=7) == today
    assert freshness_day(old, mode="task", max_age_days=7) == after_old
    assert freshness_day(old, mode="backfill", max_age_days=7) == after_old
