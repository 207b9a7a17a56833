"""The Google Ads emulator over real sockets: OAuth, GAQL stream and search, errors, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import msgspec
import pytest

from within_daemon.sandbox.google.data import SandboxCustomer
from within_daemon.sandbox.google.gaql import GaqlError, parse_gaql
from within_daemon.sandbox.google.server import GoogleAdsEmulator

DIRECT, MANAGED, MANAGER = "5550000001", "5550000002", "5559999999"
DEV = "sandbox-developer-token"
FORM = {"grant_type": "refresh_token", "refresh_token": "rt-1",
        "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
AD_Q = ("SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, ad_group_ad.status, segments.date, "
        "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
        "metrics.conversions_value FROM ad_group_ad "
        "WHERE segments.date BETWEEN '2024-03-01' AND '2024-03-03'")


class Client:
    """One session against the emulator; every call bounded by fail_after."""

    def __init__(self, session: aiohttp.ClientSession, emu: GoogleAdsEmulator) -> None:
        self.session, self.emu = session, emu
        self.token = emu.issue_token()

    async def post(self, customer: str, method: str, body: Any, *, token: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        h = {"Authorization": f"Bearer {token or self.token}", "developer-token": DEV,
             **(headers or {})}
        if customer == MANAGED:
            h.setdefault("login-customer-id", MANAGER)
        url = f"{self.emu.base_url}/customers/{customer}/googleAds:{method}"
        with anyio.fail_after(10):
            async with self.session.post(url, json=body, headers=h) as resp:
                raw = await resp.read()
                try:
                    return resp.status, msgspec.json.decode(raw)
                except msgspec.DecodeError:
                    return resp.status, raw

    async def stream(self, customer: str, query: str, **kw: Any) -> tuple[int, Any]:
        return await self.post(customer, "searchStream", {"query": query}, **kw)


@pytest.fixture
async def gemu() -> AsyncIterator[GoogleAdsEmulator]:
    emu = GoogleAdsEmulator(stream_batch_size=10, search_page_size=7)
    async with emu.serve():
        yield emu


@pytest.fixture
async def client(gemu: GoogleAdsEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, gemu)


def results(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for batch in body for r in batch.get("results", [])]


async def test_token_endpoint_grants_and_refuses(gemu: GoogleAdsEmulator,
                                                 client: Client) -> None:
    """The refresh grant returns a bearer token; a refused refresh is 400 invalid_grant."""
    with anyio.fail_after(10):
        async with client.session.post(gemu.token_url, data=FORM) as resp:
            ok = await resp.json()
        gemu.set_fault(None, "refresh_refused", count=1, refresh_token="rt-1")
        async with client.session.post(gemu.token_url, data=FORM) as resp:
            refused = resp.status, await resp.json()
        bad = {**FORM, "client_secret": "nope"}
        async with client.session.post(gemu.token_url, data=bad) as resp:
            wrong_client = resp.status
        root = gemu.token_url.rsplit("/", 1)[0]
        async with client.session.post(f"{root}/oauth2/v3/token", data=FORM) as resp:
            airbyte_path = resp.status
    assert ok["token_type"] == "Bearer" and ok["expires_in"] == 3599
    assert refused == (400, {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."})
    assert wrong_client == 401 and airbyte_path == 200
    assert gemu.refreshes == 2


async def test_stream_rows_match_the_oracle(gemu: GoogleAdsEmulator, client: Client) -> None:
    """The stream's batches hold every ad-day with impressions; sums equal expected_totals."""
    status, body = await client.stream(DIRECT, AD_Q)
    rows = results(body)
    want = gemu.expected_totals(DIRECT, "2024-03-01", "2024-03-03")
    assert status == 200 and isinstance(body, list)
    # PMax campaigns have no ad_group_ad rows (they count in the customer's totals only).
    assert len(rows) == want["ad_rows"] and len(body) == -(-want["ad_rows"] // 10)
    assert want["pmax_rows"] > 0
    assert sum(int(r["metrics"]["impressions"]) for r in rows) < want["impressions"]
    assert "queryResourceConsumption" in body[-1] and "queryResourceConsumption" not in body[0]
    assert body[0]["fieldMask"].startswith("campaign.id,adGroup.id,adGroupAd.ad.id")


async def test_pmax_spend_is_in_customer_totals_but_not_in_ad_rows(
        gemu: GoogleAdsEmulator, client: Client) -> None:
    """Customer totals = ad_group_ad sums + PMax campaign sums; PMax has no ad rows."""
    when = "WHERE segments.date BETWEEN '2024-03-01' AND '2024-03-03'"
    met = "metrics.impressions, metrics.cost_micros, metrics.conversions"

    async def total(q: str) -> tuple[int, int, float]:
        status, body = await client.stream(DIRECT, q)
        assert status == 200, body
        rows = results(body)
        return (sum(int(r["metrics"].get("impressions", 0)) for r in rows),
                sum(int(r["metrics"].get("costMicros", 0)) for r in rows),
                sum(r["metrics"].get("conversions", 0.0) for r in rows))

    ads = await total(f"SELECT ad_group_ad.ad.id, segments.date, {met} FROM ad_group_ad {when}")
    cust = await total(f"SELECT customer.id, segments.date, {met} FROM customer {when}")
    pmax = await total(f"SELECT campaign.id, segments.date, {met} FROM campaign {when} "
                       "AND campaign.advertising_channel_type = 'PERFORMANCE_MAX'")
    camps = await total(f"SELECT campaign.id, segments.date, {met} FROM campaign {when}")
    assert pmax[0] > 0 and pmax[1] > 0
    assert (ads[0] + pmax[0], ads[1] + pmax[1]) == (cust[0], cust[1]) == (camps[0], camps[1])
    assert ads[2] + pmax[2] == pytest.approx(cust[2])
    want = gemu.expected_totals(DIRECT, "2024-03-01", "2024-03-03")
    assert (want["impressions"], want["cost_micros"]) == (cust[0], cust[1])
    _, body = await client.stream(DIRECT, "SELECT campaign.id, campaign.advertising_channel_type "
                                  "FROM campaign")
    channels = {r["campaign"]["advertisingChannelType"] for r in results(body)}
    assert channels == {"SEARCH", "PERFORMANCE_MAX"}


async def test_int64_as_strings_and_zero_metrics_omitted(client: Client) -> None:
    """Ids and counts are JSON strings, doubles numbers; zero metrics are left out."""
    _, body = await client.stream(DIRECT, AD_Q)
    rows = results(body)
    first = rows[0]
    assert isinstance(first["adGroupAd"]["ad"]["id"], str)
    assert isinstance(first["metrics"]["impressions"], str)
    assert all(isinstance(r["metrics"].get("conversions", 0.0), float) for r in rows)
    assert any("clicks" not in r["metrics"] for r in rows)
    assert all(set(r) == {"campaign", "adGroup", "adGroupAd", "segments", "metrics"}
               for r in rows)


@pytest.mark.parametrize("style,expected", [
    ("omit", [{"fieldMask": "customer.id,segments.date,metrics.clicks",
               "queryResourceConsumption": "100"}]),
    ("empty_list", [{"fieldMask": "customer.id,segments.date,metrics.clicks", "results": [],
                     "queryResourceConsumption": "100"}]),
    ("no_batches", []),
])
async def test_empty_stream_variants(gemu: GoogleAdsEmulator, client: Client, style: str,
                                     expected: list[dict[str, Any]]) -> None:
    """A query without rows answers a batch without results (or the other two variants)."""
    gemu.empty_stream = style  # type: ignore[assignment]
    q = ("SELECT customer.id, segments.date, metrics.clicks FROM customer "
         "WHERE segments.date BETWEEN '2019-01-01' AND '2019-01-02'")
    status, body = await client.stream(DIRECT, q)
    for batch in body:
        batch.pop("requestId")
    assert (status, body) == (200, expected)


async def test_search_pages_are_bound_to_their_query(client: Client) -> None:
    """:search pages by nextPageToken; a token reused with another query is refused."""
    rows: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": AD_Q}
    pages = 0
    while True:
        status, page = await client.post(DIRECT, "search", body)
        assert status == 200
        pages += 1
        rows.extend(page.get("results", []))
        if "nextPageToken" not in page:
            break
        token = page["nextPageToken"]
        body = {"query": AD_Q, "pageToken": token}
    status, err = await client.post(DIRECT, "search",
                                    {"query": AD_Q.replace("03-03", "03-02"), "pageToken": token})
    assert pages == -(-len(rows) // 7) and len(rows) > 7
    assert status == 400
    assert err["error"]["details"][0]["errors"][0]["errorCode"] == {
        "requestError": "INVALID_PAGE_TOKEN"}


async def test_page_size_is_not_supported(client: Client) -> None:
    """Setting pageSize is refused as newer API versions do (PAGE_SIZE_NOT_SUPPORTED)."""
    status, err = await client.post(DIRECT, "search", {"query": AD_Q, "pageSize": 5})
    assert status == 400 and err["error"]["status"] == "INVALID_ARGUMENT"


async def test_auth_developer_token_and_manager_header(gemu: GoogleAdsEmulator,
                                                       client: Client) -> None:
    """Bad bearer -> 401; the developer token is ignored; managed customer needs its MCC."""
    s1, e1 = await client.stream(DIRECT, AD_Q, token="ya29.unknown")
    s2, _ = await client.post(DIRECT, "search", {"query": AD_Q},
                              headers={"developer-token": "wrong"})
    s3, e3 = await client.post(MANAGED, "search", {"query": AD_Q},
                               headers={"login-customer-id": DIRECT})
    s4, _ = await client.post(MANAGED, "search", {"query": AD_Q})
    assert (s1, s2, s3, s4) == (401, 200, 403, 200)
    assert e1[0]["error"]["status"] == "UNAUTHENTICATED"  # stream errors arrive in an array
    assert e3["error"]["details"][0]["errors"][0]["errorCode"] == {
        "authorizationError": "USER_PERMISSION_DENIED"}


@pytest.mark.parametrize(("policy", "sent", "want"), [
    ("optional", None, 200), ("optional", "anything", 200), ("required", None, 401),
    ("required", "wrong", 401), ("required", DEV, 200), ("rejected", DEV, 400),
    ("rejected", None, 200),
])
async def test_developer_token_policies(policy: str, sent: str | None, want: int) -> None:
    """Optional (today) ignores the header, required checks it, rejected refuses it."""
    emu = GoogleAdsEmulator(developer_token_policy=policy)  # type: ignore[arg-type]
    async with emu.serve(), aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {emu.issue_token()}"}
        if sent is not None:
            headers["developer-token"] = sent
        with anyio.fail_after(10):
            async with session.post(f"{emu.base_url}/customers/{DIRECT}/googleAds:search",
                                    json={"query": AD_Q}, headers=headers) as resp:
                assert resp.status == want


async def test_quota_faults_carry_retry_delay(gemu: GoogleAdsEmulator, client: Client) -> None:
    """quota_exhausted is 429 with retryDelay in hours; rate_exceeded names the short quota."""
    gemu.set_fault(DIRECT, "quota_exhausted", count=1)
    gemu.set_fault(DIRECT, "rate_exceeded", count=1, wrap=False)
    s1, long = await client.stream(DIRECT, AD_Q)
    s2, short = await client.stream(DIRECT, AD_Q)
    one = long[0]["error"]["details"][0]["errors"][0]
    assert (s1, s2) == (429, 429)
    assert one["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"}
    assert one["details"]["quotaErrorDetails"]["retryDelay"] == "41732s"
    assert one["details"]["quotaErrorDetails"]["rateScope"] == "DEVELOPER"
    assert short["error"]["details"][0]["errors"][0]["errorCode"] == {
        "quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}


@pytest.mark.parametrize("kind,params,status,name", [
    ("permission_denied", {}, 403, "PERMISSION_DENIED"),
    ("invalid_argument", {}, 400, "INVALID_ARGUMENT"),
    ("server_error", {}, 500, "INTERNAL"),
    ("server_error", {"status": 503}, 503, "UNAVAILABLE"),
    ("expired_token", {}, 401, "UNAUTHENTICATED"),
])
async def test_error_faults(gemu: GoogleAdsEmulator, client: Client, kind: str,
                            params: dict[str, Any], status: int, name: str) -> None:
    """Each error fault answers its HTTP status and google.rpc status, once per count."""
    gemu.set_fault(DIRECT, kind, count=1, path="ad_group_ad", wrap=False, **params)
    if kind == "expired_token":
        client.token = gemu.issue_token()
    got, err = await client.post(DIRECT, "search", {"query": AD_Q})
    again, _ = await client.post(DIRECT, "search", {"query": AD_Q},
                                 token=gemu.issue_token())
    assert (got, err["error"]["status"], again) == (status, name, 200)


async def test_midstream_error_ends_a_200_stream(gemu: GoogleAdsEmulator,
                                                 client: Client) -> None:
    """A stream that fails after it started is 200 with the error as its last element."""
    gemu.set_fault(DIRECT, "server_error", count=1, midstream=True)
    status, body = await client.stream(DIRECT, AD_Q)
    assert status == 200
    assert "results" in body[0] and body[-1]["error"]["status"] == "INTERNAL"


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_body_faults(gemu: GoogleAdsEmulator, client: Client, kind: str) -> None:
    """The malformed and truncated faults break the JSON of one 200 answer."""
    gemu.set_fault(DIRECT, kind, count=1)
    status, body = await client.stream(DIRECT, AD_Q)
    assert status == 200 and isinstance(body, bytes)
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(body)


async def test_slow_fault_and_admin_api(gemu: GoogleAdsEmulator, client: Client) -> None:
    """Faults set over /_sandbox/faults apply; slow delays the answer by its delay."""
    root = gemu.base_url.rsplit("/", 1)[0]
    spec = {"kind": "slow", "account_id": DIRECT, "count": 1, "delay": 0.3}
    with anyio.fail_after(10):
        async with client.session.post(f"{root}/_sandbox/faults", json=spec) as resp:
            assert resp.status == 200
    t0 = anyio.current_time()
    status, _ = await client.stream(DIRECT, AD_Q)
    assert status == 200 and anyio.current_time() - t0 >= 0.3
    assert gemu.stats.count(account_id=DIRECT, kind="ad_group_ad", status=200) == 1


async def test_customer_query_and_metric_filter(gemu: GoogleAdsEmulator, client: Client) -> None:
    """FROM customer gives currency and zone; day totals equal the ad rows; filters apply."""
    _, info = await client.stream(MANAGED, "SELECT customer.id, customer.currency_code, "
                                  "customer.time_zone FROM customer")
    _, days = await client.stream(DIRECT, "SELECT segments.date, metrics.impressions FROM "
                                  "customer WHERE segments.date BETWEEN '2024-03-01' AND "
                                  "'2024-03-03'")
    _, big = await client.stream(DIRECT, AD_Q + " AND metrics.impressions > 800")
    want = gemu.expected_totals(DIRECT, "2024-03-01", "2024-03-03")
    assert results(info)[0]["customer"]["currencyCode"] == "EUR"
    assert sum(int(r["metrics"]["impressions"]) for r in results(days)) == want["impressions"]
    assert all(int(r["metrics"]["impressions"]) > 800 for r in results(big))
    assert 0 < len(results(big)) < want["ad_rows"]


def test_gaql_parser() -> None:
    """The GAQL subset parses BETWEEN, comparisons and IN; bad input names the error."""
    q = parse_gaql("SELECT a.b, c.d FROM ad_group_ad WHERE segments.date BETWEEN '2024-01-01' "
                   "AND '2024-01-02' AND ad_group_ad.status IN ('ENABLED', 'PAUSED') "
                   "AND metrics.clicks>0 ORDER BY segments.date LIMIT 5")
    assert q.fields == ("a.b", "c.d") and q.limit == 5
    assert [(c.field, c.op) for c in q.conditions] == [
        ("segments.date", "BETWEEN"), ("ad_group_ad.status", "IN"), ("metrics.clicks", ">")]
    with pytest.raises(GaqlError):
        parse_gaql("SELEC x FROM y")
    with pytest.raises(GaqlError):
        parse_gaql("SELECT a.b FROM customer WHERE a.b = 1 OR a.b = 2")


async def test_date_segment_needs_a_finite_range(client: Client) -> None:
    """Selecting segments.date without a date filter is an INVALID_ARGUMENT queryError."""
    status, err = await client.stream(DIRECT, "SELECT segments.date, metrics.clicks FROM customer")
    assert status == 400
    assert "queryError" in err[0]["error"]["details"][0]["errors"][0]["errorCode"]


def test_customers_are_validated() -> None:
    """A customer id must be ten digits, as the API writes them without hyphens."""
    with pytest.raises(ValueError):
        SandboxCustomer("123-456-7890", "bad")
