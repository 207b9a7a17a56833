"""The Facebook connector against the emulator over real sockets: paging, jobs, errors."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from within_daemon.config import FacebookConfig
from within_daemon.errors import AuthError, CircuitOpenError, ReportStalledError
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sources import FacebookAdsConnector

from ..conftest import FAST_FACEBOOK, TOKEN

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-05")


def connector(emu: FacebookEmulator, account: str = ACC, **cfg: Any) -> FacebookAdsConnector:
    settings = FacebookConfig(base_url=emu.base_url, **{**FAST_FACEBOOK, **cfg})
    return FacebookAdsConnector(account, TOKEN, rate_limit=60000, config=settings,
                                metrics=Metrics())


async def collect(conn: FacebookAdsConnector, **kw: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with anyio.fail_after(20):
        async for page in conn.iter_insights(RANGE, **kw):
            rows.extend(page)
    return rows


def insights_calls(emu: FacebookEmulator) -> list[Any]:
    return [r for r in emu.stats.recent if r.kind == "insights"]


async def test_insights_paging_reaches_every_row(emulator: FacebookEmulator) -> None:
    """Following paging.next with a small page size returns exactly the expected rows."""
    async with connector(emulator, page_size=7) as conn:
        rows = await collect(conn)
    assert len(rows) == emulator.expected_rows(ACC, *RANGE) == 60
    assert len({(r["ad_id"], r["date_start"]) for r in rows}) == 60
    assert len(insights_calls(emulator)) == 9  # ceil(60 / 7)


async def test_empty_page_with_next_does_not_stop_paging(emulator: FacebookEmulator) -> None:
    """A page with no data but a next link is followed, not taken as the end."""
    emulator.set_fault(ACC, "empty_page_with_next", count=1, path="insights")
    async with connector(emulator, page_size=25) as conn:
        rows = await collect(conn)
    assert len(rows) == 60


async def test_ads_paging_returns_creatives(emulator: FacebookEmulator) -> None:
    """Ads come with creative text, call to action and landing page, across pages."""
    async with connector(emulator) as conn:
        ads = [ad async for page in conn.iter_ads(limit=5) for ad in page]
    assert len(ads) == 12
    assert all(ad["creative"].get("title") for ad in ads)
    assert all(ad["creative"].get("call_to_action_type") for ad in ads)


async def test_seed_get_ads_attaches_insights(emulator: FacebookEmulator) -> None:
    """aget_ads(date_range, fields=[..., 'insights']) gives each ad its daily rows."""
    async with connector(emulator) as conn:
        ads = await conn.aget_ads(RANGE, ["id", "name", "status", "creative", "insights"], 100)
    assert len(ads) == 12
    assert sum(len(a["insights"]) for a in ads) == 60
    assert all(len(a["insights"]) == 5 for a in ads)


async def test_account_stats_are_daily_totals(emulator: FacebookEmulator) -> None:
    """aget_account_stats returns one row per day whose sums match the ad rows."""
    async with connector(emulator) as conn:
        rows = await conn.aget_account_stats(RANGE, ["spend", "impressions", "clicks"])
    assert [r["date_start"] for r in rows] == [
        "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]
    want = emulator.expected_totals(ACC, *RANGE)
    assert sum(int(r["impressions"]) for r in rows) == want["impressions"]


async def test_async_job_path(emulator: FacebookEmulator) -> None:
    """An async insights job is created, polled to completion and its results paged."""
    async with connector(emulator) as conn:
        rows = await collect(conn, use_async=True)
    kinds = [r.kind for r in emulator.stats.recent]
    assert len(rows) == 60
    assert "job" in kinds
    assert any(r.method == "POST" for r in emulator.stats.recent)


async def test_stalled_job_is_detected_by_progress(emulator: FacebookEmulator) -> None:
    """A job whose percentage stops moving fails as stalled, after one re-creation."""
    emulator.set_fault(ACC, "job_stall", at=40)
    async with connector(emulator, stall_seconds=0.2) as conn:
        with pytest.raises(ReportStalledError, match="stuck at 40%"):
            await collect(conn, use_async=True)
    creates = [r for r in emulator.stats.recent if r.method == "POST"]
    assert len(creates) == 2


async def test_failed_job_is_recreated_once(emulator: FacebookEmulator) -> None:
    """A 'Job Failed' job is created again once, and the second job's rows arrive."""
    emulator.set_fault(ACC, "job_fail", count=1)
    async with connector(emulator) as conn:
        rows = await collect(conn, use_async=True)
    assert len(rows) == 60
    assert len([r for r in emulator.stats.recent if r.method == "POST"]) == 2


async def test_throttle_waits_and_retries(emulator: FacebookEmulator) -> None:
    """Throttle code 80000 pauses the account, then the same page succeeds."""
    emulator.set_fault(ACC, "throttle", count=2, path="insights",
                       estimated_time_to_regain_access=0)
    async with connector(emulator) as conn:
        rows = await collect(conn)
        assert conn.throttle_waited > 0
    assert len(rows) == 60
    statuses = [r.status for r in insights_calls(emulator)]
    assert statuses[:2] == [400, 400] and statuses[-1] == 200


@pytest.mark.parametrize("code", [4, 17, 613, 80004])
async def test_every_throttle_code_is_waited_out(emulator: FacebookEmulator, code: int) -> None:
    """Each Graph throttle code is waited out without using the transient retry budget."""
    emulator.set_fault(ACC, "throttle", count=3, path="insights", code=code,
                       estimated_time_to_regain_access=0)
    async with connector(emulator, max_retries=0) as conn:
        rows = await collect(conn)
    assert len(rows) == 60


async def test_usage_header_pause_is_read_on_errors(emulator: FacebookEmulator) -> None:
    """estimated_time_to_regain_access on an error response sets the pause length."""
    emulator.set_fault(ACC, "throttle", count=1, path="insights",
                       estimated_time_to_regain_access=1)
    async with connector(emulator) as conn:
        await conn.get_account_info()
        conn.settings = conn.settings  # unchanged; the pause comes from the header
        with anyio.move_on_after(0.5):
            await collect(conn)
        # One minute announced in the header: the account is paused far past our test.
        assert conn.pacer.paused_until - anyio.current_time() > 50


async def test_pacing_slows_before_the_limit(emulator: FacebookEmulator) -> None:
    """Usage above pace_above_percent (but below 100) delays requests, without errors."""
    emulator.set_fault(ACC, "usage", pct=90)
    async with connector(emulator, pace_above_percent=75, max_pace_delay_seconds=0.2,
                         page_size=25) as conn:
        t0 = anyio.current_time()
        rows = await collect(conn)
        elapsed = anyio.current_time() - t0
        assert conn.pacer.usage == pytest.approx(90)
    assert len(rows) == 60
    assert elapsed > 0.2  # 3 pages: two waits of (90-75)/25 * 0.2 s = 0.12 s


async def test_transient_5xx_is_retried(emulator: FacebookEmulator) -> None:
    """Code 1 / HTTP 500 is retried with backoff and the pull completes."""
    emulator.set_fault(ACC, "server_error", count=3, path="insights")
    async with connector(emulator, breaker_fail_max=10) as conn:
        rows = await collect(conn)
    assert len(rows) == 60
    assert [r.status for r in insights_calls(emulator)][:3] == [500, 500, 500]


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_bad_json_is_retried(emulator: FacebookEmulator, kind: str) -> None:
    """A malformed or truncated 200 body counts as transient and is fetched again."""
    emulator.set_fault(ACC, kind, count=1, path="insights")
    async with connector(emulator) as conn:
        rows = await collect(conn)
    assert len(rows) == 60


async def test_slow_response_times_out_and_retries(emulator: FacebookEmulator) -> None:
    """A response slower than the timeout is abandoned and retried."""
    emulator.set_fault(ACC, "slow", count=1, path="insights", delay=2.0)
    async with connector(emulator, timeout_seconds=0.3) as conn:
        rows = await collect(conn)
    assert len(rows) == 60


async def test_spent_retries_open_the_circuit(emulator: FacebookEmulator) -> None:
    """Past max_retries the circuit opens (no loop); with no outage budget the pull ends."""
    emulator.set_fault(ACC, "server_error", path="insights")
    async with connector(emulator, max_retries=2, breaker_fail_max=10,
                         max_outage_seconds=0) as conn:
        with pytest.raises(CircuitOpenError, match="outage budget spent"):
            await collect(conn)
        assert conn.breaker.state == "open"
    assert len(insights_calls(emulator)) == 3


async def test_breaker_opens_and_fails_fast(emulator: FacebookEmulator) -> None:
    """After fail_max transient failures the breaker opens and stops calling the API."""
    emulator.set_fault(ACC, "server_error", path="insights")
    async with connector(emulator, max_retries=10, breaker_fail_max=3,
                         breaker_reset_seconds=60, max_outage_seconds=0) as conn:
        with pytest.raises(CircuitOpenError):
            await collect(conn)
        assert conn.breaker.state == "open"
    assert len(insights_calls(emulator)) == 3


async def test_expired_token_is_an_auth_error_without_retries(
    emulator: FacebookEmulator,
) -> None:
    """Code 190 raises AuthError after a single request: no retry storm."""
    emulator.set_fault(ACC, "expired_token")
    async with connector(emulator) as conn:
        with pytest.raises(AuthError, match="190"):
            await collect(conn)
    assert len(emulator.stats.recent) == 1


async def test_reduce_data_halves_the_page(emulator: FacebookEmulator) -> None:
    """'Please reduce the amount of data' halves the limit until the platform accepts it."""
    emulator.set_fault(ACC, "reduce_data", path="insights", max_limit=10)
    async with connector(emulator, page_size=40) as conn:
        rows = await collect(conn)
    limits = [int(r.query["limit"]) for r in insights_calls(emulator)]
    assert len(rows) == 60
    assert limits[:3] == [40, 20, 10]
    assert set(limits[3:]) == {10}


async def test_token_never_in_repr(emulator: FacebookEmulator) -> None:
    """The connector's repr and its errors never show the access token."""
    emulator.set_fault(ACC, "expired_token")
    async with connector(emulator) as conn:
        assert TOKEN not in repr(conn)
        with pytest.raises(AuthError) as info:
            await collect(conn)
    assert TOKEN not in str(info.value)


async def test_token_expiry_from_debug_token(emulator: FacebookEmulator) -> None:
    """The token inspects itself through /debug_token: expiry time, or 0 for never."""
    import time

    async with connector(emulator) as conn:
        expires = await conn.token_expiry()
        assert expires is not None
        assert abs(expires - (time.time() + 60 * 86400)) < 120
        emulator.token_expires_in = None
        assert await conn.token_expiry() == 0


async def test_token_travels_in_a_header_not_the_url(emulator: FacebookEmulator) -> None:
    """No request the connector sends (pages, jobs, account) carries access_token in its URL."""
    async with connector(emulator, page_size=7) as conn:
        await conn.get_account_info()
        await collect(conn)
        await collect(conn, use_async=True)
    seen = list(emulator.stats.recent)
    assert len(seen) > 10
    assert [r for r in seen if "access_token" in r.query] == []
    assert all(r.status == 200 for r in seen)
