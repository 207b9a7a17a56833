"""TikTok envelopes are typed: a wrong shape is our error with its path, extra fields pass.

The TikTok emulator answers over a real socket; ``tests.fakes.tamper`` changes one field
of its JSON on the way out.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from within_daemon.config import TikTokConfig
from within_daemon.errors import AnswerShapeError
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.tiktok.server import TikTokEmulator
from within_daemon.schema import AD_DATA_SCHEMA
from within_daemon.sources.tiktok.connector import TikTokAdsConnector
from within_daemon.transforms import DataNormalizer, DataValidator

from ..fakes.tamper import Edit, tampered

ADV = "7100000000000000001"
RANGE = ("2024-03-01", "2024-03-05")
SECRET = "tok-secret-4711"
FAST: dict[str, Any] = {
    "throttle_pause_seconds": 0.02, "backoff_base_seconds": 0.01, "max_retries": 0,
    "max_pace_delay_seconds": 0.02, "breaker_reset_seconds": 0.2, "timeout_seconds": 5.0,
}


def connector(emu: TikTokEmulator, **cfg: Any) -> TikTokAdsConnector:
    settings = TikTokConfig(base_url=emu.base_url, **{**FAST, **cfg})
    return TikTokAdsConnector(ADV, SECRET, rate_limit=60000, config=settings,
                              metrics=Metrics())


async def ad_rows(conn: TikTokAdsConnector) -> list[Any]:
    rows: list[Any] = []
    with anyio.fail_after(15):
        async for page in conn.iter_ad_rows(RANGE):
            rows.extend(page)
    return rows


def on_reports(change: Any) -> Edit:
    def edit(path: str, status: int, obj: Any) -> Any:
        if "report/integrated" in path and isinstance(obj, dict) and obj.get("code") == 0:
            return change(obj)
        return None
    return edit


async def test_wrong_type_at_a_nested_path_names_platform_endpoint_and_path(
        caplog: pytest.LogCaptureFixture) -> None:
    """total_page as an object (holding the token) is an AnswerShapeError; no token shown."""
    def change(obj: dict[str, Any]) -> dict[str, Any]:
        obj["data"]["page_info"]["total_page"] = {"token": SECRET}
        return obj

    emu = tampered(TikTokEmulator(), on_reports(change))
    caplog.set_level(logging.DEBUG)
    async with emu.serve(), connector(emu) as conn:
        with pytest.raises(AnswerShapeError) as info:
            await ad_rows(conn)
    text = str(info.value)
    assert "tiktok" in text and "report" in text and "$.data.page_info.total_page" in text
    assert (info.value.endpoint, info.value.path) == ("report", "$.data.page_info.total_page")
    assert SECRET not in text and SECRET not in caplog.text


async def test_a_page_without_page_info_is_refused_with_its_path() -> None:
    """A successful page whose data lacks page_info names ``$.data.page_info``."""
    def change(obj: dict[str, Any]) -> dict[str, Any]:
        del obj["data"]["page_info"]
        return obj

    emu = tampered(TikTokEmulator(), on_reports(change))
    async with emu.serve(), connector(emu) as conn:
        with pytest.raises(AnswerShapeError, match=r"tiktok report: .*`\$\.data\.page_info`"):
            await ad_rows(conn)


async def test_an_error_code_wins_over_an_odd_payload() -> None:
    """Code 40100 with ``data`` of another shape is TikTok's throttle: waited out, retried."""
    hits: list[int] = []

    def edit(path: str, status: int, obj: Any) -> Any:
        if "report/integrated" in path and not hits:
            hits.append(1)
            return {"code": 40100, "message": "Too many requests", "data": [1, 2]}
        return None

    emu = tampered(TikTokEmulator(), edit)
    async with emu.serve(), connector(emu) as conn:
        rows = await ad_rows(conn)  # a shape error would be permanent: no rows at all
    assert hits and len(rows) == 60
    assert len(emu.stats.requests(kind="report")) == len(set(
        r.query["page"] for r in emu.stats.requests(kind="report"))) + 1


async def test_unknown_fields_are_tolerated() -> None:
    """Fields TikTok may add (envelope, data, page_info, advertiser) change nothing."""
    def edit(path: str, status: int, obj: Any) -> Any:
        if not isinstance(obj, dict):
            return None
        obj["trace"] = {"new": [1, {"x": None}]}
        data = obj.get("data")
        if isinstance(data, dict):
            data["cursor"] = "abc"
            if isinstance(data.get("page_info"), dict):
                data["page_info"]["has_more"] = True
            for item in data.get("list") or []:
                item["brand_new"] = 1
        return obj

    emu = tampered(TikTokEmulator(), edit)
    async with emu.serve(), connector(emu, page_size=7) as conn:
        info = await conn.get_account_info()
        rows = await ad_rows(conn)
    assert info.currency and len(rows) == emu.expected_rows(ADV, *RANGE) == 60


async def test_a_poison_value_costs_its_row_not_the_page() -> None:
    """A row whose spend is an object arrives with its page; validation refuses only it."""
    poisoned: list[Any] = []

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        rows = obj["data"].get("list") or []
        if rows and not poisoned:
            rows[1]["metrics"]["spend"] = {"nested": ["x"]}
            poisoned.append(rows[1]["dimensions"]["ad_id"])
        return obj

    emu = tampered(TikTokEmulator(), on_reports(change))
    async with emu.serve(), connector(emu, page_size=9) as conn:
        rows = await ad_rows(conn)
    assert len(rows) == 60 and poisoned
    recs = DataNormalizer().normalize_ad_data(rows, "tiktok", account={"account_id": ADV})
    good, bad = DataValidator().split(recs, AD_DATA_SCHEMA)
    assert len(good) == 59 and len(bad) == 1
    assert str(bad[0][0]["ad_id"]) == str(poisoned[0])
