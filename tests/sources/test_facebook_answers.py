"""Graph answers are typed: a wrong shape is our error with its path, extra fields pass.

The Facebook emulator answers over a real socket; ``tests.fakes.tamper`` changes one field
of its JSON on the way out, as a changed API or a proxy would.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest

from within_daemon.config import FacebookConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.errors import AnswerShapeError
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator, SandboxAccount
from within_daemon.sources import FacebookAdsConnector

from .. import dbq
from ..conftest import FAST_FACEBOOK, TOKEN, fb_account, write_config
from ..fakes.tamper import Edit, tampered

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-05")


def emulator_with(edit: Edit) -> FacebookEmulator:
    accounts = [SandboxAccount.with_ads(ACC, "Typed", 12, active_from="2024-01-01")]
    return tampered(FacebookEmulator(accounts, job_step=50), edit)


def connector(emu: FacebookEmulator, **cfg: Any) -> FacebookAdsConnector:
    settings = FacebookConfig(base_url=emu.base_url, **{**FAST_FACEBOOK, "max_retries": 0,
                                                        **cfg})
    return FacebookAdsConnector(ACC, TOKEN, rate_limit=60000, config=settings,
                                metrics=Metrics())


async def rows_of(conn: FacebookAdsConnector, **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with anyio.fail_after(20):
        async for page in conn.iter_insights(RANGE, **kw):
            out.extend(page)
    return out


def on_insights(change: Any) -> Edit:
    def edit(path: str, status: int, obj: Any) -> Any:
        if (path.endswith("/insights") and status == 200 and isinstance(obj, dict)
                and "data" in obj):
            return change(obj)
        return None
    return edit


async def test_wrong_type_at_a_nested_path_names_platform_endpoint_and_path(
        caplog: pytest.LogCaptureFixture) -> None:
    """A cursor that is an object (holding the token) is an AnswerShapeError; no token shown."""
    def change(obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("paging", {}).setdefault("cursors", {})["after"] = {"t": TOKEN}
        return obj

    emu = emulator_with(on_insights(change))
    caplog.set_level(logging.DEBUG)
    async with emu.serve(), connector(emu) as conn:
        with pytest.raises(AnswerShapeError) as info:
            await rows_of(conn, use_async=False)
    err = info.value
    text = str(err)
    assert "facebook" in text and "insights" in text and "$.paging.cursors.after" in text
    assert (err.platform, err.endpoint, err.path) == ("facebook", "insights",
                                                       "$.paging.cursors.after")
    assert not err.retriable and err.error_class == "answer_shape"
    assert TOKEN not in text and TOKEN not in repr(err.args) and TOKEN not in caplog.text
    # Not retried: the same request would get the same answer.
    assert sum(1 for r in emu.stats.recent if r.kind == "insights") == 1


async def test_a_page_whose_data_is_not_a_list_is_refused_with_its_path() -> None:
    """``data`` as an object is refused at ``$.data`` (the job's results endpoint named)."""
    emu = emulator_with(on_insights(lambda obj: {**obj, "data": {"rows": obj["data"]}}))
    async with emu.serve(), connector(emu) as conn:
        with pytest.raises(AnswerShapeError, match=r"facebook job_results: .*`\$\.data`"):
            await rows_of(conn, use_async=True)


async def test_unknown_fields_are_tolerated() -> None:
    """Fields Graph may add (in the page, paging, cursors and job status) change nothing."""
    def edit(path: str, status: int, obj: Any) -> Any:
        if status != 200 or not isinstance(obj, dict):
            return None
        obj["new_top_level"] = {"nested": [1, 2, {"x": None}]}
        paging = obj.get("paging")
        if isinstance(paging, dict):
            paging["previous"] = "https://example.invalid/prev"
            paging["estimate"] = 3
            paging.get("cursors", {})["shiny"] = True
        return obj

    emu = emulator_with(edit)
    async with emu.serve(), connector(emu, page_size=7) as conn:
        sync_rows = await rows_of(conn, use_async=False)
        async_rows = await rows_of(conn, use_async=True)
        info = await conn.get_account_info()
    assert len(sync_rows) == len(async_rows) == emu.expected_rows(ACC, *RANGE) == 60
    assert info.currency


async def test_a_200_error_object_in_place_of_a_page_is_graphs_error() -> None:
    """A 200 carrying ``{"error": {...}}`` is classified as Graph's error, not a shape."""
    def edit(path: str, status: int, obj: Any) -> Any:
        if path.endswith("/insights") and isinstance(obj, dict) and "data" in obj:
            return {"error": {"message": "Invalid OAuth access token", "type": "OAuthException",
                              "code": 190}}
        return None

    emu = emulator_with(edit)
    async with emu.serve(), connector(emu) as conn:
        with pytest.raises(Exception, match="Graph error 190") as info:
            await rows_of(conn, use_async=False)
    assert not isinstance(info.value, AnswerShapeError)


async def test_a_poison_value_costs_its_row_not_the_page(tmp_path: Path) -> None:
    """One row whose impressions is an object is quarantined; the page's other rows load."""
    poisoned: list[tuple[str, str]] = []

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        rows = obj.get("data") or []
        if rows and not poisoned:
            rows[0]["impressions"] = {"oops": [1, 2]}
            poisoned.append((rows[0]["ad_id"], rows[0]["date_start"]))
        return obj

    emu = emulator_with(on_insights(change))
    async with emu.serve():
        path = write_config(
            tmp_path, base_url=emu.base_url, db=f"sqlite:///{tmp_path}/within.db",
            accounts=[fb_account(ACC)],
            tasks=[{"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 5}])
        loaded = load_config(path)
        with anyio.fail_after(60):
            [res] = await run_once(loaded, metrics=Metrics())
    assert poisoned
    assert res.status == "success", res
    quarantined = dbq.rows(loaded, "SELECT raw_json FROM quarantine")
    assert [(json.loads(raw)["ad_id"], json.loads(raw)["date_start"])
            for (raw,) in quarantined] == poisoned
    assert res.quarantined == 1 and res.loaded > 0
    assert res.loaded + res.quarantined == res.fetched
