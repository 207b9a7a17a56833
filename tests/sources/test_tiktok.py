"""The TikTok connector against its emulator over real sockets: paging, errors, parking."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from within_daemon.config import TikTokConfig
from within_daemon.errors import (
    AccountPausedError,
    AuthError,
    CircuitOpenError,
    PermanentSourceError,
    ReduceDataError,
    TransientError,
)
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.tiktok.server import TikTokEmulator
from within_daemon.schema import AD_DATA_SCHEMA, AccountInfo
from within_daemon.sources.tiktok.answers import Advertiser, Head
from within_daemon.sources.tiktok.connector import (
    ACCOUNT_REPORT,
    AD_REPORT,
    TikTokAdsConnector,
    _zone_name,
    day_chunks,
)
from within_daemon.sources.tiktok.errors import envelope_error
from within_daemon.transforms import DataNormalizer, DataValidator
from within_daemon.transforms.normalize.tiktok import ACCOUNT_METRICS_READ, AD_METRICS_READ

ADV = "7100000000000000001"
OTHER = "7100000000000000002"
RANGE = ("2024-03-01", "2024-03-05")
FAST: dict[str, Any] = {
    "throttle_pause_seconds": 0.02, "backoff_base_seconds": 0.01,
    "max_pace_delay_seconds": 0.02, "breaker_reset_seconds": 0.2, "timeout_seconds": 5.0,
}


@pytest.fixture
async def emu() -> AsyncIterator[TikTokEmulator]:
    e = TikTokEmulator()
    async with e.serve():
        yield e


def connector(emu: TikTokEmulator, adv: str = ADV, **cfg: Any) -> TikTokAdsConnector:
    settings = TikTokConfig(base_url=emu.base_url, **{**FAST, **cfg})
    return TikTokAdsConnector(adv, "tok-123", rate_limit=60000, config=settings,
                              metrics=Metrics())


async def ad_rows(conn: TikTokAdsConnector, rng: tuple[str, str] = RANGE) -> list[Any]:
    rows: list[Any] = []
    with anyio.fail_after(15):
        async for page in conn.iter_ad_rows(rng):
            rows.extend(page)
    return rows


def reports(emu: TikTokEmulator) -> list[Any]:
    return emu.stats.requests(kind="report")


async def test_paging_reaches_every_row(emu: TikTokEmulator) -> None:
    """Pages 1..total_page with page_size 7 returns exactly the expected rows, once each."""
    async with connector(emu, page_size=7) as conn:
        rows = await ad_rows(conn)
    keys = {(r["dimensions"]["ad_id"], r["dimensions"]["stat_time_day"]) for r in rows}
    assert len(rows) == len(keys) == emu.expected_rows(ADV, *RANGE) == 60
    assert [r.query["page"] for r in reports(emu)] == [str(p) for p in range(1, 10)]


async def test_requests_follow_the_api_contract(emu: TikTokEmulator) -> None:
    """Header token, trailing slash, JSON-array params, STATUS_ALL filter, <= 30 days each."""
    async with connector(emu) as conn:
        rows = await ad_rows(conn, ("2024-01-01", "2024-02-14"))
    assert len(rows) == emu.expected_rows(ADV, "2024-01-01", "2024-02-14")
    reqs = reports(emu)
    assert [(r.query["start_date"], r.query["end_date"]) for r in reqs] == [
        ("2024-01-01", "2024-01-30"), ("2024-01-31", "2024-02-14")]
    q = reqs[0].query
    assert reqs[0].path.endswith("/report/integrated/get/")
    assert json.loads(q["dimensions"]) == ["ad_id", "stat_time_day"]
    assert {"spend", "impressions", "clicks", "conversion", "campaign_id"} <= set(
        json.loads(q["metrics"]))
    assert q["report_type"] == "BASIC" and q["data_level"] == "AUCTION_AD"
    assert "STATUS_ALL" in q["filtering"] and "access_token" not in q
    assert day_chunks("2024-01-01", "2024-03-01", 30)[-1] == ("2024-03-01", "2024-03-01")


async def test_account_info_and_ads(emu: TikTokEmulator) -> None:
    """advertiser/info gives currency and zone; ad/get pages every ad with a string id."""
    emu.set_fault(None, "ids_as_numbers")
    async with connector(emu, OTHER, page_size=5) as conn:
        info = await conn.get_account_info()
        with anyio.fail_after(10):
            ads = [a async for page in conn.iter_ads() for a in page]
    assert info == AccountInfo(account_id=OTHER, name="Kraftwerk Kitchen (sandbox)",
                               currency="EUR", timezone="Europe/Berlin",
                               details={"status": "STATUS_ENABLE"})
    assert len(ads) == 18 and all(isinstance(a["id"], str) for a in ads)
    assert all(isinstance(a["campaign_id"], str) for a in ads)
    assert any(a["secondary_status"] == "AD_STATUS_DELETE" for a in ads)
    assert _zone_name(Advertiser(timezone="GMT+8?", display_timezone="Asia/Tokyo")) == \
        "Asia/Tokyo"


@pytest.mark.parametrize("code", [40100, 40133, 40016])
async def test_rate_limit_codes_wait_and_retry(emu: TikTokEmulator, code: int) -> None:
    """Rate-limit codes pause the account, then the same page succeeds."""
    emu.set_fault(ADV, "throttle", count=2, code=code)
    async with connector(emu) as conn:
        rows = await ad_rows(conn)
        assert conn.throttle_waited > 0 and conn.breaker.state == "closed"
    assert len(rows) == 60 and emu.codes[(ADV, code)] == 2


@pytest.mark.parametrize("code", [40102, 40105])
async def test_token_codes_are_auth_errors_without_retries(
    emu: TikTokEmulator, code: int
) -> None:
    """Token codes raise AuthError after one request (no retry storm)."""
    emu.set_fault(ADV, "auth_error", code=code)
    async with connector(emu) as conn:
        with pytest.raises(AuthError, match=str(code)):
            await conn.get_account_info()
    assert emu.stats.count(ADV) == 1


@pytest.mark.parametrize("code", [50000, 50002])
async def test_system_codes_retry(emu: TikTokEmulator, code: int) -> None:
    """System errors are retried with backoff and the pull completes."""
    emu.set_fault(ADV, "server_error", count=2, code=code)
    async with connector(emu) as conn:
        rows = await ad_rows(conn)
    assert len(rows) == 60 and len(reports(emu)) == 3


async def test_persistent_system_error_fails_the_window(emu: TikTokEmulator) -> None:
    """A system error that never clears opens the circuit; a zero outage budget ends it."""
    emu.set_fault(ADV, "server_error")
    async with connector(emu, max_retries=2, breaker_fail_max=10,
                         max_outage_seconds=0) as conn:
        with pytest.raises(CircuitOpenError, match="50000"):
            await ad_rows(conn)
    assert len(reports(emu)) == 3


async def test_gateway_and_body_faults_retry(emu: TikTokEmulator) -> None:
    """HTTP 503, malformed, truncated and too-slow answers are retried transparently."""
    emu.set_fault(ADV, "server_error", count=1, status=503)
    emu.set_fault(ADV, "malformed", count=1)
    emu.set_fault(ADV, "truncated", count=1)
    emu.set_fault(ADV, "slow", count=1, delay=1.0)
    async with connector(emu, timeout_seconds=0.3) as conn:
        rows = await ad_rows(conn)
        assert conn.requests_made == 5
    assert len(rows) == 60


async def test_query_too_large_splits_down_to_what_fits(emu: TikTokEmulator) -> None:
    """40067 halves the date range until each piece is accepted; rows stay exact."""
    emu.set_fault(ADV, "query_too_large", max_days=2)
    async with connector(emu) as conn:
        rows = await ad_rows(conn)
        assert conn.splits == 2  # 5 days -> 3 + 2 -> (2 + 1) + 2
    assert len(rows) == 60
    spans = [(r.query["start_date"][-2:], r.query["end_date"][-2:]) for r in reports(emu)]
    assert spans == [("01", "05"), ("01", "03"), ("01", "02"), ("03", "03"), ("04", "05")]


async def test_query_too_large_for_one_day_raises(emu: TikTokEmulator) -> None:
    """When even one day is too large, ReduceDataError reaches the caller."""
    emu.set_fault(ADV, "query_too_large", max_days=0)
    async with connector(emu) as conn:
        with pytest.raises(ReduceDataError, match="40067"):
            await ad_rows(conn, ("2024-03-01", "2024-03-02"))
        assert conn.splits == 1


async def test_query_too_large_after_rows_were_sent_raises(emu: TikTokEmulator) -> None:
    """40067 on a later page fails the window instead of sending rows twice."""
    async with connector(emu, page_size=10) as conn:
        pages = conn.iter_ad_rows(RANGE)
        with anyio.fail_after(10):
            first = await pages.__anext__()
            assert len(first) == 10
            emu.set_fault(ADV, "query_too_large", max_days=1)
            with pytest.raises(ReduceDataError):
                await pages.__anext__()
        assert conn.splits == 0


async def test_other_codes_are_permanent_with_request_id(emu: TikTokEmulator) -> None:
    """Any other code is PermanentSourceError naming the message and request_id, no retry."""
    emu.set_fault(ADV, "error_code", code=40002, message="metrics: Invalid metric.")
    async with connector(emu) as conn:
        with pytest.raises(PermanentSourceError, match=r"Invalid metric.*request_id \d{32}"):
            await ad_rows(conn)
    assert len(reports(emu)) == 1
    err = envelope_error(Head(code=40001, message="No permission"),
                         account_id=ADV, throttle_pause=1)
    assert isinstance(err, PermanentSourceError) and err.code == 40001


async def test_short_page_fails_instead_of_ending_early(emu: TikTokEmulator) -> None:
    """Fewer rows than total_number is a TransientError after the last page."""
    emu.set_fault(ADV, "drop_rows", count=1, n=3)
    async with connector(emu, page_size=25) as conn:
        with pytest.raises(TransientError, match="short read: 57 of 60"):
            await ad_rows(conn)


async def test_parked_account_beside_healthy_one(emu: TikTokEmulator) -> None:
    """A quota-exhausted advertiser parks; a token-broken one stops; a healthy one finishes."""
    emu.set_fault(ADV, "throttle", code=40133)
    results: dict[str, Any] = {}

    async def pull(conn: TikTokAdsConnector, key: str) -> None:
        try:
            results[key] = len(await ad_rows(conn))
        except (AccountPausedError, AuthError) as exc:
            results[key] = exc

    async with connector(emu, ADV, max_throttle_wait_seconds=0.1) as parked, \
            connector(emu, OTHER) as healthy:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pull, parked, "parked")
            tg.start_soon(pull, healthy, "healthy")
    assert isinstance(results["parked"], AccountPausedError)
    assert results["healthy"] == emu.expected_rows(OTHER, *RANGE)
    emu.clear_faults()
    emu.set_fault(ADV, "auth_error", code=40105)
    async with connector(emu, ADV) as broken, connector(emu, OTHER) as healthy:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pull, broken, "broken")
            tg.start_soon(pull, healthy, "healthy")
    assert isinstance(results["broken"], AuthError)
    assert results["healthy"] == emu.expected_rows(OTHER, *RANGE)


async def test_normalized_totals_are_exact_under_mixed_encodings(emu: TikTokEmulator) -> None:
    """Spend (to the cent), clicks and impressions sum to expected_totals, numbers or not."""
    emu.set_fault(ADV, "mixed_types")
    emu.set_fault(ADV, "ids_as_numbers", path="report")
    async with connector(emu, page_size=9) as conn:
        account = await conn.get_account_info()
        ads = {a["id"]: a async for page in conn.iter_ads() for a in page}
        rows = await ad_rows(conn)
    recs = DataNormalizer().normalize_ad_data(rows, "tiktok", ads=ads, account=account)
    good, bad = DataValidator().split(recs, AD_DATA_SCHEMA)
    assert bad == [] and len(good) == 60
    want = emu.expected_totals(ADV, *RANGE)
    assert round(sum(r["spend"] for r in good) * 100) == want["spend_cents"]
    assert sum(r["clicks"] for r in good) == want["clicks"]
    assert sum(r["impressions"] for r in good) == want["impressions"]
    assert all(r["headline"] and r["cta"] and isinstance(r["ad_id"], str) for r in good)


async def test_null_metrics_keep_or_quarantine(emu: TikTokEmulator) -> None:
    """A null conversion loads as None; a null spend is quarantined, never read as 0."""
    emu.set_fault(ADV, "null_metrics", count=1, fields="conversion", every=1)
    emu.set_fault(ADV, "null_metrics", count=1, fields="spend", every=10)
    async with connector(emu, page_size=30) as conn:
        rows = await ad_rows(conn)
    recs = DataNormalizer().normalize_ad_data(rows, "tiktok", account={"account_id": ADV})
    good, bad = DataValidator().split(recs, AD_DATA_SCHEMA)
    assert [r["conversions"] for r in recs[:30]] == [None] * 30
    assert len(good) == 57 and len(bad) == 3  # rows 30, 40 and 50, on page two
    assert all(e["field"] == "spend" for _, errs in bad for e in errs)


async def test_active_counts_and_account_rows(emu: TikTokEmulator) -> None:
    """active_counts matches the oracle; account rows are one per day with the day totals."""
    async with connector(emu) as conn:
        counts = await conn.active_counts(RANGE)
        with anyio.fail_after(10):
            days = [r async for page in conn.iter_account_rows(RANGE) for r in page]
    assert counts == emu.expected_counts(ADV, *RANGE)
    assert len(days) == 5
    assert sum(int(d["metrics"]["clicks"]) for d in days) == emu.expected_totals(
        ADV, *RANGE)["clicks"]
    level = {r.query["data_level"] for r in reports(emu)}
    assert level == {"AUCTION_AD", "AUCTION_ADVERTISER"}


def test_requested_metrics_cover_what_the_normalizer_reads() -> None:
    """Every metric the normalizers read is one the connector asks TikTok for."""
    assert set(AD_METRICS_READ) <= set(AD_REPORT.metrics)
    assert set(ACCOUNT_METRICS_READ) <= set(ACCOUNT_REPORT.metrics)


async def test_today_follows_daylight_saving(emu: TikTokEmulator) -> None:
    """The account's zone is the IANA display_timezone, so "today" moves with summer time."""
    from datetime import UTC, datetime

    from within_daemon.pipelines.source_actor import account_today
    from within_daemon.sandbox.tiktok.server import gmt_offset_name

    assert gmt_offset_name("America/Los_Angeles") == "Etc/GMT+8"
    assert gmt_offset_name("Europe/Berlin") == "Etc/GMT-1"
    async with connector(emu, ADV) as conn:
        info = await conn.get_account_info()
    assert info.timezone == "America/Los_Angeles"
    # 07:30 UTC: 23:30 of the day before in winter (UTC-8), 00:30 of the day in summer (UTC-7).
    winter = datetime(2026, 1, 15, 7, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    assert account_today(info, now=winter) == "2026-01-14"
    assert account_today(info, now=summer) == "2026-07-01"
    # Across the March change: the same UTC hour is the day before, then the same day.
    assert account_today(info, now=datetime(2026, 3, 7, 7, 30, tzinfo=UTC)) == "2026-03-06"
    assert account_today(info, now=datetime(2026, 3, 9, 7, 30, tzinfo=UTC)) == "2026-03-09"
