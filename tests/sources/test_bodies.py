"""Bodies are bounded: huge, gzip-bombed and deeply nested answers are clear errors, cheaply.

Real connectors over real sockets against the emulators' hostile-body faults.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import anyio
import pytest

from within_daemon.config import FacebookConfig
from within_daemon.errors import PermanentSourceError, SourceError, TransientError
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.amazon.server import AmazonEmulator
from within_daemon.sandbox.faults import deep_json, gzip_bomb
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.tiktok.server import TikTokEmulator
from within_daemon.sources import FacebookAdsConnector
from within_daemon.sources.facebook.answers import PAGE as FB_PAGE
from within_daemon.sources.http.bodies import (
    MAX_BODY_BYTES,
    MiB,
    body_limit,
    decode_json,
    loads_or_none,
)
from within_daemon.sources.http.pacing import read_usage_headers
from within_daemon.transforms import DataValidator

from ..conftest import FAST_FACEBOOK, TOKEN
from . import test_amazon, test_google, test_tiktok

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-05")


def connector(emu: FacebookEmulator, cap: int | None = None) -> FacebookAdsConnector:
    settings = FacebookConfig(base_url=emu.base_url, **{**FAST_FACEBOOK, "max_retries": 0})
    conn = FacebookAdsConnector(ACC, TOKEN, rate_limit=60000, config=settings,
                                metrics=Metrics())
    if cap is not None:
        conn.max_body_bytes = cap  # type: ignore[attr-defined]
    return conn


async def first_page(conn: FacebookAdsConnector) -> list[dict[str, Any]]:
    with anyio.fail_after(60):
        async for page in conn.iter_insights(RANGE):
            return page
    return []


@pytest.mark.parametrize("chunked", [False, True], ids=["announced", "chunked"])
async def test_huge_body_is_refused_at_the_cap(emulator: FacebookEmulator, chunked: bool) -> None:
    """A 64 MiB answer against a 1 MiB cap fails naming the cap, announced or not."""
    emulator.set_fault(None, "huge_body", size=64 * MiB, chunked=chunked, count=1)
    async with connector(emulator, cap=MiB) as conn:
        with pytest.raises(PermanentSourceError, match=r"larger than 1048576 bytes"):
            await first_page(conn)
        # The next answer is normal again: the connection and the connector are fine.
        assert await first_page(conn)


async def test_gzip_bomb_never_inflates_past_the_cap(emulator: FacebookEmulator) -> None:
    """A 256 KiB gzip that inflates to 256 MiB is refused after about the cap in memory."""
    assert len(gzip_bomb(256 * MiB)) < 512 * 1024
    emulator.set_fault(None, "gzip_bomb_body", size=256 * MiB, count=1)
    async with connector(emulator, cap=4 * MiB) as conn:
        gc.collect()
        tracemalloc.start()
        try:
            with pytest.raises(PermanentSourceError, match="larger than"):
                await first_page(conn)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Cap plus aiohttp's 256 KiB decompression steps and buffers: far below the 256 MiB.
    assert peak < 32 * MiB, f"peak {peak / MiB:.0f} MiB"


async def test_deep_json_is_an_error_of_the_page(emulator: FacebookEmulator) -> None:
    """JSON nested 100,000 deep is a SourceError of that call, not an escaped RecursionError.

    The fault nests arrays where the page's rows (objects) belong, so the typed decoder
    refuses it at the first level, naming the path, before any recursion.
    """
    emulator.set_fault(None, "deep_json", depth=100_000, count=1)
    async with connector(emulator) as conn:
        with pytest.raises(PermanentSourceError,
                           match=r"nested deeper than the decoder|unexpected shape.*\$\.data"):
            await first_page(conn)


def test_deep_json_inside_a_row_is_an_error_of_the_page() -> None:
    """A row nested 100,000 deep (rows are raw dicts) is a PermanentSourceError, no crash."""
    body = b'{"data": [{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    with pytest.raises(PermanentSourceError, match="nested deeper than the decoder"):
        FB_PAGE.decode(body, platform="facebook", account_id=ACC, endpoint="insights")


async def test_deep_json_error_body_is_classified(emulator: FacebookEmulator) -> None:
    """A deeply nested error body still becomes the platform's error, not a crash."""
    emulator.set_fault(None, "deep_json", depth=100_000, status=400, count=1)
    async with connector(emulator) as conn:
        with pytest.raises(SourceError, match="HTTP 400|400"):
            await first_page(conn)
    assert loads_or_none(deep_json(50_000)) is None
    assert loads_or_none(b'{"error": {"code": 1}}') == {"error": {"code": 1}}


def test_caps_per_platform() -> None:
    """Each platform has a cap; [platforms.X] max_body_bytes, then the connector's own, win."""

    class Src:
        platform, account_id = "google", "1"

    src = Src()
    assert body_limit(src) == MAX_BODY_BYTES["google"] > MAX_BODY_BYTES["facebook"]
    src.config = FacebookConfig(max_body_bytes=456)  # type: ignore[attr-defined]
    assert body_limit(src) == 456
    src.max_body_bytes = 123  # type: ignore[attr-defined]
    assert body_limit(src) == 123


async def test_configured_cap_applies(emulator: FacebookEmulator) -> None:
    """[platforms.facebook] max_body_bytes is the cap the connector reads under."""
    emulator.set_fault(None, "huge_body", size=4 * MiB, count=1)
    settings = FacebookConfig(base_url=emulator.base_url, max_body_bytes=MiB,
                              **{**FAST_FACEBOOK, "max_retries": 0})
    async with FacebookAdsConnector(ACC, TOKEN, rate_limit=60000, config=settings) as conn:
        with pytest.raises(PermanentSourceError, match="larger than 1048576 bytes"):
            await first_page(conn)


def test_deep_json_in_usage_headers_is_ignored() -> None:
    """A usage header nested past the decoder is unreadable, not a crash of the request."""
    deep = "[" * 4000 + "]" * 4000
    assert read_usage_headers({"X-App-Usage": deep, "X-Business-Use-Case-Usage": deep}) is None
    ok = read_usage_headers({"X-App-Usage": '{"call_count": 80}'})
    assert ok is not None and ok.max_percent == 80


def test_a_lone_surrogate_escape_fails_its_record_not_the_page() -> None:
    """A string cut inside a surrogate pair decodes; validation then quarantines that record."""
    class Src:
        platform, account_id = "facebook", "1"

    body = b'{"data": [{"title": "Sale \\ud83d"}, {"title": "ok \\ud83d\\ude00"}]}'
    obj = decode_json(body, Src(), "insights")
    assert obj["data"][0]["title"] == "Sale \ud83d" and obj["data"][1]["title"] == "ok 😀"
    errs = DataValidator().record_errors({"headline": obj["data"][0]["title"]},
                                         schema={"headline": {"type": "string"}})
    assert [e["message"] for e in errs] == ["text contains a lone surrogate, which is not "
                                            "valid Unicode"]
    with pytest.raises(TransientError, match="malformed or truncated"):
        decode_json(b'{"data": [', Src(), "insights")


@pytest.mark.parametrize("platform", ["google", "tiktok", "amazon"])
@pytest.mark.parametrize("fault", ["huge_body", "gzip_bomb_body", "deep_json"])
async def test_every_platform_is_bounded(platform: str, fault: str) -> None:
    """Google, TikTok and Amazon answers (Amazon's token answer first) are bounded the same."""
    emu: Any
    if platform == "google":
        emu = GoogleAdsEmulator()
    elif platform == "tiktok":
        emu = TikTokEmulator()
    else:
        emu = AmazonEmulator()
    params = {"depth": 100_000} if fault == "deep_json" else {"size": 16 * MiB}
    emu.set_fault(None, fault, count=1, **params)
    async with emu.serve():
        if platform == "google":
            conn: Any = test_google.connector(emu, max_body_bytes=MiB, max_retries=0,
                                              max_outage_seconds=0)
        elif platform == "tiktok":
            conn = test_tiktok.connector(emu, max_body_bytes=MiB, max_retries=0,
                                         max_outage_seconds=0)
        else:
            conn = test_amazon.connector(emu, max_body_bytes=MiB, max_retries=0,
                                         max_outage_seconds=0)
        # Too deep a token answer is the OAuth client's "unreadable answer" (transient: with
        # no outage budget the open circuit ends the call instead of waiting for a probe).
        expected = SourceError if fault == "deep_json" else PermanentSourceError
        async with conn:
            with anyio.fail_after(30), pytest.raises(
                    expected,
                    match="larger than|nested deeper|unreadable answer|unexpected shape"):
                await conn.get_account_info()
