"""The Amazon Ads emulator over real sockets: LwA tokens, profiles, reporting v3, faults."""

from __future__ import annotations

import datetime as dt
import gzip
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import anyio
import msgspec
import pytest

from within_daemon.sandbox.amazon.data import WINDOWS, AmazonProfile, default_profiles
from within_daemon.sandbox.amazon.server import AmazonEmulator

US, CA = "3000000001", "3000000002"
CREATE_TYPE = "application/vnd.createasyncreportrequest.v3+json"


def days_ago(n: int) -> str:
    today = dt.datetime.now(ZoneInfo("America/Los_Angeles")).date()
    return (today - dt.timedelta(days=n)).isoformat()


def body(since: str, until: str, *, rtype: str = "spAdvertisedProduct",
         group_by: list[str] | None = None, unit: str = "DAILY",
         columns: list[str] | None = None) -> dict[str, Any]:
    cols = columns or ["date", "campaignId", "adGroupId", "adId", "impressions", "clicks",
                       "cost", "purchases7d", "sales7d"]
    return {"name": "test", "startDate": since, "endDate": until, "configuration": {
        "adProduct": "SPONSORED_PRODUCTS", "groupBy": group_by or ["advertiser"],
        "columns": cols, "reportTypeId": rtype, "timeUnit": unit, "format": "GZIP_JSON"}}


class Client:
    """Raw HTTP against the emulator with the documented headers; every wait bounded."""

    def __init__(self, emu: AmazonEmulator, session: aiohttp.ClientSession) -> None:
        self.emu, self.session = emu, session
        self.token = emu.issue_token()

    def headers(self, scope: str | None = US, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}",
             "Amazon-Advertising-API-ClientId": self.emu.client_id}
        if scope is not None:
            h["Amazon-Advertising-API-Scope"] = scope
        return {**h, **extra}

    async def call(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                   data: Any = None) -> tuple[int, dict[str, str], bytes]:
        url = url if url.startswith("http") else self.emu.base_url + url
        with anyio.fail_after(10):
            async with self.session.request(method, url, headers=headers, data=data) as resp:
                return resp.status, dict(resp.headers), await resp.read()

    async def create(self, b: dict[str, Any], scope: str = US) -> tuple[int, Any]:
        status, _, raw = await self.call("POST", "/reporting/reports", data=msgspec.json.encode(b),
                                         headers=self.headers(scope, **{"Content-Type":
                                                                        CREATE_TYPE}))
        return status, msgspec.json.decode(raw)

    async def poll(self, report_id: str, scope: str = US) -> tuple[int, Any]:
        status, _, raw = await self.call("GET", f"/reporting/reports/{report_id}",
                                         headers=self.headers(scope))
        return status, msgspec.json.decode(raw)

    async def complete(self, b: dict[str, Any], scope: str = US) -> dict[str, Any]:
        status, rep = await self.create(b, scope)
        assert status == 200, rep
        for _ in range(10):
            _, st = await self.poll(rep["reportId"], scope)
            if st["status"] == "COMPLETED":
                return dict(st)
        raise AssertionError(f"report never completed: {st}")

    async def rows(self, b: dict[str, Any], scope: str = US) -> list[dict[str, Any]]:
        st = await self.complete(b, scope)
        status, _, raw = await self.call("GET", st["url"])
        assert status == 200
        assert st["fileSize"] == len(raw)
        out: list[dict[str, Any]] = msgspec.json.decode(gzip.decompress(raw))
        return out


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    emu = AmazonEmulator()
    async with emu.serve(), aiohttp.ClientSession() as session:
        yield Client(emu, session)


async def test_token_refresh_grant_and_refusals(client: Client) -> None:
    """The LwA endpoint issues bearer tokens and refuses bad clients and revoked tokens."""
    emu = client.emu
    form = {"grant_type": "refresh_token", "refresh_token": "Atzr|one",
            "client_id": emu.client_id, "client_secret": emu.client_secret}
    status, _, raw = await client.call("POST", "/auth/o2/token", data=form)
    ans = msgspec.json.decode(raw)
    assert status == 200 and ans["access_token"].startswith("Atza|")
    assert ans["expires_in"] == 3600 and ans["refresh_token"] == "Atzr|one"
    status, _, raw = await client.call("POST", "/auth/o2/token",
                                       data={**form, "client_secret": "wrong"})
    assert status == 401 and msgspec.json.decode(raw)["error"] == "invalid_client"
    emu.revoke("Atzr|one")
    status, _, raw = await client.call("POST", "/auth/o2/token", data=form)
    assert status == 400 and msgspec.json.decode(raw)["error"] == "invalid_grant"


async def test_profiles_need_a_token_and_list_currency_and_zone(client: Client) -> None:
    """GET /v2/profiles is a JSON array with numeric profileId, currencyCode and timezone."""
    status, _, _ = await client.call("GET", "/v2/profiles")
    assert status == 401
    status, _, raw = await client.call("GET", "/v2/profiles", headers=client.headers(None))
    profiles = msgspec.json.decode(raw)
    assert status == 200 and [p["profileId"] for p in profiles] == [
        3000000001, 3000000002, 3000000003]
    assert profiles[1]["currencyCode"] == "CAD" and profiles[1]["timezone"] == "America/Toronto"
    _, _, raw = await client.call("GET", "/v2/profiles?profileTypeFilter=vendor",
                                  headers=client.headers(None))
    assert [p["accountInfo"]["type"] for p in msgspec.json.decode(raw)] == ["vendor"]


async def test_report_lifecycle_and_download(client: Client) -> None:
    """A report goes PENDING, PROCESSING, COMPLETED with moving updatedAt and a gzip URL."""
    since, until = days_ago(5), days_ago(1)
    status, rep = await client.create(body(since, until))
    assert status == 200
    assert rep["status"] == "PENDING" and rep["url"] is None and rep["failureReason"] is None
    assert set(rep) >= {"configuration", "createdAt", "endDate", "fileSize", "generatedAt",
                        "name", "reportId", "startDate", "updatedAt", "urlExpiresAt"}
    seen = []
    for _ in range(2):
        _, st = await client.poll(rep["reportId"])
        seen.append((st["status"], st["updatedAt"]))
    assert [s for s, _ in seen] == ["PROCESSING", "COMPLETED"]
    assert rep["updatedAt"] < seen[0][1] < seen[1][1]
    assert st["url"] and st["fileSize"] > 0 and st["generatedAt"] and st["urlExpiresAt"]
    status, _, raw = await client.call("GET", st["url"])
    rows = msgspec.json.decode(gzip.decompress(raw))
    assert status == 200 and len(rows) == client.emu.expected_rows(US, since, until) > 0
    first = rows[0]
    assert list(first) == ["date", "campaignId", "adGroupId", "adId", "impressions", "clicks",
                           "cost", "purchases7d", "sales7d"]
    assert isinstance(first["adId"], int) and isinstance(first["cost"], float)
    assert all(r["impressions"] > 0 for r in rows)


async def test_create_status_202_variant() -> None:
    """create_status=202 answers report creation with 202, as Airbyte's mocks do."""
    emu = AmazonEmulator(create_status=202)
    async with emu.serve(), aiohttp.ClientSession() as session:
        status, rep = await Client(emu, session).create(body(days_ago(3), days_ago(1)))
    assert status == 202 and rep["status"] == "PENDING"


async def test_identical_in_flight_request_is_425_with_the_id(client: Client) -> None:
    """A second identical create while the first is in flight is 425 naming the first id."""
    b = body(days_ago(4), days_ago(2))
    _, rep = await client.create(b)
    status, err = await client.create(b)
    assert status == 425 and err == {
        "code": "425", "detail": f"The Request is a duplicate of : {rep['reportId']}"}
    await client.poll(rep["reportId"])
    await client.poll(rep["reportId"])  # COMPLETED: no longer in flight
    status, again = await client.create(b)
    assert status == 200 and again["reportId"] != rep["reportId"]


# Dates as offsets, turned into days when the test runs: computed at collection they went
# stale across midnight in Los Angeles (41 days instead of 40 in a CI run at 00:00 PST).
@pytest.mark.parametrize(("change", "status", "text"), [
    ({"startDate": -40}, 400, "range (40 days) must not exceed maximum range (31 days)"),
    ({"startDate": -120, "endDate": -100}, 400, "too far in the past"),
    ({"configuration": {**body("", "")["configuration"], "timeUnit": "SUMMARY"}}, 400,
     "date is not a supported column for this time unit"),
    ({"configuration": {**body("", "")["configuration"], "columns": ["date", "reach"]}}, 400,
     "reach is not a supported column"),
    ({"configuration": {**body("", "")["configuration"], "groupBy": ["campaign"]}}, 400,
     "groupBy ['campaign'] is not supported"),
])
async def test_invalid_report_requests_are_400(
    client: Client, change: dict[str, Any], status: int, text: str
) -> None:
    """Reporting rules from the docs (31-day range, 95-day retention, columns) answer 400."""
    change = {k: days_ago(-v) if k.endswith("Date") else v for k, v in change.items()}
    got, err = await client.create({**body(days_ago(10), days_ago(1)), **change})
    assert got == status and text in err["detail"] and err["code"] == "400"


async def test_headers_are_checked(client: Client) -> None:
    """Scope, client id and content type are required on report calls."""
    b = msgspec.json.encode(body(days_ago(3), days_ago(1)))
    ct = {"Content-Type": CREATE_TYPE}
    cases = [
        (client.headers(None, **ct), 401, "Scope header is missing"),
        (client.headers("999", **ct), 401, "Not authorized to access scope"),
        ({**client.headers(**ct), "Amazon-Advertising-API-ClientId": ""}, 400, "ClientId"),
        (client.headers(**{"Content-Type": "text/plain"}), 415, "Content-Type"),
    ]
    for headers, status, text in cases:
        got, _, raw = await client.call("POST", "/reporting/reports", headers=headers, data=b)
        assert got == status and text in msgspec.json.decode(raw)["detail"], (headers, raw)


async def test_download_refuses_auth_header_and_bad_signature(client: Client) -> None:
    """The pre-signed URL rejects a second auth mechanism and a tampered signature (XML)."""
    st = await client.complete(body(days_ago(3), days_ago(1)))
    status, headers, raw = await client.call("GET", st["url"],
                                             headers={"Authorization": "Bearer x"})
    assert status == 400 and b"<Code>InvalidArgument</Code>" in raw
    assert headers["Content-Type"].startswith("application/xml")
    status, _, raw = await client.call("GET", st["url"][:-4] + "0000")
    assert status == 403 and b"SignatureDoesNotMatch" in raw


async def test_campaign_rows_sum_the_ads_and_summary_has_ranges(client: Client) -> None:
    """Campaign report rows are sums of the ad rows; SUMMARY gives one row per ad group."""
    since, until = days_ago(6), days_ago(1)
    ads = await client.rows(body(since, until))
    camps = await client.rows(body(since, until, rtype="spCampaigns", group_by=["campaign"],
                                   columns=["date", "campaignId", "impressions", "cost"]))
    assert sum(r["impressions"] for r in camps) == sum(r["impressions"] for r in ads)
    assert round(sum(r["cost"] for r in camps), 2) == round(sum(r["cost"] for r in ads), 2)
    assert len(camps) == client.emu.expected_rows(US, since, until, "spCampaigns")
    summary = await client.rows(body(since, until, rtype="spCampaigns", unit="SUMMARY",
                                     group_by=["campaign", "adGroup"],
                                     columns=["startDate", "endDate", "adGroupId", "clicks"]))
    assert len(summary) == 6 and {r["startDate"] for r in summary} == {since}


async def test_brands_and_display_reports_complete_the_console_totals(client: Client) -> None:
    """SB and SD campaign reports (adProduct must match) plus SP make the console totals."""
    since, until = days_ago(6), days_ago(1)
    cols = ["date", "campaignId", "impressions", "clicks", "cost", "purchases", "sales"]
    other = []
    for rtype, product in (("sbCampaigns", "SPONSORED_BRANDS"),
                           ("sdCampaigns", "SPONSORED_DISPLAY")):
        b = body(since, until, rtype=rtype, group_by=["campaign"], columns=cols)
        b["configuration"]["adProduct"] = product
        rows = await client.rows(b)
        assert rows and all(set(r) == set(cols) for r in rows)
        other += rows
        wrong = body(since, until, rtype=rtype, group_by=["campaign"], columns=cols)
        status, _ = await client.create(wrong)  # adProduct SPONSORED_PRODUCTS
        assert status == 400
    sp = client.emu.expected_totals(US, since, until)
    console = client.emu.console_totals(US, since, until)
    assert console["impressions"] == sp["impressions"] + sum(r["impressions"] for r in other)
    assert console["purchases"] == sp["purchases"] + sum(r["purchases"] for r in other)
    assert console["spend"] == round(sp["spend"] + sum(r["cost"] for r in other), 2)
    assert console["spend"] > sp["spend"]


def test_data_is_deterministic_and_windows_grow() -> None:
    """Same seed, same rows; purchases, sales and units never shrink with a longer window."""
    a, b = AmazonEmulator(seed=3), AmazonEmulator(seed=3)
    since, until = days_ago(20), days_ago(1)
    assert a.expected_totals(US, since, until) == b.expected_totals(US, since, until)
    assert a.expected_totals(US, since, until) != AmazonEmulator(seed=4).expected_totals(
        US, since, until)
    sums = [a.expected_totals(US, since, until, w) for w in WINDOWS]
    for key in ("purchases", "sales_cents", "units"):
        assert [s[key] for s in sums] == sorted(s[key] for s in sums)
    assert sums[0]["purchases"] < sums[-1]["purchases"]
    with pytest.raises(ValueError, match="digits"):
        AmazonProfile("abc", "bad")
    assert len(default_profiles()) == 3


async def test_error_faults(client: Client) -> None:
    """throttle, server_error, bad_request and expired_token answer 429/5xx/400/401 once."""
    emu, b = client.emu, body(days_ago(3), days_ago(1))
    emu.set_fault(US, "throttle", count=1, path="create", retry_after=7)
    status, headers, raw = await client.call(
        "POST", "/reporting/reports", data=msgspec.json.encode(b),
        headers=client.headers(**{"Content-Type": CREATE_TYPE}))
    assert status == 429 and headers["Retry-After"] == "7"
    emu.set_fault(US, "server_error", count=1, status=503)
    assert (await client.create(b))[0] == 503
    emu.set_fault(US, "bad_request", count=1, detail="nope")
    assert await client.create(b) == (400, {"code": "400", "detail": "nope"})
    emu.set_fault(None, "expired_token", count=1, path="profiles")
    assert (await client.call("GET", "/v2/profiles", headers=client.headers(None)))[0] == 401
    assert (await client.call("GET", "/v2/profiles", headers=client.headers(None)))[0] == 200
    assert emu.stats.count(US, "create", 429) == 1 and emu.stats.count(US, "create", 503) == 1


async def test_report_fault_kinds(client: Client) -> None:
    """report_failed sets FAILED/FAILURE with a reason; report_stall freezes updatedAt."""
    emu = client.emu
    emu.set_fault(US, "report_failed", count=1, status="FAILURE", reason="boom")
    _, rep = await client.create(body(days_ago(3), days_ago(1)))
    _, st = await client.poll(rep["reportId"])
    assert (st["status"], st["failureReason"], st["url"]) == ("FAILURE", "boom", None)
    emu.set_fault(US, "report_stall")
    _, rep = await client.create(body(days_ago(4), days_ago(1)))
    states = [(await client.poll(rep["reportId"]))[1] for _ in range(4)]
    assert {(s["status"], s["updatedAt"]) for s in states[1:]} == {
        ("PROCESSING", states[0]["updatedAt"])}


async def test_duplicate_fault_with_and_without_id(client: Client) -> None:
    """The duplicate fault creates the report but answers 425 (with its id, or "Too early")."""
    emu = client.emu
    emu.set_fault(US, "duplicate", count=1)
    status, err = await client.create(body(days_ago(3), days_ago(1)))
    [rep_id] = list(emu.reports)
    assert status == 425 and err["detail"].endswith(rep_id)
    emu.set_fault(US, "duplicate", count=1, with_id=False)
    assert await client.create(body(days_ago(5), days_ago(1))) == (
        425, {"code": "425", "detail": "Too early"})


async def test_download_faults(client: Client) -> None:
    """gzip_bomb, truncated, url_expired and slow act on the download only."""
    emu = client.emu
    st = await client.complete(body(days_ago(3), days_ago(1)))
    emu.set_fault(US, "gzip_bomb", count=1, expand_bytes=5 << 20)
    _, _, bomb = await client.call("GET", st["url"])
    assert len(bomb) < 20_000 and len(zlib.decompress(bomb, 31)) == (5 << 20) + 10
    emu.set_fault(US, "truncated", count=1)
    _, _, cut = await client.call("GET", st["url"])
    with pytest.raises(EOFError):
        gzip.decompress(cut)
    emu.set_fault(US, "url_expired", count=1)
    status, _, raw = await client.call("GET", st["url"])
    assert status == 403 and b"Request has expired" in raw
    emu.set_fault(US, "slow", count=1, path="download", delay=0.3)
    t0 = time.monotonic()
    status, _, raw = await client.call("GET", st["url"])
    assert status == 200 and time.monotonic() - t0 >= 0.3 and gzip.decompress(raw)


async def test_faults_over_http_and_stats(client: Client) -> None:
    """/_sandbox/faults switches a fault from another process; /_sandbox/stats reports."""
    spec = msgspec.json.encode({"kind": "server_error", "account_id": CA, "count": 1,
                                "path": "status", "status": 502})
    status, _, raw = await client.call("POST", "/_sandbox/faults", data=spec)
    assert status == 200 and msgspec.json.decode(raw)["fault"]["status"] == 502
    _, rep = await client.create(body(days_ago(3), days_ago(1)), CA)
    assert (await client.poll(rep["reportId"], CA))[0] == 502
    assert (await client.poll(rep["reportId"], CA))[0] == 200
    _, _, raw = await client.call("GET", "/_sandbox/stats")
    counts = msgspec.json.decode(raw)["counts"]
    assert {"account_id": CA, "kind": "status", "status": 502, "n": 1} in counts


async def test_brands_and_display_ad_reports_and_sb_creatives(client: Client) -> None:
    """SB and SD ad report rows sum to their campaign rows; the SB ads list has headlines."""
    since, until = days_ago(6), days_ago(1)
    cols = ["date", "campaignId", "adId", "impressions", "cost", "purchases"]
    for rtype, group_by, product, camp_type in (
        ("sbAds", ["ads"], "SPONSORED_BRANDS", "sbCampaigns"),
        ("sdAdvertisedProduct", ["advertiser"], "SPONSORED_DISPLAY", "sdCampaigns"),
    ):
        b = body(since, until, rtype=rtype, group_by=group_by, columns=cols)
        b["configuration"]["adProduct"] = product
        ads = await client.rows(b)
        c = body(since, until, rtype=camp_type, group_by=["campaign"], columns=cols[:2] + cols[3:])
        c["configuration"]["adProduct"] = product
        camps = await client.rows(c)
        assert ads and sum(r["impressions"] for r in ads) == sum(r["impressions"] for r in camps)
        assert sum(r["purchases"] for r in ads) == sum(r["purchases"] for r in camps)
    status, _, raw = await client.call(
        "POST", "/sb/v4/ads/list", data=b'{"maxResults": 1}',
        headers=client.headers(US, **{"Content-Type": "application/vnd.sbadresource.v4+json"}))
    assert status == 200
    page = msgspec.json.decode(raw)
    [ad] = page["ads"]
    assert ad["creative"]["headline"] and page["nextToken"] == "1"
