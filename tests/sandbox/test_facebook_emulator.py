"""The Facebook emulator, exercised over real sockets the way the daemon's client uses it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import anyio
import msgspec
import pytest

from within_daemon.sandbox import FacebookEmulator, SandboxAccount, default_accounts
from within_daemon.sandbox.facebook.data import ATTRIBUTION_SETTINGS
from within_daemon.sandbox.facebook.graph import parse_fields
from within_daemon.sandbox.facebook.insights import WEB_PURCHASE_TYPES

ACCT = "1000000001"
OTHER = "1000000002"
LATE = "1000000003"  # active from 2024-03-01
RANGE = '{"since":"2024-02-27","until":"2024-03-03"}'
METRICS = "ad_id,ad_name,campaign_id,adset_id,impressions,clicks,spend,reach,ctr,cpc,cpm"
FULL = f"account_id,account_name,account_currency,{METRICS},actions,action_values"


class Client:
    """A thin test client: one session, the base URL, and helpers that bound every wait."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.root = base.rsplit("/", 1)[0]

    async def call(
        self, method: str, path: str, *, token: str | None = "tok", **params: str
    ) -> tuple[int, dict[str, str], bytes]:
        if token is not None:
            params.setdefault("access_token", token)
        url = path if path.startswith("http") else f"{self.base}{path}"
        with anyio.fail_after(10):
            kw: dict[str, Any] = {"data": params} if method == "POST" else {"params": params}
            async with self.session.request(method, url, **kw) as resp:
                return resp.status, dict(resp.headers), await resp.read()

    async def get(
        self, path: str, *, token: str | None = "tok", **params: str
    ) -> tuple[int, dict[str, str], Any]:
        status, headers, body = await self.call("GET", path, token=token, **params)
        return status, headers, msgspec.json.decode(body)

    async def pull(self, path: str, **params: str) -> tuple[list[dict[str, Any]], int]:
        """Follow ``paging.next`` to the end; returns rows and the number of requests."""
        status, _, page = await self.get(path, **params)
        assert status == 200, page
        rows, calls = list(page["data"]), 1
        with anyio.fail_after(20):
            while nxt := page.get("paging", {}).get("next"):
                status, _, page = await self.get(nxt, token=None)
                assert status == 200, page
                rows += page["data"]
                calls += 1
        return rows, calls

    async def insights(self, account: str = ACCT, **params: str) -> list[dict[str, Any]]:
        params = {"level": "ad", "time_increment": "1", "time_range": RANGE, **params}
        return (await self.pull(f"/act_{account}/insights", **params))[0]


@pytest.fixture
async def emu_client() -> AsyncIterator[tuple[FacebookEmulator, Client]]:
    emu = FacebookEmulator(job_step=50)
    timeout = aiohttp.ClientTimeout(total=15)
    async with emu.serve() as base, aiohttp.ClientSession(timeout=timeout) as session:
        yield emu, Client(session, base)


def _error(body: Any) -> dict[str, Any]:
    assert isinstance(body, dict) and "error" in body, body
    return body["error"]  # type: ignore[no-any-return]


# -- data, paging, levels -------------------------------------------------------------------


async def test_paging_follows_next_to_exactly_expected_rows(emu_client: Any) -> None:
    """Following next with a small limit yields every (ad, day) once, sorted by date then ad."""
    emu, client = emu_client
    rows, calls = await client.pull(
        f"/act_{ACCT}/insights", level="ad", time_increment="1", time_range=RANGE,
        fields="ad_id,impressions", limit="7",
    )
    expected = emu.expected_rows(ACCT, "2024-02-27", "2024-03-03")
    assert expected == 18 * 6
    assert len(rows) == expected and calls == -(-expected // 7)
    keys = [(r["date_start"], r["ad_id"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == expected
    assert all(r["date_start"] == r["date_stop"] for r in rows)
    assert emu.stats.limits("insights", ACCT) == [7] * calls


async def test_rows_only_inside_active_period(emu_client: Any) -> None:
    """An account active from 2024-03-01 returns rows for its active days only."""
    emu, client = emu_client
    rows = await client.insights(LATE, fields="ad_id", limit="500")
    assert {r["date_start"] for r in rows} == {"2024-03-01", "2024-03-02", "2024-03-03"}
    assert len(rows) == emu.expected_rows(LATE, "2024-02-27", "2024-03-03")
    early = await client.insights(LATE, time_range='{"since":"2023-01-01","until":"2023-01-31"}')
    assert early == [] and emu.expected_rows(LATE, "2023-01-01", "2023-01-31") == 0


async def test_metrics_are_strings_and_ctr_is_percent(emu_client: Any) -> None:
    """Every metric is a JSON string; ctr is clicks/impressions*100; purchase types overlap.

    "Purchases" (omni_purchase, purchase) = website purchases (the pixel type and its
    synonyms, all equal) + purchases on Meta; values split the same way.
    """
    _, client = emu_client
    rows = await client.insights(fields=FULL, limit="200")
    money_re = re.compile(r"^\d+\.\d{2}$")
    for r in rows:
        for key in ("impressions", "clicks", "spend", "reach", "ctr"):
            assert isinstance(r[key], str), key
        impressions, clicks = int(r["impressions"]), int(r["clicks"])
        assert 0 <= clicks <= impressions and money_re.match(r["spend"])
        assert float(r["ctr"]) == pytest.approx(clicks * 100 / impressions, abs=1e-5)
        assert r["account_currency"] == "USD" and r["account_name"]
        acts = {a["action_type"]: a["value"] for a in r.get("actions", [])}
        assert all(isinstance(v, str) for v in acts.values())
        if "purchase" in acts:
            values = {a["action_type"]: a["value"] for a in r["action_values"]}
            assert acts["purchase"] == acts["omni_purchase"]
            web = {acts.get(t, "0") for t in WEB_PURCHASE_TYPES}
            assert len(web) == 1
            on_meta = int(acts.get("onsite_conversion.purchase", "0"))
            assert int(web.pop()) + on_meta == int(acts["omni_purchase"])
            assert money_re.match(values["omni_purchase"])
            web_v = {values.get(t, "0.00") for t in WEB_PURCHASE_TYPES}
            assert len(web_v) == 1
            on_meta_v = Decimal(values.get("onsite_conversion.purchase", "0"))
            assert Decimal(web_v.pop()) + on_meta_v == Decimal(values["omni_purchase"])
    acts_seen = {a["action_type"] for r in rows for a in r.get("actions", [])}
    assert {"purchase", "onsite_conversion.purchase", *WEB_PURCHASE_TYPES} <= acts_seen


async def test_only_requested_fields_are_returned(emu_client: Any) -> None:
    """A row carries the requested fields plus date_start/date_stop; unknown names are ignored."""
    _, client = emu_client
    rows = await client.insights(fields="ad_id,spend,no_such_field", limit="5")
    assert {frozenset(r) for r in rows} == {
        frozenset({"ad_id", "spend", "date_start", "date_stop"})
    }


@pytest.mark.parametrize("level,key", [("account", None), ("campaign", "campaign_id"),
                                       ("adset", "adset_id")])
async def test_higher_levels_are_exact_sums_of_ad_rows(
    emu_client: Any, level: str, key: str | None
) -> None:
    """Account/campaign/adset rows equal the per-day sums of the ad rows under them."""
    emu, client = emu_client
    fields = "campaign_id,adset_id,impressions,clicks,spend,actions"
    ads = await client.insights(fields=fields, limit="1000")
    upper = await client.insights(fields=fields, level=level, limit="1000")
    sums: dict[tuple[str, str | None], list[Any]] = defaultdict(
        lambda: [0, 0, Decimal(0), 0, 0])
    for r in ads:
        s = sums[(r["date_start"], r[key] if key else None)]
        s[0] += int(r["impressions"])
        s[1] += int(r["clicks"])
        s[2] += Decimal(r["spend"])
        s[3] += sum(int(a["value"]) for a in r.get("actions", []) if a["action_type"] == "purchase")
        s[4] += sum(int(a["value"]) for a in r.get("actions", [])
                    if a["action_type"] == "offsite_conversion.fb_pixel_purchase")
    assert len(upper) == len(sums) == emu.expected_rows(ACCT, "2024-02-27", "2024-03-03", level)
    for r in upper:
        acts = {a["action_type"]: int(a["value"]) for a in r.get("actions", [])}
        got = [int(r["impressions"]), int(r["clicks"]), Decimal(r["spend"]),
               acts.get("purchase", 0), acts.get("offsite_conversion.fb_pixel_purchase", 0)]
        assert got == sums[(r["date_start"], r[key] if key else None)]
    totals = emu.expected_totals(ACCT, "2024-02-27", "2024-03-03")
    assert totals["impressions"] == sum(int(r["impressions"]) for r in ads)
    assert Decimal(str(totals["spend"])) == sum(Decimal(r["spend"]) for r in ads)
    assert totals["website_purchases"] == sum(s[4] for s in sums.values())
    assert totals["purchases"] == sum(s[3] for s in sums.values()) > totals["website_purchases"]


@pytest.mark.parametrize("increment,buckets", [("7", 3), ("all_days", 1)])
async def test_multi_day_buckets_sum_to_expected_totals(
    emu_client: Any, increment: str, buckets: int
) -> None:
    """time_increment=N/all_days rows span their bucket and add up to expected_totals."""
    emu, client = emu_client
    rows = await client.insights(
        time_range='{"since":"2024-03-01","until":"2024-03-20"}', level="campaign",
        time_increment=increment, fields="campaign_id,impressions,clicks,spend", limit="100",
    )
    totals = emu.expected_totals(ACCT, "2024-03-01", "2024-03-20")
    assert len(rows) == 3 * buckets
    assert rows[0]["date_start"] == "2024-03-01" and rows[-1]["date_stop"] == "2024-03-20"
    assert sum(int(r["clicks"]) for r in rows) == totals["clicks"]
    assert sum(Decimal(r["spend"]) for r in rows) == Decimal(totals["spend_cents"]) / 100


async def test_data_is_deterministic_per_seed() -> None:
    """Same seed and accounts give identical rows; another seed gives different metrics."""
    async def first_rows(seed: int) -> list[dict[str, Any]]:
        async with FacebookEmulator(seed=seed).serve() as base, aiohttp.ClientSession() as s:
            return await Client(s, base).insights(fields=METRICS, limit="50")

    a, b, c = await first_rows(7), await first_rows(7), await first_rows(8)
    assert a == b and a != c and [r["ad_id"] for r in a] == [r["ad_id"] for r in c]


async def test_ads_edge_expands_creative_and_adset_fields(emu_client: Any) -> None:
    """/ads pages through every ad and expands creative{...} and adset{...} on request."""
    emu, client = emu_client
    fields = ("id,name,status,effective_status,campaign_id,adset_id,created_time,"
              "creative{title,body,call_to_action_type,image_url,video_id,link_url,"
              "object_story_spec},adset{start_time,end_time}")
    ads, calls = await client.pull(f"/act_{ACCT}/ads", fields=fields, limit="5")
    assert len(ads) == 18 and calls == 4
    assert [a["id"] for a in ads] == [ad.id for ad in emu.data(ACCT).ads]
    ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
    for ad in ads:
        cr = ad["creative"]
        assert cr["id"] and cr["title"] and cr["body"] and cr["call_to_action_type"]
        assert cr["image_url"] == f"https://cdn.example.test/img/{ad['id']}.jpg"
        spec = cr["object_story_spec"]
        landing = (spec.get("link_data") or spec["video_data"]["call_to_action"]["value"])
        assert cr["link_url"] == landing["link"]
        assert ts.match(ad["adset"]["start_time"]) and ts.match(ad["created_time"])
        assert set(ad["adset"]) <= {"id", "start_time", "end_time"}
    assert {a["status"] for a in ads} <= {"ACTIVE", "PAUSED"}
    plain, _ = await client.pull(f"/act_{ACCT}/ads", fields="id,creative", limit="100")
    assert all(set(a["creative"]) == {"id"} for a in plain)


async def test_account_endpoint_and_auth_variants(emu_client: Any) -> None:
    """act_{id} returns the account; Bearer auth works; no token is 190; unknown act is 100/33."""
    _, client = emu_client
    fields = "id,account_id,name,currency,timezone_name,account_status"
    status, _, body = await client.get(f"/act_{ACCT}", fields=fields)
    assert status == 200 and body["id"] == f"act_{ACCT}" and body["currency"] == "USD"
    assert body["timezone_name"] == "America/Los_Angeles" and body["account_status"] == 1
    url = f"{client.base}/act_{ACCT}/?fields=name"
    async with client.session.get(url, headers={"Authorization": "Bearer abc"}) as resp:
        assert resp.status == 200 and (await resp.json())["name"]
    status, _, body = await client.get(f"/act_{ACCT}", token=None)
    assert status == 400 and _error(body)["code"] == 190
    status, _, body = await client.get("/act_42/insights")
    err = _error(body)
    assert status == 400 and (err["code"], err["error_subcode"]) == (100, 33)
    assert err["type"] == "GraphMethodException"


async def test_async_job_progresses_to_completion_and_pages(emu_client: Any) -> None:
    """POST insights makes a job that goes Not Started -> Running -> Completed, then pages."""
    emu, client = emu_client
    status, _, body = await client.call(
        "POST", f"/act_{ACCT}/insights", level="ad", time_increment="1", time_range=RANGE,
        fields='["ad_id","impressions","spend"]',
    )
    job_id = msgspec.json.decode(body)["report_run_id"]
    status, _, early = await client.get(f"/{job_id}/insights")
    assert status == 400 and _error(early)["code"] == 100
    seen: list[tuple[str, int]] = []
    with anyio.fail_after(5):
        while not seen or seen[-1][0] != "Job Completed":
            _, _, job = await client.get(f"/{job_id}")
            seen.append((job["async_status"], job["async_percent_completion"]))
    assert seen == [("Job Not Started", 0), ("Job Running", 50), ("Job Completed", 100)]
    assert job["account_id"] == ACCT and job["date_start"] == "2024-02-27"
    rows, calls = await client.pull(f"/{job_id}/insights", limit="40")
    assert calls == 3 and rows == await client.insights(fields="ad_id,impressions,spend")
    assert emu.stats.count(ACCT, "job") == 3


# -- faults ---------------------------------------------------------------------------------


async def test_throttle_fault_code_headers_and_count(emu_client: Any) -> None:
    """A throttle answers 400/80000 with BUC eta for `count` calls, then normal service resumes."""
    emu, client = emu_client
    emu.set_fault(ACCT, "throttle", count=2, estimated_time_to_regain_access=3)
    for _ in range(2):
        status, headers, body = await client.get(f"/act_{ACCT}/insights", time_range=RANGE)
        err = _error(body)
        assert status == 400 and (err["code"], err["error_subcode"]) == (80000, 2446079)
        assert err["message"].startswith("(#80000) There have been too many calls")
        buc = msgspec.json.decode(headers["X-Business-Use-Case-Usage"])[ACCT][0]
        assert buc["estimated_time_to_regain_access"] == 3 and buc["call_count"] >= 100
    assert (await client.get(f"/act_{ACCT}/insights", time_range=RANGE))[0] == 200
    emu.set_fault(None, "throttle", code=613, count=1)
    status, _, body = await client.get(f"/act_{OTHER}/ads")
    assert status == 400 and _error(body)["code"] == 613
    assert emu.stats.count(ACCT, "insights", 400) == 2


async def test_fault_scope_by_account_and_path(emu_client: Any) -> None:
    """A fault limited to one account and path kind leaves other accounts and paths alone."""
    emu, client = emu_client
    emu.set_fault(ACCT, "server_error", path="insights")
    assert (await client.get(f"/act_{ACCT}/ads"))[0] == 200
    assert (await client.get(f"/act_{OTHER}/insights", time_range=RANGE))[0] == 200
    status, _, body = await client.get(f"/act_{ACCT}/insights", time_range=RANGE)
    err = _error(body)
    assert status == 500
    assert (err["code"], err["error_subcode"], err["is_transient"]) == (1, 99, True)
    emu.clear_faults()
    assert (await client.get(f"/act_{ACCT}/insights", time_range=RANGE))[0] == 200


async def test_usage_and_service_unavailable_faults(emu_client: Any) -> None:
    """`usage` raises the account's (and app_pct the app's) percentages; code 2 can be 503."""
    emu, client = emu_client
    status, headers, _ = await client.get(f"/act_{ACCT}")
    assert status == 200 and msgspec.json.decode(headers["X-Ad-Account-Usage"])[
        "acc_id_util_pct"] == 5
    emu.set_fault(ACCT, "usage", pct=101, count=1)
    status, headers, _ = await client.get(f"/act_{ACCT}")
    assert status == 200
    # The account's usage; the app's (X-App-Usage, across all accounts) stays where it was.
    assert msgspec.json.decode(headers["X-Ad-Account-Usage"])["acc_id_util_pct"] == 101
    assert msgspec.json.decode(headers["X-App-Usage"])["call_count"] == 5
    assert msgspec.json.decode(headers["X-Business-Use-Case-Usage"])[ACCT][0]["total_time"] == 101
    emu.set_fault(ACCT, "usage", pct=10, app_pct=96, count=1)
    _, headers, _ = await client.get(f"/act_{ACCT}")
    assert msgspec.json.decode(headers["X-App-Usage"])["call_count"] == 96
    emu.set_fault(ACCT, "throttle", code=4, count=1)
    status, headers, _ = await client.get(f"/act_{ACCT}")
    assert status == 400 and msgspec.json.decode(headers["X-App-Usage"])["call_count"] == 100
    emu.set_fault(ACCT, "server_error", code=2, status=503, count=1)
    status, _, body = await client.get(f"/act_{ACCT}")
    assert status == 503 and _error(body)["code"] == 2


async def test_usage_headers_present_on_errors_too(emu_client: Any) -> None:
    """Usage headers come with throttles, 500s, auth errors and unknown paths alike."""
    emu, client = emu_client
    emu.set_fault(ACCT, "server_error", count=1)
    responses = [
        await client.get(f"/act_{ACCT}/insights"),
        await client.get(f"/act_{ACCT}", token=None),
        await client.get("/nope/at/all"),
    ]
    for status, headers, _ in responses:
        assert status >= 400
        for name in ("X-App-Usage", "X-Ad-Account-Usage", "X-Business-Use-Case-Usage"):
            msgspec.json.decode(headers[name])


async def test_reduce_data_fault_only_above_max_limit(emu_client: Any) -> None:
    """reduce_data fails requests whose limit exceeds max_limit with 500 code 1."""
    emu, client = emu_client
    emu.set_fault(ACCT, "reduce_data", max_limit=50)
    status, _, body = await client.get(f"/act_{ACCT}/insights", time_range=RANGE, limit="100")
    assert status == 500 and _error(body)["message"].startswith("Please reduce the amount")
    assert (await client.get(f"/act_{ACCT}/insights", time_range=RANGE, limit="50"))[0] == 200


async def test_slow_and_expired_token_faults(emu_client: Any) -> None:
    """A slow fault delays the answer; expired_token answers 400/190/463 for `count` requests."""
    emu, client = emu_client
    emu.set_fault(ACCT, "slow", delay=0.3, count=1)
    started = time.monotonic()
    assert (await client.get(f"/act_{ACCT}"))[0] == 200
    assert time.monotonic() - started >= 0.3
    emu.set_fault(None, "expired_token", count=1)
    status, _, body = await client.get(f"/act_{OTHER}")
    err = _error(body)
    assert status == 400 and (err["code"], err["error_subcode"]) == (190, 463)
    assert err["message"].startswith("Error validating access token: Session has expired")
    assert (await client.get(f"/act_{OTHER}"))[0] == 200


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_bad_body_faults_give_invalid_json_with_200(emu_client: Any, kind: str) -> None:
    """malformed/truncated answer 200 with a body that is not JSON but fully delivered."""
    emu, client = emu_client
    emu.set_fault(ACCT, kind, count=1)
    status, headers, body = await client.call("GET", f"/act_{ACCT}/ads", fields="id,name")
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(body)
    assert (await client.get(f"/act_{ACCT}/ads"))[0] == 200


@pytest.mark.parametrize("mode", ["negative_spend", "clicks_gt_impressions", "missing_ad_id"])
async def test_bad_rows_fault_breaks_every_kth_row(emu_client: Any, mode: str) -> None:
    """bad_rows corrupts exactly every k-th row (by position across pages) the chosen way."""
    emu, client = emu_client
    emu.set_fault(ACCT, "bad_rows", every=4, mode=mode)
    rows = await client.insights(fields="ad_id,impressions,clicks,spend", limit="10")
    bad = [
        i for i, r in enumerate(rows, 1)
        if "ad_id" not in r or r["spend"].startswith("-")
        or int(r["clicks"]) > int(r["impressions"])
    ]
    assert len(rows) == 108 and bad == list(range(4, 109, 4))


async def test_empty_page_with_next_must_be_followed(emu_client: Any) -> None:
    """An empty page still carrying next precedes real pages; following it loses nothing."""
    emu, client = emu_client
    emu.set_fault(ACCT, "empty_page_with_next")
    status, _, first = await client.get(
        f"/act_{ACCT}/insights", time_range=RANGE, time_increment="1", level="ad", limit="50"
    )
    assert status == 200 and first["data"] == [] and "next" in first["paging"]
    rows, calls = await client.pull(
        f"/act_{ACCT}/insights", time_range=RANGE, time_increment="1", level="ad", limit="50",
        fields="ad_id",
    )
    assert len(rows) == 108 and calls == 6  # three empty pages, three real ones


async def test_job_fail_and_job_stall_faults(emu_client: Any) -> None:
    """job_fail ends a job 'Job Failed'; job_stall pins its percent for `count` polls."""
    emu, client = emu_client

    async def new_job() -> str:
        _, _, body = await client.call("POST", f"/act_{ACCT}/insights", time_range=RANGE)
        return str(msgspec.json.decode(body)["report_run_id"])

    emu.set_fault(ACCT, "job_fail", count=1, at=50)
    failing = await new_job()
    states = [(await client.get(f"/{failing}"))[2]["async_status"] for _ in range(3)]
    assert states == ["Job Not Started", "Job Failed", "Job Failed"]
    assert (await client.get(f"/{failing}/insights"))[0] == 400
    emu.set_fault(ACCT, "job_stall", at=50, count=3)
    stalled = await new_job()
    percents = [(await client.get(f"/{stalled}"))[2]["async_percent_completion"]
                for _ in range(6)]
    assert percents == [0, 50, 50, 50, 50, 100]


async def test_http_fault_endpoint_and_stats(emu_client: Any) -> None:
    """/_sandbox/faults sets, lists and clears faults; /_sandbox/stats reports requests."""
    emu, client = emu_client
    spec = {"account_id": f"act_{ACCT}", "kind": "throttle", "count": 1, "code": 17}
    async with client.session.post(f"{client.root}/_sandbox/faults", json=spec) as resp:
        assert resp.status == 200 and (await resp.json())["fault"]["code"] == 17
    async with client.session.post(f"{client.root}/_sandbox/faults", json={"kind": "x"}) as resp:
        assert resp.status == 400
    async with client.session.get(f"{client.root}/_sandbox/faults") as resp:
        assert len((await resp.json())["faults"]) == 1
    status, _, body = await client.get(f"/act_{ACCT}")
    assert status == 400 and _error(body)["code"] == 17
    emu.set_fault(None, "server_error")
    async with client.session.delete(f"{client.root}/_sandbox/faults") as resp:
        assert (await resp.json())["removed"] == 1
    assert (await client.get(f"/act_{ACCT}"))[0] == 200
    async with client.session.get(f"{client.base}/_sandbox/stats") as resp:
        stats = await resp.json()
    assert {(c["status"], c["n"]) for c in stats["counts"]} == {(400, 1), (200, 1)}
    assert stats["recent"][0]["query"]["access_token"] == "<redacted>"


async def test_cli_prints_base_url_and_stops_on_sigterm() -> None:
    """`python -m within_daemon.sandbox facebook --port 0` prints its URL, serves, exits on TERM."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "within_daemon.sandbox", "facebook", "--port", "0",
        "--accounts", "1", "--ads-per-account", "7", stdout=asyncio.subprocess.PIPE, env=env,
    )
    try:
        assert proc.stdout is not None
        with anyio.fail_after(20):
            base = (await proc.stdout.readline()).decode().strip()
        assert re.match(r"^http://127\.0\.0\.1:\d+/v\d+\.\d+$", base)
        async with aiohttp.ClientSession() as session:
            rows, _ = await Client(session, base).pull(
                f"/act_{ACCT}/ads", limit="100", fields="id"
            )
        assert len(rows) == 7
        proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(10):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_field_expansion_parser() -> None:
    """Graph field syntax parses into a nested tree; a JSON list of names is accepted too."""
    tree = parse_fields("id, creative{title,object_story_spec{link_data{link}}},adset.limit(1)")
    assert tree == {
        "id": None, "adset": None,
        "creative": {"title": None, "object_story_spec": {"link_data": {"link": None}}},
    }
    assert parse_fields('["ad_id","spend"]') == {"ad_id": None, "spend": None}


def test_accounts_are_valid_and_sized() -> None:
    """default_accounts gives digit ids; with_ads builds exactly the requested ad count."""
    assert all(a.account_id.isdigit() for a in default_accounts())
    acct = SandboxAccount.with_ads("123", "x", 1000)
    emu = FacebookEmulator([acct])
    assert acct.n_ads == 1000 and len(emu.data("act_123").ads) == 1000
    with pytest.raises(ValueError):
        SandboxAccount("act_1", "bad")


async def test_removed_ads_need_the_effective_status_filter(emu_client: Any) -> None:
    """Deleted/archived ads show in ad rows and the ads edge only when the filter names them."""
    emu, client = emu_client
    removed = {a.id for a in emu.data(OTHER).ads
               if a.graph["effective_status"] in ("DELETED", "ARCHIVED")}
    assert len(removed) == 2
    every = msgspec.json.encode([{"field": "ad.effective_status", "operator": "IN",
                                  "value": ["ACTIVE", "PAUSED", "ADSET_PAUSED",
                                            "CAMPAIGN_PAUSED", "ARCHIVED", "DELETED"]}]).decode()
    plain = await client.insights(OTHER, fields="ad_id,impressions", limit="500")
    full = await client.insights(OTHER, fields="ad_id,impressions", limit="500", filtering=every)
    assert not removed & {r["ad_id"] for r in plain}
    assert removed <= {r["ad_id"] for r in full}
    assert len(full) == emu.expected_rows(OTHER, "2024-02-27", "2024-03-03")
    assert len(plain) == emu.expected_rows(OTHER, "2024-02-27", "2024-03-03",
                                           statuses=frozenset())
    # The account row counts every ad, whatever the ad-level default hides.
    [acct] = await client.insights(OTHER, level="account", fields="impressions",
                                   time_increment="all_days")
    assert int(acct["impressions"]) == sum(int(r["impressions"]) for r in full)
    ads, _ = await client.pull(f"/act_{OTHER}/ads", fields="id", limit="100")
    listed, _ = await client.pull(f"/act_{OTHER}/ads", fields="id", limit="100", filtering=every)
    assert not removed & {a["id"] for a in ads} and removed <= {a["id"] for a in listed}
    only_deleted = '[{"field":"ad.effective_status","operator":"IN","value":["DELETED"]}]'
    rows = await client.insights(OTHER, fields="ad_id", filtering=only_deleted)
    assert {r["ad_id"] for r in rows} < removed
    bad = '[{"field":"ad.effective_status","operator":"IN","value":["GONE"]}]'
    status, _, body = await client.get(f"/act_{OTHER}/insights", level="ad", filtering=bad)
    assert status == 400 and _error(body)["code"] == 100


async def test_rankings_only_when_requested(emu_client: Any) -> None:
    """quality_ranking and friends come back on ad rows only when asked for."""
    _, client = emu_client
    plain = await client.insights(fields="ad_id,impressions")
    ranked = await client.insights(fields="ad_id,quality_ranking,conversion_rate_ranking")
    assert all("quality_ranking" not in r for r in plain)
    assert all(r["quality_ranking"] and r["conversion_rate_ranking"] for r in ranked)
    assert all("engagement_rate_ranking" not in r for r in ranked)


async def test_token_in_an_oauth_header_keeps_it_out_of_next_links(emu_client: Any) -> None:
    """Authorization: OAuth <token> is accepted, and paging.next then carries no token."""
    emu, client = emu_client
    url = f"{client.base}/act_{ACCT}/insights"
    params = {"level": "ad", "time_increment": "1", "time_range": RANGE, "limit": "5"}
    for scheme in ("OAuth", "Bearer"):
        async with client.session.get(url, params=params,
                                      headers={"Authorization": f"{scheme} s3cret"}) as resp:
            body = await resp.json()
        assert resp.status == 200 and body["data"]
        assert "s3cret" not in body["paging"]["next"]
        assert "access_token" not in body["paging"]["next"]
    async with client.session.get(url, params=params,
                                  headers={"Authorization": "Basic s3cret"}) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == 190


async def test_attribution_setting_is_each_ad_sets_own(emu_client: Any) -> None:
    """attribution_setting is the ad set's setting on ad rows, "mixed" above mixed ad sets."""
    emu, client = emu_client
    fields = "ad_id,adset_id,attribution_setting"
    ads = await client.insights(fields=fields, limit="1000")
    data = emu.data(ACCT)
    by_id = {s.id: s for s in data.adsets}
    assert ads and {r["attribution_setting"] for r in ads} > {"7d_click_1d_view"}
    for r in ads:
        setting = ATTRIBUTION_SETTINGS[by_id[r["adset_id"]].index % len(ATTRIBUTION_SETTINGS)]
        assert r["attribution_setting"] == setting
    [acct] = await client.insights(fields="attribution_setting", level="account",
                                   time_increment="all_days")
    assert acct["attribution_setting"] == "mixed"
    plain = await client.insights(fields="ad_id", limit="5")
    assert all("attribution_setting" not in r for r in plain)


def test_young_days_show_part_of_their_purchases() -> None:
    """With as_of set, a day younger than 28 days reports fewer purchases, growing with age."""
    data = FacebookEmulator().data(ACCT)
    day = dt.date(2024, 3, 1).toordinal()
    settled = data.sum_days(range(len(data.ads)), day, day)
    seen = []
    for age in (0, 7, 27, 28, 40):
        data.as_of = day + age
        seen.append(data.sum_days(range(len(data.ads)), day, day))
    purchases = [m[5] for m in seen]
    assert purchases == sorted(purchases) and purchases[0] < purchases[-1] == settled[5]
    assert seen[3] == seen[4] == settled  # settled from day 28 on
    assert all(m[0] == settled[0] and m[2] == settled[2] for m in seen)  # delivery is final
