"""The TikTok emulator over real sockets: envelopes, paging, filters, oracles and faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import msgspec
import pytest

from within_daemon.sandbox.tiktok.data import ATTRIBUTION, TikTokAdvertiser
from within_daemon.sandbox.tiktok.server import TikTokEmulator

ADV = "7100000000000000001"
BERLIN = "7100000000000000002"
ADS_DIMS = '["ad_id", "stat_time_day"]'
METRICS = '["spend", "impressions", "clicks", "conversion", "campaign_id", "ctr"]'
ALL = '[{"field_name": "ad_status", "filter_type": "IN", "filter_value": "[\\"STATUS_ALL\\"]"}]'


class Client:
    """One session against the emulator; every call is bounded by a timeout."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def raw(
        self, path: str, *, token: str | None = "tok", **params: str
    ) -> tuple[int, bytes]:
        headers = {"Access-Token": token} if token else {}
        with anyio.fail_after(10):
            async with self.session.get(f"{self.base}{path}", params=params,
                                        headers=headers) as resp:
                return resp.status, await resp.read()

    async def get(self, path: str, **params: str) -> Any:
        status, body = await self.raw(path, **params)
        assert status == 200, body
        return msgspec.json.decode(body)

    async def report(self, **params: str) -> Any:
        q = {"advertiser_id": ADV, "report_type": "BASIC", "data_level": "AUCTION_AD",
             "dimensions": ADS_DIMS, "metrics": METRICS, "start_date": "2024-03-01",
             "end_date": "2024-03-03", "page_size": "1000", **params}
        return await self.get("/report/integrated/get/", **q)

    async def all_rows(self, **params: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self.report(page=str(page), **params)
            assert body["code"] == 0, body
            rows += body["data"]["list"]
            if page >= body["data"]["page_info"]["total_page"]:
                return rows
            page += 1


@pytest.fixture
async def tt() -> AsyncIterator[tuple[TikTokEmulator, Client]]:
    emu = TikTokEmulator()
    async with emu.serve() as base, aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=15)
    ) as session:
        yield emu, Client(session, base)


async def test_report_page_has_envelope_strings_and_page_info(
    tt: tuple[TikTokEmulator, Client],
) -> None:
    """A report answer is {code 0, message, request_id, data{list, page_info}} with strings."""
    _, c = tt
    body = await c.report(page_size="5")
    assert body["code"] == 0 and body["message"] == "OK" and len(body["request_id"]) == 32
    info = body["data"]["page_info"]
    assert info == {"page": 1, "page_size": 5, "total_number": 33, "total_page": 7}
    row = body["data"]["list"][0]
    assert set(row) == {"dimensions", "metrics"}
    assert row["dimensions"]["stat_time_day"] == "2024-03-01 00:00:00"
    assert all(isinstance(v, str) for v in row["metrics"].values())
    assert set(row["metrics"]) == {"spend", "impressions", "clicks", "conversion",
                                   "campaign_id", "ctr"}


async def test_paging_returns_each_row_once(tt: tuple[TikTokEmulator, Client]) -> None:
    """Pages 1..total_page with a small page size tile the rows without repeats."""
    emu, c = tt
    rows = await c.all_rows(page_size="7", filtering=ALL)
    keys = {(r["dimensions"]["ad_id"], r["dimensions"]["stat_time_day"]) for r in rows}
    assert len(rows) == len(keys) == emu.expected_rows(ADV, "2024-03-01", "2024-03-03") == 36


async def test_deleted_ads_need_the_status_all_filter(tt: tuple[TikTokEmulator, Client]) -> None:
    """Ad-level reports leave deleted ads out unless ad_status IN STATUS_ALL is sent."""
    emu, c = tt
    plain = await c.all_rows()
    listed = '[{"field_name": "ad_status", "filter_type": "IN", "filter_value": ["STATUS_ALL"]}]'
    assert len(plain) == 33  # ad #5 of 12 is deleted: 3 days x 11 ads
    assert len(await c.all_rows(filtering=ALL)) == len(await c.all_rows(filtering=listed)) == 36


async def test_advertiser_rows_are_sums_of_ad_rows(tt: tuple[TikTokEmulator, Client]) -> None:
    """AUCTION_ADVERTISER rows equal the per-day sums of all ad rows, deleted ads included."""
    emu, c = tt
    ads = await c.all_rows(filtering=ALL)
    for dims in ('["stat_time_day"]', '["advertiser_id", "stat_time_day"]'):
        body = await c.report(data_level="AUCTION_ADVERTISER", dimensions=dims,
                              metrics='["spend", "impressions"]')
        days = body["data"]["list"]
        assert len(days) == 3
        for day in days:
            stamp = day["dimensions"]["stat_time_day"]
            mine = [r for r in ads if r["dimensions"]["stat_time_day"] == stamp]
            assert int(day["metrics"]["impressions"]) == sum(
                int(r["metrics"]["impressions"]) for r in mine)
    totals = emu.expected_totals(ADV, "2024-03-01", "2024-03-03")
    assert sum(int(r["metrics"]["clicks"]) for r in ads) == totals["clicks"]
    assert sum(round(float(r["metrics"]["spend"]) * 100) for r in ads) == totals["spend_cents"]


async def test_purchase_value_and_roas(tt: tuple[TikTokEmulator, Client]) -> None:
    """total_complete_payment_rate is the purchase VALUE; complete_payment_roas = value/spend."""
    emu, c = tt
    mets = '["spend", "complete_payment", "total_complete_payment_rate", "complete_payment_roas"]'
    ads = await c.all_rows(filtering=ALL, metrics=mets)
    cents = 0
    for r in ads:
        m = r["metrics"]
        value, spend = float(m["total_complete_payment_rate"]), float(m["spend"])
        cents += round(value * 100)
        assert int(m["complete_payment"]) > 0 or value == 0
        if spend:
            assert float(m["complete_payment_roas"]) == pytest.approx(value / spend, abs=0.006)
    totals = emu.expected_totals(ADV, "2024-03-01", "2024-03-03")
    assert cents == totals["revenue_cents"] > 0


async def test_adgroups_carry_attribution_windows(tt: tuple[TikTokEmulator, Client]) -> None:
    """/adgroup/get/ lists every ad group with its click and view attribution windows."""
    emu, c = tt
    body = await c.get("/adgroup/get/", advertiser_id=ADV, page_size="100")
    groups = body["data"]["list"]
    data = emu.data(ADV)
    assert [g["adgroup_id"] for g in groups] == [g[0] for g in data.adgroups]
    assert {(g["click_attribution_window"], g["view_attribution_window"]) for g in groups} == \
        set(ATTRIBUTION[: len(groups)])
    assert body["data"]["page_info"]["total_number"] == len(data.adgroups)


async def test_expected_counts_match_delivering_rows(tt: tuple[TikTokEmulator, Client]) -> None:
    """expected_counts counts campaigns and ads with impressions > 0 per day."""
    emu, c = tt
    rows = await c.all_rows(filtering=ALL)
    live = [r for r in rows if int(r["metrics"]["impressions"]) > 0]
    assert len(live) < len(rows)  # some ad-days do not deliver
    counts = emu.expected_counts(ADV, "2024-03-01", "2024-03-03")
    assert sum(n for _, n in counts.values()) == len(live)


@pytest.mark.parametrize(("params", "code"), [
    ({"metrics": '["spend", "bogus"]'}, 40002),
    ({"page_size": "1001"}, 40002),
    ({"dimensions": "not json"}, 40002),
    ({"report_type": "AUDIENCE"}, 40002),
    ({"start_date": "2024-01-01", "end_date": "2024-01-31"}, 40067),
    ({"advertiser_id": "42"}, 40001),
])
async def test_invalid_requests_are_http_200_with_a_code(
    tt: tuple[TikTokEmulator, Client], params: dict[str, str], code: int
) -> None:
    """Bad parameters, a 31-day range and an unknown advertiser answer HTTP 200 + code."""
    _, c = tt
    body = await c.report(**params)
    assert body["code"] == code and body["data"] == {} and body["request_id"]


async def test_token_and_trailing_slash(tt: tuple[TikTokEmulator, Client]) -> None:
    """No Access-Token header is code 40104; a path without its trailing slash is HTTP 404."""
    _, c = tt
    status, body = await c.raw("/ad/get/", token=None, advertiser_id=ADV)
    assert status == 200 and msgspec.json.decode(body)["code"] == 40104
    status, _ = await c.raw("/ad/get", advertiser_id=ADV)
    assert status == 404


async def test_ad_get_pages_filters_and_fields(tt: tuple[TikTokEmulator, Client]) -> None:
    """/ad/get/ pages ads, hides deleted ones unless AD_STATUS_ALL, projects optional fields."""
    _, c = tt
    body = await c.get("/ad/get/", advertiser_id=ADV, page_size="5")
    assert body["data"]["page_info"]["total_number"] == 11
    everything = '{"secondary_status": "AD_STATUS_ALL"}'
    body = await c.get("/ad/get/", advertiser_id=ADV, page_size="100", filtering=everything)
    ads = body["data"]["list"]
    assert len(ads) == 12 and {a["secondary_status"] for a in ads} >= {"AD_STATUS_DELETE"}
    assert all(a["ad_text"] and a["call_to_action"] and a["landing_page_url"] for a in ads)
    body = await c.get("/ad/get/", advertiser_id=ADV, fields='["ad_text"]')
    assert set(body["data"]["list"][0]) == {"ad_id", "ad_text"}


async def test_advertiser_info_both_id_forms(tt: tuple[TikTokEmulator, Client]) -> None:
    """advertiser/info/ takes advertiser_ids (JSON array) or a single advertiser_id."""
    _, c = tt
    body = await c.get("/advertiser/info/", advertiser_ids=f'["{BERLIN}"]')
    [info] = body["data"]["list"]
    assert (info["currency"], info["display_timezone"]) == ("EUR", "Europe/Berlin")
    assert info["timezone"] == "Etc/GMT-1"  # a fixed offset: no daylight saving
    body = await c.get("/advertiser/info/", advertiser_id=ADV)
    assert body["data"]["list"][0]["advertiser_id"] == ADV
    body = await c.get("/advertiser/info/", advertiser_ids='["42"]')
    assert body["code"] == 40001


@pytest.mark.parametrize(("kind", "code"), [
    ("throttle", 40100), ("throttle", 40133), ("throttle", 40016), ("auth_error", 40102),
    ("auth_error", 40105), ("server_error", 50000), ("server_error", 50002),
    ("error_code", 40006),
])
async def test_code_faults(tt: tuple[TikTokEmulator, Client], kind: str, code: int) -> None:
    """Each error fault answers HTTP 200 with its code, once per count, then recovers."""
    emu, c = tt
    emu.set_fault(ADV, kind, count=1, code=code)
    assert (await c.report())["code"] == code
    assert (await c.report())["code"] == 0
    assert emu.codes[(ADV, code)] == 1


async def test_gateway_status_and_body_faults(tt: tuple[TikTokEmulator, Client]) -> None:
    """server_error with a status is a bare HTTP error; malformed and truncated break JSON."""
    emu, c = tt
    emu.set_fault(ADV, "server_error", count=1, status=503)
    assert (await c.raw("/report/integrated/get/", advertiser_id=ADV))[0] == 503
    for kind in ("malformed", "truncated"):
        emu.set_fault(ADV, kind, count=1, path="ads")
        status, body = await c.raw("/ad/get/", advertiser_id=ADV)
        assert status == 200
        with pytest.raises(msgspec.DecodeError):
            msgspec.json.decode(body)


async def test_query_too_large_fires_above_max_days(tt: tuple[TikTokEmulator, Client]) -> None:
    """query_too_large answers 40067 only for ranges longer than max_days."""
    emu, c = tt
    emu.set_fault(ADV, "query_too_large", max_days=2)
    assert (await c.report())["code"] == 40067
    assert (await c.report(end_date="2024-03-02"))["code"] == 0


async def test_value_encoding_faults(tt: tuple[TikTokEmulator, Client]) -> None:
    """mixed_types, null_metrics and ids_as_numbers change how values are encoded."""
    emu, c = tt
    emu.set_fault(ADV, "mixed_types", count=1)
    rows = (await c.report())["data"]["list"]
    assert isinstance(rows[0]["metrics"]["impressions"], int)
    assert isinstance(rows[0]["metrics"]["spend"], float)
    assert rows[1]["metrics"]["impressions"].endswith(".0")
    assert isinstance(rows[2]["metrics"]["impressions"], str)
    emu.set_fault(ADV, "null_metrics", count=1, fields="conversion,spend", every=2)
    rows = (await c.report())["data"]["list"]
    assert rows[0]["metrics"]["conversion"] is None and rows[0]["metrics"]["spend"] is None
    assert rows[1]["metrics"]["conversion"] is not None
    emu.set_fault(ADV, "ids_as_numbers", count=1)
    row = (await c.report())["data"]["list"][0]
    assert isinstance(row["dimensions"]["ad_id"], int)
    assert isinstance(row["metrics"]["campaign_id"], int)


async def test_drop_rows_and_slow(tt: tuple[TikTokEmulator, Client]) -> None:
    """drop_rows shortens a non-last page; slow delays the answer."""
    emu, c = tt
    emu.set_fault(ADV, "drop_rows", count=1, n=2)
    body = await c.report(page_size="10")
    assert len(body["data"]["list"]) == 8 and body["data"]["page_info"]["total_number"] == 33
    emu.set_fault(ADV, "slow", count=1, delay=0.3)
    t0 = time.monotonic()
    await c.report()
    assert time.monotonic() - t0 >= 0.3


async def test_faults_over_http_admin(tt: tuple[TikTokEmulator, Client]) -> None:
    """Faults can be switched on over /_sandbox/faults, as from another process."""
    emu, c = tt
    root = c.base.split("/open_api")[0]
    spec = {"kind": "throttle", "account_id": ADV, "count": 1, "code": 40133}
    with anyio.fail_after(10):
        async with c.session.post(f"{root}/_sandbox/faults", json=spec) as resp:
            assert resp.status == 200
    assert (await c.report())["code"] == 40133
    assert emu.stats.count(ADV, "report") == 1


async def test_data_is_deterministic_and_respects_active_from() -> None:
    """Two emulators with one seed agree; days before active_from have no rows."""
    late = [TikTokAdvertiser("7100000000000000009", "Late", active_from="2024-03-02")]
    a, b = TikTokEmulator(late), TikTokEmulator(late)
    adv = late[0].advertiser_id
    assert a.expected_totals(adv, "2024-03-01", "2024-03-05") == b.expected_totals(
        adv, "2024-03-01", "2024-03-05")
    assert a.expected_rows(adv, "2024-03-01", "2024-03-01") == 0
    assert a.expected_rows(adv, "2024-03-01", "2024-03-03") == 2 * 12
