"""ImageFetcher against the sandbox image server: limits, failure statuses, cache, concurrency."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import anyio
import pytest
from prometheus_client import CollectorRegistry

from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.images import ImageServer, image_spec, render_image
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import UrlPolicy
from within_daemon.transforms.enrichment.image import ImageFeatures, analyze_image, failed

MAX_BYTES = 200_000
#: The image server runs on 127.0.0.1, which the default policy refuses.
LOOPBACK = UrlPolicy(allow_loopback=True)


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    srv = ImageServer(slow_seconds=3.0)
    async with srv.serve():
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[ImageFetcher]:
    async with ImageFetcher(timeout_seconds=0.5, max_bytes=MAX_BYTES, policy=LOOPBACK) as f:
        yield f


# -- success -----------------------------------------------------------------------------------


async def test_fetch_returns_the_served_bytes(server: ImageServer, fetcher: ImageFetcher) -> None:
    """A served PNG arrives byte for byte with its content type and HTTP status."""
    with anyio.fail_after(5):
        result = await fetcher.fetch(server.url("/img/hero.png"))
    assert result.ok
    assert result.data == render_image("hero", "PNG")
    assert (result.http_status, result.content_type) == (200, "image/png")
    assert result.bytes_read == len(result.data)


async def test_analyze_gives_the_features_of_the_served_image(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    """analyze(url) equals analyze_image on the same bytes, with the name's deterministic size."""
    with anyio.fail_after(5):
        features = await fetcher.analyze(server.url("/img/banner_1200x628.jpg"))
    assert features == analyze_image(render_image("banner_1200x628", "JPEG"))
    assert (features.image_status, features.image_format) == ("ok", "JPEG")
    assert (features.image_width, features.image_height) == image_spec("banner_1200x628")[0]
    assert features.image_aspect_ratio == 1.9108


# -- failures: each a status, never an exception ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("404", "not_found"),
        ("html", "wrong_content_type"),
        ("bomb", "too_many_pixels"),
        ("corrupt", "corrupt"),
        ("truncated", "corrupt"),
    ],
)
async def test_fault_becomes_a_failure_status(
    server: ImageServer, fetcher: ImageFetcher, kind: str, status: str
) -> None:
    """404, HTML, a pixel bomb, junk bytes and a truncated JPEG each give their status."""
    server.set("/img/a.jpg", kind)
    with anyio.fail_after(5):
        features = await fetcher.analyze(server.url("/img/a.jpg"))
    assert features.image_status == status
    assert features.image_error
    assert features.image_width is None


async def test_unknown_path_is_not_found(server: ImageServer, fetcher: ImageFetcher) -> None:
    """A path the server does not know answers 404, which becomes 'not_found'."""
    with anyio.fail_after(5):
        features = await fetcher.analyze(server.url("/nothing/here"))
    assert (features.image_status, features.image_error) == ("not_found", "HTTP 404")


async def test_declared_huge_body_is_refused_without_reading(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    """A 50 MB Content-Length is refused from the headers: no body byte is read."""
    server.set("/img/big.jpg", "huge")
    with anyio.fail_after(5):
        result = await fetcher.fetch(server.url("/img/big.jpg"))
    assert result.status == "too_large"
    assert result.bytes_read == 0
    assert "Content-Length 52428800" in (result.error or "")
    with anyio.fail_after(5):
        await server.wait_idle()  # the server noticed the hang-up and stopped sending
    assert server.bytes_sent["/img/big.jpg"] < 50 * 1024 * 1024 // 2


async def test_undeclared_huge_body_stops_one_byte_past_the_cap(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    """A chunked 50 MB body is read up to max_bytes + 1 and no further."""
    server.set("/img/big.jpg", "huge_chunked")
    with anyio.fail_after(5):
        result = await fetcher.fetch(server.url("/img/big.jpg"))
    assert result.status == "too_large"
    assert result.bytes_read == MAX_BYTES + 1
    assert result.data == b""
    with anyio.fail_after(5):
        await server.wait_idle()
    assert server.bytes_sent["/img/big.jpg"] < 50 * 1024 * 1024 // 2


async def test_slow_server_times_out(server: ImageServer, fetcher: ImageFetcher) -> None:
    """A server that answers after 3 s gives 'timeout' after the fetcher's 0.5 s."""
    server.set("/img/slow.png", "slow")
    started = time.monotonic()
    with anyio.fail_after(5):
        features = await fetcher.analyze(server.url("/img/slow.png"))
    assert features.image_status == "timeout"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.jpg", "file:///etc/passwd", "data:image/png;base64,AAAA",
     "not a url", "http://", "//example.com/a.jpg", ""],
)
async def test_non_http_urls_are_refused_without_a_request(
    server: ImageServer, fetcher: ImageFetcher, url: str
) -> None:
    """Anything but an absolute http(s) URL gives 'invalid_url' and sends nothing."""
    with anyio.fail_after(5):
        features = await fetcher.analyze(url)
    assert features.image_status == "invalid_url"
    assert sum(server.requests.values()) == 0


async def test_connection_refused_is_a_fetch_error(fetcher: ImageFetcher) -> None:
    """A port nobody listens on gives 'fetch_error'."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with anyio.fail_after(5):
        features = await fetcher.analyze(f"http://127.0.0.1:{port}/img/a.png")
    assert features.image_status == "fetch_error"


# -- cache -------------------------------------------------------------------------------------


async def test_second_analyze_of_a_url_makes_no_request(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    """The second analyze of a URL is served from the cache: one request in all."""
    url = server.url("/img/cached.png")
    with anyio.fail_after(5):
        first = await fetcher.analyze(url)
        second = await fetcher.analyze(url)
    assert first == second and first.image_status == "ok"
    assert server.requests["/img/cached.png"] == 1
    assert (fetcher.cache_misses, fetcher.cache_hits) == (1, 1)


async def test_failures_are_cached_too(server: ImageServer, fetcher: ImageFetcher) -> None:
    """A 404 is cached like a success: asking again sends no request."""
    server.set("/img/gone.png", "404")
    url = server.url("/img/gone.png")
    with anyio.fail_after(5):
        await fetcher.analyze(url)
        again = await fetcher.analyze(url)
    assert again.image_status == "not_found"
    assert server.requests["/img/gone.png"] == 1


async def test_concurrent_analyses_of_one_url_share_one_request(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    """Ten tasks analysing the same URL at once cause a single request."""
    url = server.url("/img/popular.jpg")
    results = []

    async def one() -> None:
        results.append(await fetcher.analyze(url))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
    assert server.requests["/img/popular.jpg"] == 1
    assert len(results) == 10 and len(set(results)) == 1


async def test_cache_is_bounded_and_evicts_the_least_recently_used(
    server: ImageServer,
) -> None:
    """With cache_size=2, a, b, a, c evicts b: a stays cached, b is fetched again."""
    async with ImageFetcher(cache_size=2, policy=LOOPBACK) as fetcher:
        with anyio.fail_after(5):
            for name in ("a", "b", "a", "c", "a", "b"):
                await fetcher.analyze(server.url(f"/img/{name}.png"))
        assert len(fetcher) == 2
    assert server.requests["/img/a.png"] == 1
    assert server.requests["/img/b.png"] == 2
    assert server.requests["/img/c.png"] == 1


# -- concurrency, session, metrics -------------------------------------------------------------


async def test_concurrent_fetches_never_exceed_the_cap() -> None:
    """Twelve slow URLs with max_concurrency=3: the server never sees more than 3 at once."""
    server = ImageServer(slow_seconds=0.15)
    paths = [f"/img/c{i}.png" for i in range(12)]
    for p in paths:
        server.set(p, "slow")
    async with server.serve(), ImageFetcher(max_concurrency=3, policy=LOOPBACK) as fetcher:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for p in paths:
                    tg.start_soon(fetcher.analyze, server.url(p))
    assert sum(server.requests.values()) == 12
    assert server.max_in_flight == 3


async def test_downloads_go_on_while_images_wait_for_a_decoder(server: ImageServer) -> None:
    """A read body frees its download slot; at most twice the cap of bodies are held."""
    release = anyio.Event()
    waiting = 0

    async def slow_decoder(data: bytes, max_pixels: int) -> ImageFeatures:
        nonlocal waiting
        waiting += 1
        await release.wait()
        return failed("corrupt", "test decoder")

    paths = [f"/img/d{i}.png" for i in range(10)]
    async with ImageFetcher(max_concurrency=2, policy=LOOPBACK,
                            analyzer=slow_decoder) as fetcher:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for p in paths:
                    tg.start_soon(fetcher.analyze, server.url(p))
                while waiting < 4:
                    await anyio.sleep(0.01)
                await anyio.sleep(0.2)
                # Four bodies wait for the decoder (two would, if a download's slot were
                # held through the analysis); none beyond that was fetched.
                assert waiting == 4 and sum(server.requests.values()) == 4
                release.set()
    assert sum(server.requests.values()) == len(paths)


async def test_shared_session_is_used_and_left_open(server: ImageServer) -> None:
    """A session passed in is used for the requests and not closed by aclose()."""
    async with aiohttp.ClientSession() as session:
        fetcher = ImageFetcher(session, policy=LOOPBACK)
        with anyio.fail_after(5):
            features = await fetcher.analyze(server.url("/img/s.gif"))
        await fetcher.aclose()
        assert features.image_format == "GIF"
        assert not session.closed


async def test_outcomes_are_counted_in_existing_metrics(server: ImageServer) -> None:
    """Each fetch increments within_http_requests_total{platform="images"} by its status."""
    metrics = Metrics(CollectorRegistry())
    server.set("/img/x.png", "404")
    async with ImageFetcher(metrics=metrics, policy=LOOPBACK) as fetcher:
        with anyio.fail_after(5):
            await fetcher.analyze(server.url("/img/ok.png"))
            await fetcher.analyze(server.url("/img/x.png"))
    value = metrics.registry.get_sample_value
    labels = {"platform": "images", "endpoint": "image"}
    assert value("within_http_requests_total", {**labels, "outcome": "ok"}) == 1
    assert value("within_http_requests_total", {**labels, "outcome": "not_found"}) == 1
    assert value("within_stage_duration_seconds_count", {"stage": "image_analyze"}) == 1
