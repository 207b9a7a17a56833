"""Amazon answers are typed: a wrong shape is our error with its path, extra fields pass.

The Amazon emulator answers over a real socket; ``tests.fakes.tamper`` changes one field
of its JSON on the way out (report downloads are streamed gzip and pass untouched).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from within_daemon.errors import AnswerShapeError
from within_daemon.sandbox.amazon.server import AmazonEmulator
from within_daemon.sources.amazon.answers import ERROR_BODY, REPORT
from within_daemon.sources.amazon.errors import error_text

from ..fakes.tamper import Edit, tampered
from .test_amazon import US, ad_rows, connector


def on_status(change: Any) -> Edit:
    def edit(path: str, status: int, obj: Any) -> Any:
        if path.startswith("/reporting/reports/") and status == 200 and isinstance(obj, dict):
            return change(obj)
        return None
    return edit


async def test_wrong_type_at_a_nested_path_names_platform_endpoint_and_path(
        caplog: pytest.LogCaptureFixture) -> None:
    """A report status whose url is an object is an AnswerShapeError; no secret shown."""
    def change(obj: dict[str, Any]) -> dict[str, Any]:
        obj["url"] = {"signed": "X-Amz-Signature=abc", "token": "Atzr|good"}
        return obj

    emu = tampered(AmazonEmulator(), on_status(change))
    caplog.set_level(logging.DEBUG)
    async with emu.serve(), connector(emu, max_retries=0) as conn:
        with anyio.fail_after(15), pytest.raises(AnswerShapeError) as info:
            await ad_rows(conn)
    text = str(info.value)
    assert "amazon report_status" in text and "`$.url`" in text
    assert (info.value.platform, info.value.endpoint, info.value.path) == (
        "amazon", "report_status", "$.url")
    assert "Atzr|good" not in text and "Atzr|good" not in caplog.text
    assert emu.client_secret not in caplog.text


async def test_a_profile_list_of_another_shape_names_the_entry() -> None:
    """A profile whose accountInfo is a string is refused at ``$[i].accountInfo``."""
    def edit(path: str, status: int, obj: Any) -> Any:
        if path.endswith("/v2/profiles") and isinstance(obj, list) and obj:
            obj[-1]["accountInfo"] = "vendor"
            return obj
        return None

    emu = tampered(AmazonEmulator(), edit)
    async with emu.serve(), connector(emu) as conn:
        with anyio.fail_after(15), pytest.raises(
                AnswerShapeError, match=r"amazon profiles: .*`\$\[\d+\]\.accountInfo`"):
            await conn.get_account_info()


async def test_unknown_fields_are_tolerated() -> None:
    """Fields Amazon may add (profiles, reports, SB ads pages) change nothing."""
    def edit(path: str, status: int, obj: Any) -> Any:
        if isinstance(obj, dict):
            obj["newField"] = {"nested": [1, None]}
            for ad in obj.get("ads") or []:
                ad["newField"] = True
            return obj
        if isinstance(obj, list):
            for p in obj:
                if isinstance(p, dict):
                    p["newField"] = True
                    if isinstance(p.get("accountInfo"), dict):
                        p["accountInfo"]["tier"] = "gold"
            return obj
        return None

    emu = tampered(AmazonEmulator(), edit)
    async with emu.serve(), connector(emu, ad_products=("sp", "sb")) as conn:
        info = await conn.get_account_info()
        rows = await ad_rows(conn)
        with anyio.fail_after(15):
            ads = [a async for page in conn.iter_ads() for a in page]
    assert info.currency and info.timezone
    assert rows and ads and all("newField" in a for a in ads)
    assert all("adId" in r for r in rows)


async def test_a_poison_ad_costs_its_ad_not_the_page() -> None:
    """One Sponsored Brands ad with a creative of another type still comes with its page."""
    poisoned: list[str] = []

    def edit(path: str, status: int, obj: Any) -> Any:
        if path.endswith("/sb/v4/ads/list") and isinstance(obj, dict) and obj.get("ads"):
            if not poisoned:
                obj["ads"][0]["creative"] = 12345
                poisoned.append(str(obj["ads"][0]["adId"]))
            return obj
        return None

    plain = AmazonEmulator()
    async with plain.serve(), connector(plain, ad_products=("sp", "sb")) as conn:
        with anyio.fail_after(15):
            want = [a["id"] async for page in conn.iter_ads() for a in page]
    emu = tampered(AmazonEmulator(), edit)
    async with emu.serve(), connector(emu, ad_products=("sp", "sb")) as conn:
        with anyio.fail_after(15):
            ads = [a async for page in conn.iter_ads() for a in page]
    assert [a["id"] for a in ads] == want and poisoned
    assert [a["creative"] for a in ads if a["id"] == poisoned[0]] == [12345]


def test_error_bodies_and_reports_decode_typed() -> None:
    """Reporting's detail, other services' details and LwA's error shape all give a text."""
    assert error_text(b'{"code": "425", "detail": "Too early"}') == "425: Too early"
    assert error_text(b'{"code": "UNAUTHORIZED", "details": "Not authorized"}') == \
        "UNAUTHORIZED: Not authorized"
    assert error_text(b'{"error": "invalid_grant", "error_description": "revoked"}') == \
        "invalid_grant: revoked"
    assert error_text(b'{"details": ["a list"]}') == '{"details": ["a list"]}'
    assert ERROR_BODY.decode(b'{"code": 400, "extra": 1}').code == 400
    rep = REPORT.decode(b'{"reportId": "r1", "status": "PENDING", "url": null, "x": 1}',
                        platform="amazon", account_id=US, endpoint="report_create")
    assert (rep.report_id, rep.status, rep.url) == ("r1", "PENDING", None)
