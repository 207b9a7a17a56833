"""Google answers are typed: a wrong shape is our error with its path, extra fields pass.

Paged ``:search`` answers come from the Google emulator over a real socket, one field
changed on the way out by ``tests.fakes.tamper``; searchStream bodies that the emulator
never sends (a batch of another shape) come from a one-route server on a real socket.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import msgspec
import pytest
from aiohttp import web

from within_daemon.config import GoogleConfig
from within_daemon.errors import AnswerShapeError, PermanentSourceError
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.serving import serve_app
from within_daemon.schema import AD_DATA_SCHEMA
from within_daemon.sources.google.answers import STREAM_BATCH, STREAM_BATCHES
from within_daemon.sources.google.connector import DEVELOPER_PAUSES, GoogleAdsConnector
from within_daemon.sources.google.stream import ArrayStream, ElementShapeError
from within_daemon.transforms import DataNormalizer, DataValidator

from ..fakes.tamper import Edit, tampered
from .test_google import DIRECT, RANGE, connector, rows_of

ACCESS = "ya29.secret-access-token"
ROW = {"campaign": {"id": "1"}, "adGroup": {"id": "2"},
       "adGroupAd": {"ad": {"id": "3"}, "status": "ENABLED"}, "segments": {"date": RANGE[0]},
       "metrics": {"impressions": "10", "clicks": "1", "costMicros": "500000"}}


@pytest.fixture(autouse=True)
def _no_shared_pause() -> Iterator[None]:
    yield
    DEVELOPER_PAUSES.clear()


def on_search(change: Any) -> Edit:
    def edit(path: str, status: int, obj: Any) -> Any:
        if path.endswith(":search") and status == 200 and isinstance(obj, dict):
            return change(obj)
        return None
    return edit


@asynccontextmanager
async def stream_server(body: bytes) -> AsyncIterator[str]:
    """A server whose every searchStream answer is ``body``; yields its API base URL."""
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", answer)
    async with serve_app(app) as origin:
        yield f"{origin}/v26"


def static_connector(base_url: str) -> GoogleAdsConnector:
    config = GoogleConfig(base_url=base_url, backoff_base_seconds=0.01, max_retries=0,
                          max_outage_seconds=0)
    return GoogleAdsConnector(DIRECT, access_token=ACCESS, rate_limit=60000, config=config,
                              metrics=Metrics())


async def test_wrong_type_at_a_nested_path_names_platform_endpoint_and_path(
        caplog: pytest.LogCaptureFixture) -> None:
    """A search page whose nextPageToken is an object is an AnswerShapeError; no token shown."""
    def change(obj: dict[str, Any]) -> dict[str, Any]:
        obj["nextPageToken"] = {"token": "rt-a"}
        return obj

    emu = tampered(GoogleAdsEmulator(search_page_size=7), on_search(change))
    caplog.set_level(logging.DEBUG)
    async with emu.serve(), connector(emu, use_search_stream=False, max_retries=0) as conn:
        with pytest.raises(AnswerShapeError) as info:
            await rows_of(conn)
    text = str(info.value)
    assert "google ad_rows" in text and "`$.nextPageToken`" in text
    assert (info.value.endpoint, info.value.path) == ("ad_rows", "$.nextPageToken")
    assert "rt-a" not in text and "rt-a" not in caplog.text
    assert "sandbox-client-secret" not in caplog.text


async def test_a_stream_batch_of_another_shape_names_its_index(
        caplog: pytest.LogCaptureFixture) -> None:
    """A second batch whose results is an object fails at ``$[1].results``; no token shown."""
    body = msgspec.json.encode([{"results": [ROW], "fieldMask": "x"},
                                {"results": {"oops": ACCESS}, "fieldMask": "x"}])
    caplog.set_level(logging.DEBUG)
    got: list[Any] = []
    async with stream_server(body) as url, static_connector(url) as conn:
        with anyio.fail_after(15), pytest.raises(AnswerShapeError) as info:
            async for page in conn.iter_ad_rows(RANGE):
                got.extend(page)
    assert got == [ROW]  # the good batch went out before the bad one arrived
    text = str(info.value)
    assert "google ad_rows" in text and "`$[1].results`" in text
    assert info.value.path == "$[1].results"
    assert ACCESS not in text and ACCESS not in caplog.text


def test_array_stream_paths_count_from_the_start_of_the_array() -> None:
    """Typed batches: a bad one is named by its index, on the fast path, exact scan or tail."""
    good = msgspec.json.encode({"results": [ROW], "fieldMask": "x"})
    bad = msgspec.json.encode({"fieldMask": ["not", "a", "string"]})
    body = b"[" + b",".join([good, good, bad, good]) + b"]"
    for exact_after in (10**9, 0):
        dec = ArrayStream(STREAM_BATCH.loads, decode_all=STREAM_BATCHES.loads,
                          exact_after=exact_after)
        with pytest.raises(ElementShapeError) as info:
            for i in range(0, len(body), 5):
                dec.feed(body[i:i + 5])
            dec.close()
        assert info.value.path == "$[2].fieldMask"
    tail = ArrayStream(STREAM_BATCH.loads, decode_all=STREAM_BATCHES.loads)
    assert len(tail.feed(b"[" + good + b"," + good + b",")) == 1
    tail.feed(bad + b"]")
    with pytest.raises(ElementShapeError) as info:
        tail.close()
    assert info.value.path == "$[2].fieldMask"


async def test_unknown_fields_are_tolerated() -> None:
    """Fields Google may add (batches, pages, rows) change nothing."""
    batch = {"results": [ROW, {**ROW, "newResource": {"x": 1}}], "fieldMask": "x",
             "requestId": "r", "metricAttributes": [{"new": True}], "brandNew": {"a": [1]}}
    async with stream_server(msgspec.json.encode([batch, batch])) as url, \
            static_connector(url) as conn:
        with anyio.fail_after(15):
            rows = [r async for page in conn.gaql("SELECT x", endpoint="ad_rows") for r in page]
    assert len(rows) == 4

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        obj["searchMetadata"] = {"new": [1, 2]}
        obj["summaryRow"] = {"metrics": {}}
        return obj

    emu = tampered(GoogleAdsEmulator(search_page_size=7), on_search(change))
    async with emu.serve(), connector(emu, use_search_stream=False) as conn:
        paged = await rows_of(conn)
    assert len(paged) == emu.expected_rows(DIRECT, *RANGE)


async def test_a_stream_error_as_last_element_is_still_googles_error() -> None:
    """An error object ending a 200 stream is classified (permission denied), not a shape."""
    err = {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied",
                     "details": [{"@type": "type.googleapis.com/google.ads.googleads.v26."
                                           "errors.GoogleAdsFailure",
                                  "errors": [{"errorCode": {"authorizationError":
                                                            "USER_PERMISSION_DENIED"},
                                              "message": "User lacks access", "trigger": {},
                                              "location": {"fieldPathElements": []}}],
                                  "requestId": "r", "extra": 1}]}}
    body = msgspec.json.encode([{"results": [ROW]}, err])
    async with stream_server(body) as url, static_connector(url) as conn:
        with anyio.fail_after(15), pytest.raises(PermanentSourceError) as info:
            async for _ in conn.gaql("SELECT x", endpoint="ad_rows"):
                pass
    assert not isinstance(info.value, AnswerShapeError)
    assert "authorizationError.USER_PERMISSION_DENIED" in str(info.value)


async def test_a_poison_value_costs_its_row_not_the_page() -> None:
    """A row whose costMicros is an object comes with its page; validation refuses only it."""
    poisoned: list[str] = []

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        rows = obj.get("results") or []
        ads = [r for r in rows if "adGroupAd" in r]
        if ads and not poisoned:
            ads[0]["metrics"]["costMicros"] = {"nested": ["x"]}
            poisoned.append(ads[0]["adGroupAd"]["ad"]["id"])
        return obj

    emu = tampered(GoogleAdsEmulator(search_page_size=7), on_search(change))
    async with emu.serve(), connector(emu, use_search_stream=False) as conn:
        account = await conn.get_account_info()
        rows = await rows_of(conn)
    assert poisoned and len(rows) == emu.expected_rows(DIRECT, *RANGE)
    recs = DataNormalizer().normalize_ad_data(rows, "google", account=account)
    good, bad = DataValidator().split(recs, AD_DATA_SCHEMA)
    assert len(bad) == 1 and len(good) == len(rows) - 1
    assert str(bad[0][0]["ad_id"]) == poisoned[0]
