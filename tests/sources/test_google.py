"""The Google Ads connector against its emulator over real sockets, and its error classifier."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import msgspec
import pytest

from within_daemon.errors import (
    AccountPausedError,
    AuthError,
    CircuitOpenError,
    PermanentSourceError,
    ThrottledError,
    TransientError,
)
from within_daemon.observability.metrics import Metrics
from within_daemon.platform_config import GoogleConfig
from within_daemon.sandbox.google.data import SandboxCustomer
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.schema import AccountInfo, is_ad_level
from within_daemon.sources.google.connector import DEVELOPER_PAUSES, GoogleAdsConnector
from within_daemon.sources.google.errors import DAILY_QUOTA_FALLBACK_SECONDS, classify_error
from within_daemon.transforms.normalize.normalizer import DataNormalizer

DIRECT, MANAGED, MANAGER = "5550000001", "5550000002", "5559999999"
DEV = "sandbox-developer-token"
RANGE = ("2024-03-01", "2024-03-05")
FAST: dict[str, Any] = {"throttle_pause_seconds": 0.05, "backoff_base_seconds": 0.01,
                        "max_pace_delay_seconds": 0.05, "breaker_reset_seconds": 0.2}


def connector(emu: GoogleAdsEmulator, account: str = DIRECT, *, refresh: str = "rt-a",
              metrics: Metrics | None = None, **cfg: Any) -> GoogleAdsConnector:
    config = GoogleConfig(base_url=emu.base_url, token_url=emu.token_url, **{**FAST, **cfg})
    return GoogleAdsConnector(
        account, refresh_token=refresh, client_id="sandbox-client-id",
        client_secret="sandbox-client-secret", developer_token=DEV,
        login_customer_id=MANAGER if account == MANAGED else None, rate_limit=60000,
        config=config, metrics=metrics or Metrics())


async def rows_of(conn: GoogleAdsConnector, rng: tuple[str, str] = RANGE,
                  pages: list[int] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with anyio.fail_after(15):
        async for page in conn.iter_ad_rows(rng):
            if pages is not None:
                pages.append(len(page))
            out.extend(page)
    return out


def key(row: dict[str, Any]) -> tuple[Any, ...]:
    """The natural key of a raw ad-day row (or of a PMax campaign-day row)."""
    ad = row.get("adGroupAd", {}).get("ad", {}).get("id")
    return (row["segments"]["date"], ad or row["campaign"]["id"])


def api_calls(emu: GoogleAdsEmulator, account: str = DIRECT) -> list[Any]:
    return [r for r in emu.stats.recent if r.account_id == account and r.kind != "token"]


@pytest.fixture(autouse=True)
def _no_shared_pause() -> Iterator[None]:
    # A developer-token pause is process-wide by design; an emulator port reused by a later
    # test must not inherit it.
    yield
    DEVELOPER_PAUSES.clear()


@pytest.fixture
async def gemu() -> AsyncIterator[GoogleAdsEmulator]:
    emu = GoogleAdsEmulator(stream_batch_size=10, search_page_size=7)
    async with emu.serve():
        yield emu


# -- paging -------------------------------------------------------------------------------


async def test_stream_batches_reach_every_row(gemu: GoogleAdsEmulator) -> None:
    """One searchStream request; each batch is a page and together they hold every row."""
    pages: list[int] = []
    async with connector(gemu) as conn:
        rows = await rows_of(conn, pages=pages)
    want = gemu.expected_totals(DIRECT, *RANGE)
    ads, pmax = want["ad_rows"], want["pmax_rows"]
    assert len(rows) == want["rows"] == ads + pmax and ads > 30 and pmax > 0

    def split(n: int) -> list[int]:
        return [10] * (n // 10) + ([n % 10] if n % 10 else [])

    # The ad query's batches, then the Performance Max campaign query's.
    assert pages == split(ads) + split(pmax)
    assert [(r.kind, r.path.rsplit(":", 1)[1]) for r in api_calls(gemu)] == [
        ("ad_group_ad", "searchStream"), ("campaign", "searchStream")]


async def test_search_follows_next_page_token(gemu: GoogleAdsEmulator) -> None:
    """With use_search_stream off, :search pages are followed until nextPageToken is absent."""
    async with connector(gemu, use_search_stream=False) as conn:
        rows = await rows_of(conn)
    calls = api_calls(gemu)
    want = gemu.expected_totals(DIRECT, *RANGE)
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE) == want["rows"]
    assert len(calls) == -(-want["ad_rows"] // 7) + -(-want["pmax_rows"] // 7)
    for kind in ("ad_group_ad", "campaign"):  # each query's first page has no token
        mine = [c for c in calls if c.kind == kind]
        assert "pageToken" not in mine[0].query
        assert all("pageToken" in c.query for c in mine[1:])
    assert all("pageSize" not in c.query for c in calls)


@pytest.mark.parametrize("style", ["omit", "empty_list", "no_batches"])
@pytest.mark.parametrize("stream", [True, False])
async def test_empty_window_yields_nothing(gemu: GoogleAdsEmulator, style: str,
                                           stream: bool) -> None:
    """A window without activity ends cleanly whether results is omitted, [] or absent."""
    gemu.empty_stream = style  # type: ignore[assignment]
    async with connector(gemu, use_search_stream=stream) as conn:
        rows = await rows_of(conn, ("2019-01-01", "2019-01-03"))
    assert rows == []


async def test_account_info_and_manager_headers(gemu: GoogleAdsEmulator) -> None:
    """A managed customer is reached with login-customer-id; currency and zone come back."""
    async with connector(gemu, MANAGED) as conn:
        with anyio.fail_after(10):
            info = await conn.get_account_info()
    assert info == AccountInfo(account_id=MANAGED, name="Harbor Roasters (sandbox)",
                               currency="EUR", timezone="Europe/Berlin",
                               # the primary action's click window (a secondary 90-day one
                               # is ignored)
                               attribution_window="30d_click",
                               details={"conversion_window_days": 30})
    calls = api_calls(gemu, MANAGED)
    assert len(calls) == 2  # the customer row and its conversion windows
    for call in calls:
        assert call.query["login-customer-id"] == MANAGER
        assert call.query["developer-token"] == DEV


async def test_ads_carry_text_and_active_counts_match(gemu: GoogleAdsEmulator) -> None:
    """iter_ads yields rows keyed by ad id with RSA text; active_counts matches the oracle."""
    async with connector(gemu) as conn:
        with anyio.fail_after(10):
            ads = [a async for page in conn.iter_ads() for a in page]
            counts = await conn.active_counts(RANGE)
    assert len(ads) == 12 and all(a["id"] == a["adGroupAd"]["ad"]["id"] for a in ads)
    assert all(a["adGroupAd"]["ad"]["responsiveSearchAd"]["headlines"] for a in ads)
    assert counts == gemu.expected_totals(DIRECT, *RANGE)["active"]


@pytest.mark.parametrize("stream", [True, False])
async def test_exact_totals(gemu: GoogleAdsEmulator, stream: bool) -> None:
    """Normalized records sum to the oracle: spend to the cent, fractional conversions."""
    norm = DataNormalizer()
    async with connector(gemu, MANAGED, use_search_stream=stream) as conn:
        with anyio.fail_after(10):
            info = await conn.get_account_info()
            ads = {a["id"]: a async for page in conn.iter_ads() for a in page}
            recs = norm.normalize_ad_data(await rows_of(conn), "google", ads=ads, account=info)
            acc_rows = [r async for p in conn.iter_account_rows(RANGE) for r in p]
    days = norm.normalize_account_data(acc_rows, "google", account=info)
    want = gemu.expected_totals(MANAGED, *RANGE)
    assert len(recs) == want["rows"]
    assert round(sum(r["spend"] for r in recs), 2) == want["spend"]
    assert sum(r["clicks"] for r in recs) == want["clicks"]
    assert sum(r["impressions"] for r in recs) == want["impressions"]
    # Fractions kept (data-driven attribution): ad rows and customer days both add up.
    assert want["conversions"] != round(want["conversions"])
    assert math.fsum(r["conversions"] for r in recs) == pytest.approx(want["conversions"])
    assert math.fsum(d["daily_conversions"] for d in days) == pytest.approx(want["conversions"])
    assert {r["currency"] for r in recs} == {"EUR"}
    assert all(r["headline"] for r in recs if is_ad_level(r["ad_id"]))
    assert round(sum(d["daily_spend"] for d in days), 2) == want["spend"]
    assert sum(d["daily_impressions"] for d in days) == want["impressions"]


# -- tokens -------------------------------------------------------------------------------


async def test_token_is_cached_across_requests(gemu: GoogleAdsEmulator) -> None:
    """One refresh serves every request while the access token lives."""
    async with connector(gemu) as conn:
        await rows_of(conn)
        await rows_of(conn)
        with anyio.fail_after(10):
            await conn.get_account_info()
    # two row pulls (ads and PMax each), then the account info: the customer and its
    # conversion windows
    assert gemu.refreshes == 1 and len(api_calls(gemu)) == 6


async def test_expired_token_is_refreshed_once(gemu: GoogleAdsEmulator) -> None:
    """A 401 drops the cached token, refreshes, and the same request then succeeds."""
    gemu.set_fault(DIRECT, "expired_token", count=1)
    async with connector(gemu) as conn:
        rows = await rows_of(conn)
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)
    assert [c.status for c in api_calls(gemu)] == [401, 200, 200] and gemu.refreshes == 2


async def test_token_still_rejected_after_refresh_is_auth_error(gemu: GoogleAdsEmulator) -> None:
    """When the fresh token is refused too, AuthError after exactly one refresh."""
    gemu.set_fault(DIRECT, "expired_token")
    async with connector(gemu) as conn:
        with pytest.raises(AuthError, match="UNAUTHENTICATED"):
            await rows_of(conn)
    assert [c.status for c in api_calls(gemu)] == [401, 401] and gemu.refreshes == 2


async def test_refused_refresh_is_auth_error(gemu: GoogleAdsEmulator) -> None:
    """invalid_grant at the token endpoint is an AuthError and no API call is made."""
    gemu.set_fault(None, "refresh_refused", refresh_token="rt-a")
    async with connector(gemu) as conn:
        with pytest.raises(AuthError, match="invalid_grant"):
            await rows_of(conn)
    assert api_calls(gemu) == [] and gemu.stats.count(kind="token") == 1


async def test_secrets_never_in_repr_or_errors(gemu: GoogleAdsEmulator) -> None:
    """Neither the refresh token nor the developer token shows in repr or in an AuthError."""
    gemu.set_fault(None, "refresh_refused")
    async with connector(gemu, refresh="rt-very-secret") as conn:
        assert "rt-very-secret" not in repr(conn) and DEV not in repr(conn)
        with pytest.raises(AuthError) as info:
            await rows_of(conn)
    assert "rt-very-secret" not in str(info.value) and DEV not in str(info.value)


async def test_static_access_token_is_not_refreshed(gemu: GoogleAdsEmulator) -> None:
    """Without a refresh token a 401 is an AuthError at once (nothing to refresh with)."""
    config = GoogleConfig(base_url=gemu.base_url, token_url=gemu.token_url, **FAST)
    async with GoogleAdsConnector(DIRECT, access_token="ya29.dead", developer_token=DEV,
                                  config=config, rate_limit=60000) as conn:
        with pytest.raises(AuthError):
            await rows_of(conn)
    assert len(api_calls(gemu)) == 1 and gemu.refreshes == 0


async def test_developer_token_is_optional() -> None:
    """Where the API no longer wants a developer token, none is configured or sent."""
    emu = GoogleAdsEmulator(developer_token=None)
    async with emu.serve():
        config = GoogleConfig(base_url=emu.base_url, token_url=emu.token_url, **FAST)
        async with GoogleAdsConnector(DIRECT, refresh_token="rt", client_id="sandbox-client-id",
                                      client_secret="sandbox-client-secret", config=config,
                                      rate_limit=60000) as conn:
            rows = await rows_of(conn)
    assert len(rows) == emu.expected_rows(DIRECT, *RANGE)
    assert all("developer-token" not in c.query for c in api_calls(emu))


# -- quota --------------------------------------------------------------------------------


async def test_temporary_exhaustion_is_waited_out(gemu: GoogleAdsEmulator) -> None:
    """RESOURCE_TEMPORARILY_EXHAUSTED pauses briefly and retries, off the transient budget."""
    gemu.set_fault(DIRECT, "rate_exceeded", count=2)
    async with connector(gemu, max_retries=0) as conn:
        rows = await rows_of(conn)
        assert conn.throttle_waited > 0
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)
    assert [c.status for c in api_calls(gemu)] == [429, 429, 200, 200]


async def test_daily_quota_parks_the_account(gemu: GoogleAdsEmulator) -> None:
    """RESOURCE_EXHAUSTED with retryDelay 41732s parks the account after one request."""
    gemu.set_fault(DIRECT, "quota_exhausted", rate_scope="ACCOUNT")
    metrics = Metrics()
    async with connector(gemu, metrics=metrics) as conn:
        with pytest.raises(AccountPausedError) as info:
            await rows_of(conn)
        assert info.value.until - time.monotonic() > 41000
    until = metrics.registry.get_sample_value(
        "within_account_paused_until_timestamp_seconds",
        {"platform": "google", "account_id": DIRECT})
    assert until is not None and abs(until - (time.time() + 41732)) < 60
    assert len(api_calls(gemu)) == 1


async def test_developer_quota_parks_other_accounts_without_requests(
    gemu: GoogleAdsEmulator,
) -> None:
    """A DEVELOPER-scope daily quota parks every account of that token; B sends nothing."""
    gemu.set_fault(DIRECT, "quota_exhausted", rate_scope="DEVELOPER")
    async with connector(gemu) as a, connector(gemu, MANAGED, refresh="rt-b") as b:
        with pytest.raises(AccountPausedError):
            await rows_of(a)
        with pytest.raises(AccountPausedError):
            await rows_of(b)
    assert len(api_calls(gemu, DIRECT)) == 1 and api_calls(gemu, MANAGED) == []


async def test_parked_and_broken_accounts_beside_a_healthy_one() -> None:
    """Quota-parked and token-broken accounts stop alone; the healthy one gets every row."""
    custs = [SandboxCustomer(f"555000000{i}", f"C{i}") for i in (1, 3, 4)]
    emu = GoogleAdsEmulator(custs)
    emu.set_fault("5550000003", "quota_exhausted", rate_scope="ACCOUNT")
    emu.set_fault(None, "refresh_refused", refresh_token="rt-broken")
    outcome: dict[str, Any] = {}

    async def pull(conn: GoogleAdsConnector) -> None:
        async with conn:
            try:
                outcome[conn.account_id] = len(await rows_of(conn))
            except (AccountPausedError, AuthError) as exc:
                outcome[conn.account_id] = type(exc).__name__

    async with emu.serve():
        async with anyio.create_task_group() as tg:
            tg.start_soon(pull, connector(emu, "5550000001"))
            tg.start_soon(pull, connector(emu, "5550000003", refresh="rt-3"))
            tg.start_soon(pull, connector(emu, "5550000004", refresh="rt-broken"))
    assert outcome == {"5550000001": emu.expected_rows("5550000001", *RANGE),
                       "5550000003": "AccountPausedError", "5550000004": "AuthError"}


# -- other errors -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["permission_denied", "invalid_argument"])
@pytest.mark.parametrize("wrap", [True, False])
async def test_client_errors_are_permanent(gemu: GoogleAdsEmulator, kind: str,
                                           wrap: bool) -> None:
    """PERMISSION_DENIED / INVALID_ARGUMENT, array-wrapped or not: permanent, one request."""
    gemu.set_fault(DIRECT, kind, wrap=wrap)
    async with connector(gemu) as conn:
        with pytest.raises(PermanentSourceError):
            await rows_of(conn)
    assert len(api_calls(gemu)) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(gemu: GoogleAdsEmulator, status: int) -> None:
    """INTERNAL and UNAVAILABLE are retried with backoff and the window completes."""
    gemu.set_fault(DIRECT, "server_error", count=2, status=status)
    async with connector(gemu) as conn:
        rows = await rows_of(conn)
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)
    assert [c.status for c in api_calls(gemu)] == [status, status, 200, 200]


async def test_persistent_server_error_exhausts_retries(gemu: GoogleAdsEmulator) -> None:
    """Past max_retries the circuit opens; with no outage budget the pull ends, not early."""
    gemu.set_fault(DIRECT, "server_error")
    async with connector(gemu, max_retries=2, breaker_fail_max=10,
                         max_outage_seconds=0) as conn:
        with pytest.raises(CircuitOpenError, match="INTERNAL"):
            await rows_of(conn)
    assert len(api_calls(gemu)) == 3


async def test_midstream_error_resumes_where_the_stream_stopped(gemu: GoogleAdsEmulator) -> None:
    """A 200 stream ending in an error is streamed again; rows already read are skipped."""
    gemu.set_fault(DIRECT, "server_error", count=1, midstream=True)
    pages: list[int] = []
    async with connector(gemu) as conn:
        rows = await rows_of(conn, pages=pages)
    assert pages[0] == 10  # the first batch went out before the error arrived
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)
    assert len({key(r) for r in rows}) == len(rows)  # and no row twice


async def test_persistent_midstream_error_fails_after_retries(gemu: GoogleAdsEmulator) -> None:
    """A stream that keeps breaking fails after max_retries, each row yielded at most once."""
    gemu.set_fault(DIRECT, "server_error", midstream=True)
    pages: list[int] = []
    async with connector(gemu, max_retries=1, max_outage_seconds=0) as conn:
        with pytest.raises(CircuitOpenError, match="INTERNAL"):
            await rows_of(conn, pages=pages)
    assert pages == [10]
    assert len([c for c in api_calls(gemu) if c.kind == "ad_group_ad"]) == 2


async def test_long_stream_is_not_cut_by_timeout_seconds(gemu: GoogleAdsEmulator) -> None:
    """timeout_seconds limits each silence of a stream, not its total: a long one completes."""
    gemu.stream_delay = 0.1  # 6+ pieces: the whole answer takes far longer than 0.3 s
    async with connector(gemu, timeout_seconds=0.3, max_retries=0) as conn:
        with anyio.fail_after(15):
            first = True
            rows: list[dict[str, Any]] = []
            async for page in conn.iter_ad_rows(RANGE):
                if first:  # decoded as it arrives: the server is still writing
                    pieces, written, _ = gemu.streams["ad_group_ad"]
                    assert written < pieces
                    first = False
                rows.extend(page)
    assert gemu.streams["ad_group_ad"][0] >= 6
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)


async def test_stalled_stream_is_abandoned_and_resumed(gemu: GoogleAdsEmulator) -> None:
    """A stream silent for timeout_seconds is dropped and read again from where it stopped."""
    gemu.set_fault(DIRECT, "stall", count=1, path="ad_group_ad", after=2, delay=5.0)
    pages: list[int] = []
    async with connector(gemu, timeout_seconds=0.3) as conn:
        rows = await rows_of(conn, pages=pages)
    assert pages[:2] == [10, 10]
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)
    assert len({key(r) for r in rows}) == len(rows)
    assert len([c for c in api_calls(gemu) if c.kind == "ad_group_ad"]) == 2


async def test_stream_memory_holds_one_batch_not_the_answer(gemu: GoogleAdsEmulator) -> None:
    """The decoder holds one read chunk and one batch, not the many-batch answer."""
    async with connector(gemu) as conn:
        rows = await rows_of(conn, ("2024-01-01", "2024-03-31"))
    pieces, _, size = gemu.streams["ad_group_ad"]
    assert len(rows) > 500 and pieces > 50
    # At most one read chunk (64 KiB) plus the batch in progress, a small part of the answer.
    assert 0 < conn.stream_peak_bytes < 64 * 1024 + 2 * size / pieces < size / 4


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_bad_json_is_retried(gemu: GoogleAdsEmulator, kind: str) -> None:
    """A malformed or truncated 200 body is transient and fetched again."""
    gemu.set_fault(DIRECT, kind, count=1)
    async with connector(gemu) as conn:
        rows = await rows_of(conn)
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)


async def test_slow_answer_times_out_and_retries(gemu: GoogleAdsEmulator) -> None:
    """An answer slower than timeout_seconds is abandoned and the request sent again."""
    gemu.set_fault(DIRECT, "slow", count=1, path="ad_group_ad", delay=1.0)
    async with connector(gemu, timeout_seconds=0.3) as conn:
        rows = await rows_of(conn)
    assert len(rows) == gemu.expected_rows(DIRECT, *RANGE)


# -- the classifier on the reference's payloads ---------------------------------------------

#: ad-apis.md §2.5, the 429 from PipedreamHQ/pipedream#21554.
QUOTA_429 = {"error": {
    "code": 429, "message": "Resource has been exhausted (e.g. check quota).",
    "status": "RESOURCE_EXHAUSTED",
    "details": [{"@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                 "errors": [{"errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                             "message": "Too many requests. Retry in 40591 seconds.",
                             "details": {"quotaErrorDetails": {
                                 "rateScope": "DEVELOPER",
                                 "rateName": "Number of operations for basic access",
                                 "retryDelay": "40591s"}}}],
                 "requestId": "xN_KaZRHZuU6Rlgt3cM2uQ"}]}}


def classify(status: int, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return classify_error(status, raw, account_id="1", throttle_pause=5.0)


def test_reference_quota_error_is_a_long_throttle() -> None:
    """The documented 429 becomes a ThrottledError of the full retryDelay, plain or wrapped."""
    for body in (QUOTA_429, [QUOTA_429]):
        exc = classify(429, body)
        assert type(exc) is ThrottledError and exc.retry_after == 40591
        assert "quotaError.RESOURCE_EXHAUSTED" in str(exc)


def test_quota_delay_sources_and_fallbacks() -> None:
    """Delay from the message alone is used; a daily quota without any delay waits an hour."""
    err = msgspec.json.decode(msgspec.json.encode(QUOTA_429))
    one = err["error"]["details"][0]["errors"][0]
    del one["details"]
    assert classify(429, err).retry_after == 40591  # "Retry in 40591 seconds."
    one["message"] = "Too many requests."
    err["error"]["message"] = "quota"
    assert classify(429, err).retry_after == DAILY_QUOTA_FALLBACK_SECONDS
    err["error"]["details"].append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                    "retryDelay": "120s"})
    assert classify(429, err).retry_after == 120  # the generic RetryInfo carrier
    err["error"]["details"].pop()
    one["errorCode"] = {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}
    assert classify(429, err).retry_after == 5.0
    one["errorCode"] = {"quotaError": "ACCESS_PROHIBITED"}
    assert type(classify(429, err)) is PermanentSourceError


@pytest.mark.parametrize("status,body,cls", [
    (401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "x"}}, AuthError),
    (403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "x"}},
     PermanentSourceError),
    (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "x"}},
     PermanentSourceError),
    (500, {"error": {"code": 500, "status": "INTERNAL", "message": "x"}}, TransientError),
    (503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "x"}}, TransientError),
    (504, b"<html>gateway timeout</html>", TransientError),
    (429, b"", ThrottledError),
    (401, b"", AuthError),
    (404, b"not found", PermanentSourceError),
])
def test_status_classes(status: int, body: Any, cls: type) -> None:
    """Each google.rpc status (or a bare HTTP status) maps to its exception class."""
    assert type(classify(status, body)) is cls
