"""Fetch creative images over HTTP and turn them into cached ``ImageFeatures``.

``ImageFetcher.fetch(url)`` downloads one image with the guards an untrusted URL needs:
http/https only, a total timeout, an ``image/*`` content type, and a size cap that refuses a
declared ``Content-Length`` above it without reading, and otherwise stops streaming at
``max_bytes + 1`` bytes. Every outcome is a ``FetchResult`` (bytes, or a failure status from
``within_daemon.transforms.enrichment.image.STATUSES``), never an exception.

``ImageFetcher.analyze(url)`` is what enrichers use: fetch, then run the pure
``analyze_image`` in a worker thread (``anyio.to_thread.run_sync`` under its own capacity
limiter, since decoding is CPU work), and cache the resulting features, failures included,
by URL in a bounded LRU. Concurrent calls for the same URL share one download. One slot of
the fetch limiter covers both the download and the analysis of its bytes, so at most
``max_concurrency`` bodies (each ≤ ``max_bytes``) are held in memory at once.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp
import anyio
import anyio.to_thread
import msgspec

from ..observability.metrics import Metrics
from ..transforms.enrichment.image import (
    STATUS_FETCH_ERROR,
    STATUS_HTTP_ERROR,
    STATUS_INVALID_URL,
    STATUS_NOT_FOUND,
    STATUS_OK,
    STATUS_TIMEOUT,
    STATUS_TOO_LARGE,
    STATUS_WRONG_TYPE,
    ImageFeatures,
    analyze_image,
    failed,
)

log = logging.getLogger(__name__)

_PLATFORM = "images"  # the "platform" label of the shared HTTP metrics
_ENDPOINT = "image"
_STAGE = "image_analyze"
_READ_CHUNK = 64 * 1024


class FetchResult(msgspec.Struct, frozen=True, kw_only=True):
    """The body of one image download, or why there is none."""

    url: str
    status: str = STATUS_OK
    data: bytes = b""
    error: str | None = None
    #: HTTP status of the final response, if one arrived.
    http_status: int | None = None
    content_type: str | None = None
    #: Body bytes actually read (≤ max_bytes + 1; 0 when refused from the headers).
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


class ImageFetcher:
    """Download images and cache their features; see the module docstring.

    Pass the daemon's shared ``session``; without one the fetcher opens its own on first
    use and closes it in ``aclose`` (or on leaving ``async with``).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout_seconds: float = 10.0,
        max_bytes: int = 5 * 1024 * 1024,
        max_concurrency: int = 8,
        analyze_threads: int = 2,
        cache_size: int = 10_000,
        max_pixels: int = 40_000_000,
        metrics: Metrics | None = None,
    ) -> None:
        if timeout_seconds <= 0 or max_bytes <= 0 or cache_size <= 0:
            raise ValueError("timeout_seconds, max_bytes and cache_size must be > 0")
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.cache_size = cache_size
        self.max_pixels = max_pixels
        self.metrics = metrics
        self._session = session
        self._own_session = session is None
        self._fetch_limiter = anyio.CapacityLimiter(max_concurrency)
        self._cpu_limiter = anyio.CapacityLimiter(analyze_threads)
        self._cache: OrderedDict[str, ImageFeatures] = OrderedDict()
        self._inflight: dict[str, anyio.Event] = {}
        self.cache_hits = 0
        self.cache_misses = 0

    async def __aenter__(self) -> ImageFetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if this fetcher opened it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def cached(self, url: str) -> ImageFeatures | None:
        """The cached features of ``url`` without touching recency, or None."""
        return self._cache.get(url)

    def __len__(self) -> int:
        return len(self._cache)

    # -- features -------------------------------------------------------------------------

    async def analyze(self, url: str) -> ImageFeatures:
        """Features of the image at ``url``: cached, or fetched and analysed; never raises."""
        while True:
            hit = self._cache.get(url)
            if hit is not None:
                self._cache.move_to_end(url)
                self.cache_hits += 1
                return hit
            pending = self._inflight.get(url)
            if pending is None:
                break
            # Another task is fetching this URL: wait for it and read its result from the
            # cache (loop again if it was cancelled and cached nothing).
            await pending.wait()
        self.cache_misses += 1
        done = anyio.Event()
        self._inflight[url] = done
        try:
            features = await self._analyze_uncached(url)
            self._remember(url, features)
            return features
        finally:
            del self._inflight[url]
            done.set()

    async def _analyze_uncached(self, url: str) -> ImageFeatures:
        try:
            async with self._fetch_limiter:
                result = await self._fetch(url)
                if not result.ok:
                    return failed(result.status, result.error)
                started = time.perf_counter()
                features = await anyio.to_thread.run_sync(
                    _analyze_bytes, result.data, self.max_pixels, limiter=self._cpu_limiter
                )
                if self.metrics is not None:
                    self.metrics.stage_latency.labels(_STAGE).observe(
                        time.perf_counter() - started
                    )
        except Exception as exc:
            # A bug here must not take the enrichment down: the row says what happened.
            log.exception("Image analysis failed unexpectedly for %s.", url)
            return failed(STATUS_FETCH_ERROR, f"{type(exc).__name__}: {exc}")
        if not features.ok:
            log.debug("Image %s refused: %s (%s).", url, features.image_status,
                      features.image_error)
        return features

    def _remember(self, url: str, features: ImageFeatures) -> None:
        self._cache[url] = features
        self._cache.move_to_end(url)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    # -- bytes ----------------------------------------------------------------------------

    async def fetch(self, url: str) -> FetchResult:
        """Download ``url`` within the limits; never raises (cancellation aside)."""
        async with self._fetch_limiter:
            return await self._fetch(url)

    async def _fetch(self, url: str) -> FetchResult:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return FetchResult(url=url, status=STATUS_INVALID_URL,
                               error=f"not an http(s) URL: {url[:80]!r}")
        started = time.perf_counter()
        result: FetchResult | None = None
        # The cancel scope bounds everything, including a body that trickles in forever;
        # aiohttp's own total timeout is the same figure and usually fires first.
        with anyio.move_on_after(self.timeout_seconds):
            result = await self._get(url)
        if result is None:
            result = FetchResult(url=url, status=STATUS_TIMEOUT,
                                 error=f"no complete answer within {self.timeout_seconds:g} s")
        if self.metrics is not None:
            self.metrics.http_requests.labels(_PLATFORM, _ENDPOINT, result.status).inc()
            self.metrics.http_latency.labels(_PLATFORM, _ENDPOINT).observe(
                time.perf_counter() - started
            )
        return result

    async def _get(self, url: str) -> FetchResult:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        headers = {"Accept": "image/*", "Accept-Encoding": "identity"}
        try:
            async with self._session.get(
                url, timeout=timeout, headers=headers, max_redirects=5
            ) as resp:
                return await self._read(url, resp)
        except TimeoutError:
            return FetchResult(url=url, status=STATUS_TIMEOUT,
                               error=f"timed out after {self.timeout_seconds:g} s")
        except aiohttp.InvalidURL as exc:
            return FetchResult(url=url, status=STATUS_INVALID_URL, error=f"invalid URL: {exc}")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return FetchResult(url=url, status=STATUS_FETCH_ERROR,
                               error=f"{type(exc).__name__}: {exc}"[:200])

    async def _read(self, url: str, resp: aiohttp.ClientResponse) -> FetchResult:
        code = resp.status
        ctype = resp.content_type  # lower-cased media type without parameters

        def refuse(status: str, error: str, bytes_read: int = 0) -> FetchResult:
            return FetchResult(url=url, status=status, error=error, http_status=code,
                               content_type=ctype, bytes_read=bytes_read)

        if code in (404, 410):
            return refuse(STATUS_NOT_FOUND, f"HTTP {code}")
        if not 200 <= code < 300:
            return refuse(STATUS_HTTP_ERROR, f"HTTP {code}")
        if not ctype.startswith("image/"):
            return refuse(STATUS_WRONG_TYPE, f"content type {ctype[:60]}")
        declared = resp.content_length
        if declared is not None and declared > self.max_bytes:
            return refuse(STATUS_TOO_LARGE, f"Content-Length {declared} > {self.max_bytes} bytes")
        # Read at most max_bytes + 1: one byte past the cap proves the body is too large
        # whatever the headers said, and nothing more is consumed.
        body = bytearray()
        limit = self.max_bytes + 1
        while len(body) < limit:
            chunk = await resp.content.read(min(_READ_CHUNK, limit - len(body)))
            if not chunk:
                break
            body += chunk
        if len(body) > self.max_bytes:
            return refuse(STATUS_TOO_LARGE, f"body over {self.max_bytes} bytes", len(body))
        return FetchResult(url=url, data=bytes(body), http_status=code, content_type=ctype,
                           bytes_read=len(body))


def _analyze_bytes(data: bytes, max_pixels: int) -> ImageFeatures:
    return analyze_image(data, max_pixels=max_pixels)
