"""Outages and throttles at the connector, over real sockets, on a fake clock.

An open circuit pauses the request and probes again after ``breaker_reset_seconds``; only
the outage budget ends the pull. Throttles wait the platform's own hint, back off with
jitter when there is none, and an app-wide throttle slows every account of the app.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from within_daemon.config import FacebookConfig
from within_daemon.errors import CircuitOpenError
from within_daemon.observability.metrics import Metrics
from within_daemon.platform_config import GoogleConfig, TikTokConfig
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.tiktok.server import TikTokEmulator
from within_daemon.sources import FacebookAdsConnector
from within_daemon.sources.google.connector import GoogleAdsConnector
from within_daemon.sources.http.client import OutageBudgetSpent
from within_daemon.sources.tiktok.connector import TikTokAdsConnector

from ..conftest import TOKEN
from ..fakes.clock import FakeClock, use_clock

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-05")
#: Real-life knobs: the fake clock makes a 60 s reset cost nothing.
REAL_KNOBS: dict[str, Any] = {"breaker_fail_max": 5, "breaker_reset_seconds": 60.0,
                              "backoff_base_seconds": 1.0, "max_retries": 5}


def fb(emu: FacebookEmulator, clock: FakeClock, account: str = ACC,
       **cfg: Any) -> FacebookAdsConnector:
    settings = FacebookConfig(base_url=emu.base_url, **{**REAL_KNOBS, **cfg})
    with use_clock(clock):
        return FacebookAdsConnector(account, TOKEN, rate_limit=60000, config=settings,
                                    metrics=Metrics())


async def fb_rows(conn: FacebookAdsConnector) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with anyio.fail_after(20):
        async for page in conn.iter_insights(RANGE):
            rows.extend(page)
    return rows


def insights_statuses(emu: FacebookEmulator) -> list[int]:
    return [r.status for r in emu.stats.recent if r.kind == "insights"]


async def test_burst_longer_than_fail_max_is_ridden_out(emulator: FacebookEmulator) -> None:
    """Eight 5xx in a row (fail_max 5): the circuit opens, probes, and the pull completes."""
    clock = FakeClock()
    emulator.set_fault(ACC, "server_error", count=8, path="insights", status=503)
    async with fb(emulator, clock) as conn:
        rows = await fb_rows(conn)
        assert conn.breaker.state == "closed"
        assert conn.breaker.opened_count == 1
        # Five failures open it; three failed probes each wait one more reset.
        assert conn.outage_waited >= 3 * 60.0
    assert len(rows) == 60
    assert insights_statuses(emulator) == [503] * 8 + [200]
    assert clock.sleeps.count(60.0) >= 1  # a whole reset waited on the fake clock


async def test_spent_outage_budget_ends_the_pull_and_names_the_next_probe(
    emulator: FacebookEmulator,
) -> None:
    """A circuit open past max_outage_seconds ends the pull; the error and state say when."""
    clock = FakeClock()
    emulator.set_fault(ACC, "server_error", path="insights")
    async with fb(emulator, clock, max_outage_seconds=300.0) as conn:
        with pytest.raises(OutageBudgetSpent) as info:
            await fb_rows(conn)
        state = conn.state()
    assert isinstance(info.value, CircuitOpenError)
    assert info.value.error_class == "outage_budget"
    assert "next probe due" in str(info.value) and "Graph error 1" in str(info.value)
    # Five failures, then one probe per 60 s reset within the 300 s budget.
    assert len(insights_statuses(emulator)) == 5 + 5
    assert conn.outage_waited == pytest.approx(300.0)
    assert state["circuit"] == "open" and state["next_probe_in_seconds"] == pytest.approx(60.0)
    assert state["stopped"]["reason"] == "outage_budget"
    assert state["stopped"]["next_probe_at"] == state["next_probe_at"]


async def test_unlimited_budget_waits_until_the_platform_is_back(
    emulator: FacebookEmulator,
) -> None:
    """With no budget (a backfill) an hour-long outage is waited out, one probe a reset."""
    clock = FakeClock()
    emulator.set_fault(ACC, "server_error", path="insights")

    async def recover() -> None:
        emulator.clear_faults()

    clock.at(3600.0, recover)
    async with fb(emulator, clock) as conn:
        conn.use_outage_budget(backfill=True)
        assert conn.outage_budget is None
        rows = await fb_rows(conn)
    assert len(rows) == 60
    assert clock.elapsed >= 3600.0
    # About one probe per minute, not a storm: 5 failures + ~60 probes + the success.
    assert 60 <= len(insights_statuses(emulator)) <= 5 + 62


async def test_new_run_gets_a_new_budget_and_keeps_probing(emulator: FacebookEmulator) -> None:
    """begin_run resets the outage budget; the circuit is still open and is probed again."""
    clock = FakeClock()
    emulator.set_fault(ACC, "server_error", path="insights")
    async with fb(emulator, clock, max_outage_seconds=60.0) as conn:
        with pytest.raises(OutageBudgetSpent):
            await fb_rows(conn)
        emulator.clear_faults()
        conn.begin_run()
        assert conn.stopped is None and conn.outage_waited == 0
        assert len(await fb_rows(conn)) == 60


async def test_facebook_regain_hint_is_the_wait(emulator: FacebookEmulator) -> None:
    """A throttle with estimated_time_to_regain_access=2 (minutes) waits 120 s, not longer."""
    clock = FakeClock()
    emulator.set_fault(ACC, "throttle", count=1, path="insights",
                       estimated_time_to_regain_access=2)
    async with fb(emulator, clock, throttle_pause_seconds=600.0) as conn:
        rows = await fb_rows(conn)
    assert len(rows) == 60
    assert max(clock.sleeps) == pytest.approx(120.0)


async def test_hintless_facebook_throttles_back_off_with_jitter(
    emulator: FacebookEmulator,
) -> None:
    """Throttles without a regain time back off exponentially (jittered) from the base."""
    clock = FakeClock()
    emulator.set_fault(ACC, "throttle", count=4, path="insights",
                       estimated_time_to_regain_access=0)
    async with fb(emulator, clock, throttle_pause_seconds=10.0) as conn:
        rows = await fb_rows(conn)
    assert len(rows) == 60
    waits = [s for s in clock.sleeps if s > 0]
    # Usage at 100% pauses base (10 s) at most each time; the streak draws from up to 80 s.
    assert 1 <= len(waits) <= 8
    assert all(w <= 80.0 for w in waits)
    assert sum(waits) < 4 * 60.0  # no one-minute floor per throttle


# -- Google and TikTok ------------------------------------------------------------------------


@pytest.fixture
async def gemu() -> AsyncIterator[GoogleAdsEmulator]:
    e = GoogleAdsEmulator(developer_token="dev")
    async with e.serve():
        yield e


def google(emu: GoogleAdsEmulator, clock: FakeClock, account: str) -> GoogleAdsConnector:
    config = GoogleConfig(base_url=emu.base_url, token_url=emu.token_url, **REAL_KNOBS,
                          throttle_pause_seconds=60.0)
    with use_clock(clock):
        return GoogleAdsConnector(
            account, refresh_token="rt-a", client_id="sandbox-client-id",
            client_secret="sandbox-client-secret", developer_token="dev", rate_limit=60000,
            config=config, metrics=Metrics())


async def test_google_one_second_retry_delay_costs_one_second(gemu: GoogleAdsEmulator) -> None:
    """A RESOURCE_TEMPORARILY_EXHAUSTED with retryDelay "1s" waits 1 s, not the 60 s pause."""
    clock = FakeClock()
    acct = next(iter(gemu.customers))
    gemu.set_fault(acct, "rate_exceeded", count=1, retry_seconds=1)
    async with google(gemu, clock, acct) as conn:
        rows = [r async for page in conn.iter_ad_rows(RANGE) for r in page]
    assert rows
    assert max(clock.sleeps) == pytest.approx(1.0)


@pytest.fixture
async def temu() -> AsyncIterator[TikTokEmulator]:
    e = TikTokEmulator()
    async with e.serve():
        yield e


def tiktok(emu: TikTokEmulator, clock: FakeClock, adv: str) -> TikTokAdsConnector:
    settings = TikTokConfig(base_url=emu.base_url, **REAL_KNOBS)
    with use_clock(clock):
        return TikTokAdsConnector(adv, "tok-123", rate_limit=60000, config=settings,
                                  metrics=Metrics())


async def tt_rows(conn: TikTokAdsConnector) -> int:
    with anyio.fail_after(20):
        return sum([len(p) async for p in conn.iter_ad_rows(RANGE)])


async def test_tiktok_app_throttle_slows_every_advertiser_of_the_app(
    temu: TikTokEmulator,
) -> None:
    """40100 (app QPS) seen by one advertiser pauses the other too; 40133 stays with its own."""
    random.seed(7)  # the jittered backoff draws from the global generator
    clock = FakeClock()
    a, b = list(temu.advertisers)[:2]
    async with tiktok(temu, clock, a) as ca, tiktok(temu, clock, b) as cb:
        await ca.get_account_info()
        await cb.get_account_info()  # both bound to the app's quota
        seen: list[float] = []

        async def look() -> None:  # fires inside A's throttle wait
            seen.append(cb.pacer.delay())

        clock.at(clock.elapsed + 1e-6, look)
        temu.set_fault(a, "throttle", count=1, code=40100)
        assert await tt_rows(ca) > 0
        # TikTok's base pause is one second: the first backoff is drawn from [0, 1].
        assert 0 < ca.throttle_waited <= 1.0
        assert ca.pacer.app is cb.pacer.app and ca.pacer.app is not None
        assert ca.pacer.app.throttles == 1
        assert seen and seen[0] > 0  # B would have waited although never refused
        assert await tt_rows(cb) > 0
    # Advertiser-level limit: only its own account waits.
    clock2 = FakeClock()
    temu.set_fault(a, "throttle", count=1, code=40133)
    async with tiktok(temu, clock2, a) as ca, tiktok(temu, clock2, b) as cb:
        assert await tt_rows(ca) > 0
        assert await tt_rows(cb) > 0
        assert ca.throttle_waited > 0 and cb.throttle_waited == 0
