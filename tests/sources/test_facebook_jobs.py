"""Facebook async report jobs on a fake clock: long queues are waited out, stalls are not."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from within_daemon.config import FacebookConfig
from within_daemon.errors import ReportStalledError
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sources import FacebookAdsConnector

from ..conftest import TOKEN

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-05")


class FakeClock:
    """Job time that advances only when the connector sleeps on it."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await anyio.sleep(0)


def connector(emu: FacebookEmulator, clock: FakeClock, **cfg: Any) -> FacebookAdsConnector:
    config = FacebookConfig(base_url=emu.base_url, backoff_base_seconds=0.01, **cfg)
    return FacebookAdsConnector(ACC, TOKEN, 60000, config=config, clock=clock)


def creations(emu: FacebookEmulator) -> int:
    return sum(1 for r in emu.stats.recent if r.method == "POST" and r.kind == "insights")


async def pull(conn: FacebookAdsConnector) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with anyio.fail_after(20):
        async for page in conn.iter_ad_rows(RANGE, use_async=True):
            rows.extend(page)
    return rows


def test_defaults_allow_thirty_minutes_without_progress_and_an_hour_per_job() -> None:
    """Facebook jobs get a 30-minute stall window and a one-hour budget by default."""
    cfg = FacebookConfig()
    assert cfg.stall_seconds == 1800 and cfg.job_budget_seconds == 3600


async def test_job_queued_for_many_minutes_is_waited_for(emulator: FacebookEmulator) -> None:
    """A job at 0 % "Job Not Started" for over 25 minutes completes without a re-creation."""
    emulator.set_fault(ACC, "job_queued", count=60)
    clock = FakeClock()
    async with connector(emulator, clock) as conn:
        rows = await pull(conn)
    assert len(rows) == emulator.expected_rows(ACC, *RANGE)
    assert creations(emulator) == 1
    assert clock.t > 25 * 60


async def test_job_without_progress_is_recreated_then_fails(emulator: FacebookEmulator) -> None:
    """No progress for the stall window re-creates the job once, then the window fails."""
    emulator.set_fault(ACC, "job_stall", at=40)
    clock = FakeClock()
    async with connector(emulator, clock) as conn:
        with pytest.raises(ReportStalledError, match="no progress.*stall_seconds = 1800"):
            await pull(conn)
    assert creations(emulator) == 2
    assert 2 * 1800 <= clock.t < 2 * (1800 + 120)


async def test_slow_job_is_recreated_after_its_budget(emulator: FacebookEmulator) -> None:
    """A job that moves but would take longer than its budget is re-created, then fails."""
    emulator.jobs.step = 1  # one percent per poll: about 50 minutes at 30 s a poll
    clock = FakeClock()
    async with connector(emulator, clock, job_budget_seconds=600) as conn:
        with pytest.raises(ReportStalledError, match="job_budget_seconds = 600"):
            await pull(conn)
    assert creations(emulator) == 2
    assert 2 * 600 <= clock.t < 2 * (600 + 30)
