"""The Amazon Ads connector against the emulator over real sockets: reports, errors, OAuth."""

from __future__ import annotations

import datetime as dt
import gzip
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import msgspec
import pytest

from within_daemon.config import AmazonConfig, Secret
from within_daemon.errors import (
    AccountPausedError,
    AuthError,
    CircuitOpenError,
    PermanentSourceError,
    ReportStalledError,
    SourceError,
    ThrottledError,
    TransientError,
)
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.amazon.data import AmazonProfile
from within_daemon.sandbox.amazon.server import AmazonEmulator
from within_daemon.schema import AD_DATA_SCHEMA, AccountInfo
from within_daemon.sources.amazon.connector import POLL_AUTH_RETRIES, AmazonAdsConnector
from within_daemon.sources.amazon.errors import (
    classify_error,
    duplicate_report_id,
    retry_after_seconds,
)
from within_daemon.sources.amazon.reports import (
    JsonArrayStream,
    ReportStream,
    chunks,
    daily_totals,
    report_body,
)
from within_daemon.transforms import DataNormalizer, DataValidator

from ..fakes.clock import FakeClock, use_clock

US, CA = "3000000001", "3000000002"
FAST: dict[str, Any] = {
    "poll_interval_seconds": 0.01, "backoff_base_seconds": 0.01, "throttle_pause_seconds": 0.01,
    "breaker_reset_seconds": 0.2, "max_retries": 2, "stall_seconds": 5.0,
    # Sponsored Products report mechanics; SB/SD: tests/integration/test_amazon_windows.py
    "ad_products": ("sp",),
}


def days_ago(n: int) -> str:
    today = dt.datetime.now(ZoneInfo("America/Los_Angeles")).date()
    return (today - dt.timedelta(days=n)).isoformat()


RANGE = (days_ago(7), days_ago(1))


@pytest.fixture
async def emu() -> AsyncIterator[AmazonEmulator]:
    emulator = AmazonEmulator()
    async with emulator.serve():
        yield emulator


def connector(emu: AmazonEmulator, account: str = US, refresh: str = "Atzr|good",
              **cfg: Any) -> AmazonAdsConnector:
    settings = AmazonConfig(base_url=emu.base_url, token_url=emu.token_url, **{**FAST, **cfg})
    return AmazonAdsConnector(
        account, client_id=Secret(emu.client_id, "test"),
        client_secret=Secret(emu.client_secret, "test"), refresh_token=Secret(refresh, "test"),
        rate_limit=60000, config=settings, metrics=Metrics(),
    )


async def ad_rows(conn: AmazonAdsConnector, rng: tuple[str, str] = RANGE) -> list[Any]:
    rows: list[Any] = []
    with anyio.fail_after(15):
        async for page in conn.iter_ad_rows(rng):
            rows.extend(page)
    return rows


def creates(emu: AmazonEmulator) -> list[Any]:
    return [r for r in emu.stats.recent if r.kind == "create" and r.status in (200, 202)]


# -- account, requests, pagination ---------------------------------------------------------


async def test_account_info_picks_the_profile(emu: AmazonEmulator) -> None:
    """get_account_info finds the profile by id and returns its currency and time zone."""
    async with connector(emu, CA, attribution_window="14d") as conn:
        with anyio.fail_after(5):
            info = await conn.get_account_info()
    assert info == AccountInfo(
        account_id=CA, name="Acme Outdoor CA (sandbox)", currency="CAD",
        timezone="America/Toronto", attribution_window="14d",
        details={"country_code": "CA", "marketplace_id": "A2EUQ1WTGCTBG2",
                 "account_type": "seller"})
    async with connector(emu, "3999999999") as conn:
        with anyio.fail_after(5), pytest.raises(PermanentSourceError, match="not among the 3"):
            await conn.get_account_info()


async def test_ad_rows_are_complete_and_request_is_documented(emu: AmazonEmulator) -> None:
    """Ad rows equal the oracle; the create carries scope, v3 content type and window columns."""
    async with connector(emu, attribution_window="30d") as conn:
        rows = await ad_rows(conn)
    assert len(rows) == emu.expected_rows(US, *RANGE) > 0
    assert len({(r["adId"], r["date"]) for r in rows}) == len(rows)
    [rep] = emu.reports.values()
    cfg = rep.body["configuration"]
    assert (cfg["reportTypeId"], cfg["timeUnit"], cfg["groupBy"]) == (
        "spAdvertisedProduct", "DAILY", ["advertiser"])
    assert {"date", "adId", "cost", "purchases30d", "sales30d", "unitsSoldClicks30d"} <= set(
        cfg["columns"])
    assert (rep.body["startDate"], rep.body["endDate"]) == RANGE
    assert emu.stats.count(US, "download", 200) == 1  # S3 refuses auth headers with 400


async def test_long_range_is_split_into_31_day_reports(emu: AmazonEmulator) -> None:
    """A 40-day range becomes a 31-day and a 9-day report, and no row is lost."""
    rng = (days_ago(40), days_ago(1))
    async with connector(emu) as conn:
        rows = await ad_rows(conn, rng)
    spans = sorted((r.body["startDate"], r.body["endDate"]) for r in emu.reports.values())
    assert spans == [(days_ago(40), days_ago(10)), (days_ago(9), days_ago(1))]
    assert len(rows) == emu.expected_rows(US, *rng)
    assert chunks("2024-01-01", "2024-03-01") == [
        ("2024-01-01", "2024-01-31"), ("2024-02-01", "2024-03-01")]


async def test_create_answered_202_is_accepted() -> None:
    """The connector accepts 202 on report creation as well as 200."""
    emulator = AmazonEmulator(create_status=202)
    async with emulator.serve(), connector(emulator) as conn:
        rows = await ad_rows(conn)
    assert len(rows) == emulator.expected_rows(US, *RANGE)
    assert emulator.stats.count(US, "create", 202) == 1


async def test_download_resumes_without_repeating_rows(emu: AmazonEmulator) -> None:
    """A download cut after some pages were sent is fetched again, skipping the sent rows."""
    emu.set_fault(US, "truncated", count=1)
    async with connector(emu) as conn:
        conn.page_rows = 5
        rows = await ad_rows(conn)
    # Half a gzip still unpacks to whole pages, so the break comes after rows were sent.
    assert len(rows) == len({(r["adId"], r["date"]) for r in rows}) == emu.expected_rows(
        US, *RANGE)
    assert emu.stats.count(US, "download") == 2
    assert emu.stats.count(US, "status") >= 3  # a fresh URL was asked for


async def test_expired_url_and_slow_download_are_retried(emu: AmazonEmulator) -> None:
    """A 403 expired URL and a socket read timeout each get a fresh URL and a retry."""
    emu.set_fault(US, "url_expired", count=1)
    slow = emu.set_fault(US, "slow", count=1, path="download", delay=0.5)
    async with connector(emu, timeout_seconds=0.25) as conn:
        rows = await ad_rows(conn)
    assert len(rows) == emu.expected_rows(US, *RANGE)
    assert emu.stats.count(US, "download", 403) == 1 and slow.hits == 1
    assert emu.stats.count(US, "download", 200) == 1


# -- reports: duplicates, failures, stalls, hostile files ----------------------------------


async def test_425_duplicate_reuses_the_in_flight_report(emu: AmazonEmulator) -> None:
    """A 425 naming an in-flight report makes the connector poll that report instead."""
    body = report_body("ad", *RANGE, "7d")
    async with connector(emu) as conn:
        with anyio.fail_after(5):
            first = await conn.create_report(body)
            again = await conn.create_report(body)
        emu.set_fault(US, "duplicate", count=1)
        rows = await ad_rows(conn, (days_ago(3), days_ago(1)))
    assert first == again and emu.stats.count(US, "create", 425) == 2
    assert len(rows) == emu.expected_rows(US, days_ago(3), days_ago(1))


async def test_425_without_an_id_is_transient(emu: AmazonEmulator) -> None:
    """A 425 without a report id is retried with backoff, then opens the circuit."""
    emu.set_fault(US, "duplicate", with_id=False)
    async with connector(emu, max_retries=1, max_outage_seconds=0) as conn:
        with pytest.raises(CircuitOpenError, match="Too early"):
            await ad_rows(conn)
    assert emu.stats.count(US, "create", 425) == 2


@pytest.mark.parametrize("word", ["FAILED", "FAILURE"])
async def test_failed_report_is_recreated_once(emu: AmazonEmulator, word: str) -> None:
    """FAILED and FAILURE both count as failure: one re-creation, then a TransientError."""
    emu.set_fault(US, "report_failed", count=1, status=word)
    async with connector(emu) as conn:
        assert len(await ad_rows(conn)) == emu.expected_rows(US, *RANGE)
        emu.set_fault(US, "report_failed", status=word, reason="internal")
        with pytest.raises(TransientError, match=f"{word}: internal"):
            await ad_rows(conn)
    assert len(creates(emu)) == 4


async def test_stall_is_detected_by_status_and_updated_at(emu: AmazonEmulator) -> None:
    """A report whose status and updatedAt stop moving fails as stalled after stall_seconds."""
    emu.set_fault(US, "report_stall")
    async with connector(emu, stall_seconds=0.3) as conn:
        t0 = time.monotonic()
        with pytest.raises(ReportStalledError, match="stuck in PROCESSING"):
            await ad_rows(conn)
    assert 0.3 <= time.monotonic() - t0 < 5


async def test_slow_report_that_moves_is_not_stalled() -> None:
    """A report processing for many polls, its updatedAt moving, outlasts stall_seconds."""
    emulator = AmazonEmulator(processing_polls=6)
    async with emulator.serve(), connector(emulator, stall_seconds=0.15,
                                           poll_interval_seconds=0.02) as conn:
        t0 = time.monotonic()
        rows = await ad_rows(conn)
    assert len(rows) == emulator.expected_rows(US, *RANGE) and time.monotonic() - t0 > 0.15


async def test_gzip_bomb_is_refused_naming_the_cap(emu: AmazonEmulator) -> None:
    """A small gzip that unpacks past max_report_bytes is refused, naming the cap."""
    emu.set_fault(US, "gzip_bomb", expand_bytes=8 << 20)
    async with connector(emu, max_report_bytes=200_000) as conn:
        with pytest.raises(PermanentSourceError, match="max_report_bytes=200000"):
            await ad_rows(conn)
    assert emu.stats.count(US, "download") == 1  # permanent: not downloaded again


def test_report_stream_caps_each_step_and_reads_multi_member_gzip() -> None:
    """Unpacking stops within 1 MiB past the cap; concatenated gzip members are one file."""
    bomb = zlib.compress(b"[" + b" " * (8 << 20), 9)
    stream = ReportStream(1000, account_id=US, report_id="r")
    with pytest.raises(PermanentSourceError, match="gzip bomb"):
        stream.feed(bomb)
    assert stream.unpacked <= 1000 + (1 << 20)
    two = gzip.compress(b'[{"a": 1},') + gzip.compress(b' {"a": 2}]')
    stream = ReportStream(1000, account_id=US, report_id="r")
    assert [r["a"] for i in range(0, len(two), 7) for r in stream.feed(two[i:i + 7])] == [1, 2]
    stream.close()


async def test_truncated_gzip_fails_after_retries(emu: AmazonEmulator) -> None:
    """A download that is always truncated ends as a TransientError naming the truncation."""
    emu.set_fault(US, "truncated")
    async with connector(emu, max_retries=1) as conn:
        with pytest.raises(TransientError, match="truncated gzip"):
            await ad_rows(conn)
    assert emu.stats.count(US, "download") == 2


def test_json_array_stream_cuts_anywhere() -> None:
    """Rows decode the same whatever the chunking, with braces inside strings and nesting."""
    rows = [{"n": "a}b", "x": {"y": [1, "}"]}}, {"n": 'q"}', "x": None}, {"n": "", "x": 3}]
    raw = b" \n" + msgspec.json.encode(rows).replace(b",{", b" ,\n {") + b"\n"
    for size in (1, 2, 3, 5, 64):
        stream = JsonArrayStream()
        got = [r for i in range(0, len(raw), size) for r in stream.feed(raw[i:i + size])]
        stream.close()
        assert got == rows
    empty = JsonArrayStream()
    assert empty.feed(b"[ ]") == []
    empty.close()
    with pytest.raises(ValueError, match="not a JSON array"):
        JsonArrayStream().feed(b'{"code": "x"}')
    half = JsonArrayStream()
    half.feed(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a complete JSON array"):
        half.close()


# -- API errors, OAuth, throttling, parking ------------------------------------------------


async def test_401_refreshes_once_then_succeeds(emu: AmazonEmulator) -> None:
    """An expired access token costs one refresh and one repeat, not an auth failure."""
    emu.set_fault(None, "expired_token", count=1, path="profiles")
    async with connector(emu) as conn:
        with anyio.fail_after(5):
            assert (await conn.get_account_info()).currency == "USD"
    assert emu.stats.count(kind="token", status=200) == 2
    assert emu.stats.count(kind="profiles", status=401) == 1


async def test_401_after_refresh_is_auth_error(emu: AmazonEmulator) -> None:
    """A second 401 right after a refresh is an AuthError, without a retry storm."""
    emu.set_fault(US, "expired_token", path="create")
    async with connector(emu) as conn:
        with anyio.fail_after(5), pytest.raises(AuthError, match="HTTP 401"):
            await ad_rows(conn)
    assert emu.stats.count(US, "create", 401) == 2
    assert emu.stats.count(kind="token", status=200) == 2


async def test_transient_401_on_status_polls_is_retried(emu: AmazonEmulator) -> None:
    """Status polls answering 401 even after a refresh are polled again; the pull completes."""
    emu.set_fault(US, "poll_unauthorized", count=4)
    async with connector(emu) as conn:
        rows = await ad_rows(conn)
    assert len(rows) == emu.expected_rows(US, *RANGE)
    assert emu.stats.count(US, "status", 401) == 4
    assert emu.stats.count(kind="token", status=200) >= 3  # each poll 401 refreshes first


async def test_401_on_every_status_poll_stops_the_account(emu: AmazonEmulator) -> None:
    """A poll 401 that never clears is an AuthError after the bounded retries."""
    emu.set_fault(US, "poll_unauthorized")
    async with connector(emu) as conn:
        with anyio.fail_after(10), pytest.raises(AuthError, match="HTTP 401"):
            await ad_rows(conn)
    # One poll with its refreshed repeat, then POLL_AUTH_RETRIES more of them.
    assert emu.stats.count(US, "status", 401) == 2 * (1 + POLL_AUTH_RETRIES)
    assert emu.stats.count(US, "create", 401) == 0


async def test_refused_refresh_token_is_auth_error(emu: AmazonEmulator) -> None:
    """invalid_grant on refresh is an AuthError naming the refusal."""
    emu.revoke("Atzr|revoked")
    async with connector(emu, refresh="Atzr|revoked") as conn:
        with anyio.fail_after(5), pytest.raises(AuthError, match="invalid_grant"):
            await conn.get_account_info()


async def test_429_waits_retry_after_then_succeeds(emu: AmazonEmulator) -> None:
    """429 with Retry-After: 1 pauses the account at least a second, then the call goes on."""
    emu.set_fault(US, "throttle", count=1, path="create", retry_after=1)
    async with connector(emu) as conn:
        rows = await ad_rows(conn)
    calls = [r for r in emu.stats.recent if r.kind == "create"]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.95
    assert len(rows) == emu.expected_rows(US, *RANGE)


async def test_5xx_is_retried_and_400_is_not(emu: AmazonEmulator) -> None:
    """5xx on polling is retried with backoff; a 400 fails at once as permanent."""
    emu.set_fault(US, "server_error", count=2, path="status", status=503)
    with use_clock(FakeClock()) as clock:  # the connector's waits and breaker on fake time
        conn = connector(emu, max_outage_seconds=0)
    async with conn:
        assert len(await ad_rows(conn)) == emu.expected_rows(US, *RANGE)
        emu.set_fault(US, "server_error", path="status", status=500)
        with pytest.raises(CircuitOpenError, match="HTTP 500"):
            await ad_rows(conn, (days_ago(3), days_ago(1)))
        emu.clear_faults()
        await clock.advance(0.25)  # the circuit's probe is due (breaker_reset_seconds 0.2)
        emu.set_fault(US, "bad_request", path="create", detail="Invalid columns")
        with pytest.raises(PermanentSourceError, match="400: 400: Invalid columns"):
            await ad_rows(conn, (days_ago(4), days_ago(1)))
    assert emu.stats.count(US, "create", 400) == 1


async def test_parked_accounts_beside_a_healthy_one(emu: AmazonEmulator) -> None:
    """A quota-exhausted and a token-broken profile stop alone; the healthy one loads all."""
    emu.set_fault(CA, "throttle", retry_after=30)
    emu.revoke("Atzr|broken")
    results: dict[str, Any] = {}

    async def pull(name: str, conn: AmazonAdsConnector) -> None:
        async with conn:
            try:
                results[name] = len(await ad_rows(conn))
            except SourceError as exc:
                results[name] = exc

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(pull, "healthy", connector(emu, US))
            tg.start_soon(pull, "quota", connector(emu, CA, max_throttle_wait_seconds=0.5))
            tg.start_soon(pull, "token", connector(emu, "3000000003", refresh="Atzr|broken"))
    assert results["healthy"] == emu.expected_rows(US, *RANGE)
    assert isinstance(results["quota"], AccountPausedError)
    assert isinstance(results["token"], AuthError)
    assert emu.stats.count(CA, "create", 429) == 1


def test_error_classification_and_parsers() -> None:
    """Status -> class mapping, Retry-After as seconds or date, and the 425 id parser."""
    def cls(status: int, body: bytes = b'{"code": "x", "details": "d"}') -> str:
        return type(classify_error(status, body, account_id=US, endpoint="e",
                                   retry_after=5)).__name__
    assert [cls(s) for s in (400, 401, 403, 404, 425, 429, 500, 502)] == [
        "PermanentSourceError", "AuthError", "AuthError", "PermanentSourceError",
        "TransientError", "ThrottledError", "TransientError", "TransientError"]
    err = classify_error(429, b'{"message": "Too many requests"}', account_id=US, endpoint="e")
    assert isinstance(err, ThrottledError) and err.retry_after == 60.0
    assert "Too many requests" in str(err)
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds(None) is None
    assert 100 < (retry_after_seconds(time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))) or 0) <= 120
    uuid = "0a1b2c3d-1111-2222-3333-444455556666"
    assert duplicate_report_id(msgspec.json.encode(
        {"code": "425", "detail": f"The Request is a duplicate of : {uuid}"})) == uuid
    assert duplicate_report_id(b'{"code": "425", "detail": "Too early"}') is None


# -- exact totals and account rows ---------------------------------------------------------


async def test_normalized_totals_match_the_emulator_exactly(emu: AmazonEmulator) -> None:
    """Normalized ad records sum to the oracle's spend (to the cent), clicks and impressions."""
    async with connector(emu, attribution_window="14d") as conn:
        with anyio.fail_after(10):
            account = await conn.get_account_info()
            pages = [p async for p in conn.iter_ad_rows(RANGE)]
    recs = [r for p in pages for r in DataNormalizer().normalize_ad_data(
        p, "amazon", account=account)]
    want = emu.expected_totals(US, *RANGE, window="14d")
    assert DataValidator().validate(recs, AD_DATA_SCHEMA)["valid"]
    assert round(sum(r["spend"] for r in recs), 2) == want["spend"]
    assert sum(r["clicks"] for r in recs) == want["clicks"]
    assert sum(r["impressions"] for r in recs) == want["impressions"]
    assert sum(r["conversions"] for r in recs) == want["purchases"]
    assert round(sum(r["revenue"] for r in recs), 2) == want["sales"]


async def test_account_rows_and_counts(emu: AmazonEmulator) -> None:
    """active_counts and iter_account_rows give one row per day whose sums match the ads."""
    async with connector(emu) as conn:
        with anyio.fail_after(10):
            account = await conn.get_account_info()
            counts = await conn.active_counts(RANGE)
            pages = [p async for p in conn.iter_account_rows(RANGE)]
    assert len(creates(emu)) == 2  # the campaign report ran beside the counts report
    [days] = pages
    recs = DataNormalizer().normalize_account_data(days, "amazon", account=account,
                                                   counts=counts)
    want = emu.expected_totals(US, *RANGE)
    assert [r["date"] for r in recs] == sorted(counts) and len(recs) == 7
    assert round(sum(r["daily_spend"] for r in recs), 2) == want["spend"]
    assert sum(r["daily_impressions"] for r in recs) == want["impressions"]
    assert all((r["campaign_count"], r["ad_count"]) == counts[r["date"]] for r in recs)
    assert all(1 <= r["campaign_count"] <= 3 and 1 <= r["ad_count"] <= 12 for r in recs)
    assert daily_totals([{"date": "d", "cost": "x", "clicks": 1}], "7d")[0]["cost"] == "x"


async def test_sb_ads_list_refused_leaves_headlines_out_not_the_rows(emu: AmazonEmulator) -> None:
    """A refused /sb/v4/ads/list (no SB access) yields no creatives; ad rows still come."""
    emu.set_fault(US, "bad_request", path="sb_ads")
    async with connector(emu, ad_products=("sp", "sb", "sd")) as conn:
        with anyio.fail_after(10):
            ads = [p async for p in conn.iter_ads()]
            rows = await ad_rows(conn)
    assert ads == []
    assert len(rows) == emu.expected_rows(US, *RANGE, "all_ads")


async def test_sb_ads_list_pages_with_next_token() -> None:
    """iter_ads follows nextToken (120 SB ads, 100 a page), keying each ad by its adId."""
    many = AmazonEmulator(profiles=[AmazonProfile(US, "Many brands (sandbox)",
                                                  sb_campaigns=60)])
    async with many.serve(), connector(many, ad_products=("sp", "sb")) as conn:
        with anyio.fail_after(10):
            ads = [a async for p in conn.iter_ads() for a in p]
    want = [str(a.id) for a in many.data(US).other_ads["sb"]]
    assert len(want) == 120
    assert [a["id"] for a in ads] == want and all(a["creative"]["headline"] for a in ads)
