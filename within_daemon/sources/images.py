"""Fetch creative images over HTTP and turn them into cached ``ImageFeatures``.

``ImageFetcher.fetch(url)`` downloads one image with the guards an untrusted URL needs:
http/https only, no user-info, only public addresses (the :class:`~.url_guard.UrlPolicy`:
checked before the request, at connection time by the session's resolver, and on every
redirect, which the fetcher follows itself, at most :data:`MAX_REDIRECTS`), a total
timeout, an ``image/*`` content type, and a size cap that refuses a declared
``Content-Length`` above it without reading, and otherwise stops streaming at
``max_bytes + 1`` bytes. Every outcome is a ``FetchResult`` (bytes, or a failure status from
``within_daemon.transforms.enrichment.image.STATUSES``), never an exception.

``ImageFetcher.analyze(url)`` is what enrichers use: fetch, then run the pure
``analyze_image`` through the ``analyzer`` given (the daemon's: its worker processes,
``transforms/enrichment/workers.py``), or else in a worker thread
(``anyio.to_thread.run_sync`` under its own capacity limiter, since decoding is CPU
work), and cache the resulting features, failures included,
by URL in a bounded LRU. Concurrent calls for the same URL share one download. At most
``max_concurrency`` downloads run at once; a download's slot is free again once its bytes
are read, so the next ones go on while they wait for a decoder, and at most twice
``max_concurrency`` bodies (each ≤ ``max_bytes``) are held in memory at once. With a
``failure_store`` (the database's ``image_failures``), failures also outlive the process:
:meth:`ImageFetcher.preload_failures` puts the stored ones in the cache before a batch.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from types import TracebackType
from typing import Protocol
from urllib.parse import urljoin, urlsplit

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
    STATUS_REFUSED_HOST,
    STATUS_TIMEOUT,
    STATUS_TOO_LARGE,
    STATUS_WRONG_TYPE,
    ImageFeatures,
    failed,
)
from ..transforms.enrichment.workers import analyze_bytes
from .url_guard import GuardedResolver, RefusedAddressError, UrlPolicy

log = logging.getLogger(__name__)

_PLATFORM = "images"  # the "platform" label of the shared HTTP metrics
_ENDPOINT = "image"
_STAGE = "image_analyze"
_READ_CHUNK = 64 * 1024
MAX_REDIRECTS = 5
#: Longest a failure may take to be written to the store.
_STORE_SECONDS = 5.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

#: ``analyzer(data, max_pixels)``: the features of downloaded bytes (never raises).
Analyzer = Callable[[bytes, int], Awaitable[ImageFeatures]]


class FailureStore(Protocol):
    """Where failures outlive the process (``loaders.image_failures.ImageFailureStore``)."""

    async def failures(self, urls: Collection[str]) -> dict[str, ImageFeatures]: ...

    async def record(self, url: str, features: ImageFeatures) -> None: ...


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

    Without a ``session`` the fetcher opens its own on first use, whose connector resolves
    through the policy's :class:`GuardedResolver` (the address checked is the address
    connected to), and closes it in ``aclose`` (or on leaving ``async with``). A session
    passed in is used as it is: host names are then checked by a lookup of their own before
    each request, which a DNS answer changing in between could slip past; prefer none.
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
        policy: UrlPolicy | None = None,
        failure_store: FailureStore | None = None,
        analyzer: Analyzer | None = None,
    ) -> None:
        if timeout_seconds <= 0 or max_bytes <= 0 or cache_size <= 0:
            raise ValueError("timeout_seconds, max_bytes and cache_size must be > 0")
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.cache_size = cache_size
        self.max_pixels = max_pixels
        self.metrics = metrics
        #: Default: public addresses only (loopback too is refused).
        self.policy = policy or UrlPolicy()
        self.failure_store = failure_store
        self._resolver = GuardedResolver(self.policy)
        self._session = session
        self._own_session = session is None
        self._fetch_limiter = anyio.CapacityLimiter(max_concurrency)
        # Bodies in memory: downloading, or read and waiting for (or in) the analysis.
        self._held = anyio.CapacityLimiter(2 * max_concurrency)
        self._cpu_limiter = anyio.CapacityLimiter(analyze_threads)
        self._analyzer = analyzer or self._in_thread
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
            if not features.ok and self.failure_store is not None:
                # Shielded (a time box must not lose the record) but bounded.
                with anyio.move_on_after(_STORE_SECONDS, shield=True):
                    try:
                        await self.failure_store.record(url, features)
                    except Exception as exc:  # noqa: BLE001 - the cache is an optimisation
                        log.warning("Storing the image failure of %s failed: %s", url, exc)
            return features
        finally:
            del self._inflight[url]
            done.set()

    async def preload_failures(self, urls: Collection[str]) -> int:
        """Put the store's still-believed failures of ``urls`` in the cache; how many."""
        if self.failure_store is None:
            return 0
        todo = [u for u in urls if u not in self._cache]
        if not todo:
            return 0
        try:
            found = await self.failure_store.failures(todo)
        except Exception as exc:  # noqa: BLE001 - the cache is an optimisation
            log.warning("Reading stored image failures failed: %s", exc)
            return 0
        for url, features in found.items():
            self._remember(url, features)
        return len(found)

    async def _analyze_uncached(self, url: str) -> ImageFeatures:
        try:
            async with self._held:
                async with self._fetch_limiter:
                    result = await self._fetch(url)
                if not result.ok:
                    return failed(result.status, result.error)
                started = time.perf_counter()
                features = await self._analyzer(result.data, self.max_pixels)
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

    async def _in_thread(self, data: bytes, max_pixels: int) -> ImageFeatures:
        return await anyio.to_thread.run_sync(
            analyze_bytes, data, max_pixels, limiter=self._cpu_limiter)

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
        refused = self.policy.check_url(url)
        if refused is not None:
            return FetchResult(url=url, status=refused[0], error=refused[1])
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

    def _session_for_fetching(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No cookies: a cookie one image host sets must not travel to the next.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=self._resolver),
                cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def _get(self, url: str) -> FetchResult:
        session = self._session_for_fetching()
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        headers = {"Accept": "image/*", "Accept-Encoding": "identity"}
        current = url
        try:
            for hop in range(MAX_REDIRECTS + 1):
                if hop:
                    # Each hop is a new untrusted URL: a public page may redirect inward.
                    refused = self.policy.check_url(current)
                    if refused is not None:
                        return FetchResult(url=url, status=refused[0],
                                           error=f"redirect {hop}: {refused[1]}")
                if not self._own_session:
                    host = urlsplit(current).hostname or ""
                    await self._resolver.resolve(host, 443)  # raises when refused
                async with session.get(current, timeout=timeout, headers=headers,
                                       allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status not in _REDIRECTS or not location:
                        return await self._read(url, resp)
                current = urljoin(current, location)
            return FetchResult(url=url, status=STATUS_HTTP_ERROR,
                               error=f"more than {MAX_REDIRECTS} redirects")
        except TimeoutError:
            return FetchResult(url=url, status=STATUS_TIMEOUT,
                               error=f"timed out after {self.timeout_seconds:g} s")
        except aiohttp.InvalidURL as exc:
            return FetchResult(url=url, status=STATUS_INVALID_URL, error=f"invalid URL: {exc}")
        except RefusedAddressError as exc:
            return FetchResult(url=url, status=STATUS_REFUSED_HOST, error=str(exc)[:200])
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddressError):
                return FetchResult(url=url, status=STATUS_REFUSED_HOST,
                                   error=str(exc.os_error)[:200])
            return FetchResult(url=url, status=STATUS_FETCH_ERROR,
                               error=f"{type(exc).__name__}: {exc}"[:200])
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
