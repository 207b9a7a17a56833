"""The transport faults every emulator shares: error pages, broken bodies, latency, rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import anyio
import pytest

from within_daemon.sandbox.faults import request_account
from within_daemon.sandbox.tiktok.server import TikTokEmulator

ADV, OTHER = "7100000000000000001", "7100000000000000002"


@pytest.fixture
async def emu() -> AsyncIterator[TikTokEmulator]:
    e = TikTokEmulator()
    async with e.serve():
        yield e


async def get(emu: TikTokEmulator, adv: str = ADV, timeout: float = 5.0
              ) -> tuple[int, dict[str, str], bytes]:
    url = f"{emu.base_url}/advertiser/info/"
    async with aiohttp.ClientSession() as s, s.get(
        url, params={"advertiser_ids": f'["{adv}"]', "advertiser_id": adv},
        headers={"Access-Token": "t"}, timeout=aiohttp.ClientTimeout(total=timeout),
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_error_pages_come_instead_of_the_api_answer(emu: TikTokEmulator) -> None:
    """html_error serves a load balancer's 502 page; http_error a 5xx/429 with Retry-After."""
    emu.faults.add("html_error", None, count=1)
    status, headers, body = await get(emu)
    assert status == 502 and headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in body
    emu.faults.add("http_error", ADV, count=1, status=429, retry_after=7)
    status, headers, _ = await get(emu)
    assert status == 429 and headers["Retry-After"] == "7"
    status, _, body = await get(emu)
    assert status == 200 and body.startswith(b"{")


async def test_body_faults_break_the_answer(emu: TikTokEmulator) -> None:
    """truncated_json halves a 200 body; cut_body drops the connection mid-body."""
    _, _, whole = await get(emu)
    emu.faults.add("truncated_json", None, count=1)
    status, _, half = await get(emu)
    assert status == 200 and len(half) == len(whole) // 2
    emu.faults.add("cut_body", None, count=1)
    with pytest.raises(aiohttp.ClientPayloadError):
        await get(emu)
    assert not list(emu.faults)


async def test_slow_body_outlasts_a_short_timeout(emu: TikTokEmulator) -> None:
    """slow_body sends half the body, then waits ``delay``: a shorter timeout fires."""
    emu.faults.add("slow_body", None, count=1, delay=2.0)
    with anyio.fail_after(5), pytest.raises(TimeoutError):
        await get(emu, timeout=0.3)


async def test_rate_limit_is_per_account_and_latency_delays(emu: TikTokEmulator) -> None:
    """Past its own limit (burst 2) an account gets 429s; another account is unaffected."""
    emu.faults.add("rate_limit", None, limits={ADV: 60}, burst=2)
    emu.faults.add("latency", None, delay=0.05)
    statuses = [(await get(emu))[0] for _ in range(4)]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    assert [(await get(emu, OTHER))[0] for _ in range(4)] == [200] * 4
    assert emu.stats.count(ADV, "rate_limited", 429) == statuses.count(429)
    # The never-used-up faults stay listed, without their internal state.
    assert {f["kind"] for f in (f.to_dict() for f in emu.faults)} == {"rate_limit", "latency"}
    assert all("_buckets" not in f.to_dict() for f in emu.faults)
    t0 = anyio.current_time()
    await get(emu, OTHER)
    assert anyio.current_time() - t0 >= 0.05  # a lower bound: the latency was served


def test_request_account_reads_path_query_and_scope_header() -> None:
    """The account is found in act_/customers paths, advertiser_id, or Amazon's scope."""
    from aiohttp.test_utils import make_mocked_request

    assert request_account(make_mocked_request("GET", "/v21.0/act_123/insights")) == "123"
    assert request_account(make_mocked_request(
        "POST", "/v20/customers/5550000001/googleAds:searchStream")) == "5550000001"
    assert request_account(make_mocked_request("GET", "/x/?advertiser_id=71")) == "71"
    assert request_account(make_mocked_request(
        "GET", "/reporting/reports", headers={"Amazon-Advertising-API-Scope": "300"})) == "300"
    assert request_account(make_mocked_request("GET", "/token")) is None
