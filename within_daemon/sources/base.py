"""The shared HTTP machinery of every connector: one request path for all platforms.

Each call goes: wait for the account's pause or pacing delay → aiolimiter slot → circuit
breaker → HTTP over aiohttp with a timeout → headers observed (usage pacing, on errors
too) → body decoded or turned into our exception by the platform's ``classify``. Transient
errors are retried by ``retry_with_backoff``; throttles wait and retry on their own budget
(they are the platform working as designed, not a failure), until the account has waited
``max_throttle_wait`` in this run; then the account stops with ``AccountPausedError`` and
the next run resumes from the ledger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple

import aiohttp
import anyio
import msgspec
from aiolimiter import AsyncLimiter

from ..errors import AccountPausedError, SourceError, ThrottledError, TransientError
from ..observability.metrics import Metrics
from ..platform_config import HttpKnobs
from ..utils.retry import retry_with_backoff
from .bodies import decode_json, read_body
from .breaker import STATE_CODES, AccountBreaker
from .pacing import Pacer, UsageReading

log = logging.getLogger(__name__)



class Prepared(NamedTuple):
    """What one HTTP attempt sends: query, body (form mapping or raw bytes), headers."""

    params: Mapping[str, str] | None
    data: Mapping[str, str] | bytes | None
    headers: dict[str, str]


class HttpSettings(msgspec.Struct, frozen=True):
    """Transport knobs shared by all platforms (each platform config maps onto these)."""

    timeout_seconds: float = 60.0
    max_retries: int = 5
    backoff_base_seconds: float = 1.0
    backoff_factor: float = 2.0
    pace_above_percent: float = 75.0
    max_pace_delay_seconds: float = 30.0
    throttle_pause_seconds: float = 60.0
    max_throttle_wait_seconds: float = 7200.0
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 60.0


def settings_from(cfg: HttpKnobs) -> HttpSettings:
    """The transport settings of a ``[platforms.<name>]`` section."""
    return HttpSettings(
        timeout_seconds=cfg.timeout_seconds,
        max_retries=cfg.max_retries,
        backoff_base_seconds=cfg.backoff_base_seconds,
        pace_above_percent=cfg.pace_above_percent,
        max_pace_delay_seconds=cfg.max_pace_delay_seconds,
        throttle_pause_seconds=cfg.throttle_pause_seconds,
        max_throttle_wait_seconds=cfg.max_throttle_wait_seconds,
        breaker_fail_max=cfg.breaker_fail_max,
        breaker_reset_seconds=cfg.breaker_reset_seconds,
    )


class HttpSource:
    """Base class of the connectors: a per-account limiter, pacer, breaker and session."""

    platform = "base"

    def __init__(
        self,
        account_id: str,
        rate_limit: float,
        settings: HttpSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if rate_limit <= 0:
            raise ValueError("rate_limit must be > 0 requests per minute")
        self.account_id = account_id
        self.rate_limit = rate_limit
        self.settings = settings
        self.metrics = metrics
        self._session = session
        self._own_session = session is None
        # One request per slot, no burst: platform quotas are windowed (aiolimiter bursts
        # up to max_rate otherwise).
        self._limiter: AsyncLimiter | None = None
        self.pacer = Pacer(
            pace_above=settings.pace_above_percent,
            max_pace_delay=settings.max_pace_delay_seconds,
            min_pause=settings.throttle_pause_seconds,
        )
        self.breaker = AccountBreaker(
            self.platform, account_id,
            fail_max=settings.breaker_fail_max,
            reset_seconds=settings.breaker_reset_seconds,
            on_state=self._on_breaker_state,
        )
        self.throttle_waited = 0.0
        self.requests_made = 0
        self._token_checked = 0.0
        self._send = retry_with_backoff(
            max_retries=settings.max_retries,
            backoff_factor=settings.backoff_factor,
            errors=(TransientError,),
            base_delay=settings.backoff_base_seconds,
            on_retry=self._on_retry,
        )(self._attempt)

    # -- lifecycle ---------------------------------------------------------------------
    def begin_run(self) -> None:
        """A new run starts: its throttle-wait budget starts from zero."""
        self.throttle_waited = 0.0

    def check_token_expiry(self) -> bool:
        """Whether to look the token's expiry up now (at most once an hour per account)."""
        now = time.monotonic()
        if self._token_checked and now - self._token_checked < 3600:
            return False
        self._token_checked = now
        return True

    async def __aenter__(self) -> HttpSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
                raise_for_status=False,
            )
        return self._session

    def _get_limiter(self) -> AsyncLimiter:
        # Created lazily inside the running loop: aiolimiter binds to the loop it first sees.
        if self._limiter is None:
            self._limiter = AsyncLimiter(1, 60.0 / self.rate_limit)
        return self._limiter

    # -- the interface the source actor uses (one implementation per platform) -----------
    async def get_account_info(self) -> dict[str, Any]:
        """``account_id``, ``name``, ``currency`` and ``timezone_name`` of the account."""
        raise NotImplementedError

    async def iter_ads(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of ad/creative metadata, keyed by the normalizer; none by default."""
        return
        yield  # pragma: no cover - makes this an async generator

    def iter_ad_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of raw ad-level daily rows for ``date_range`` (inclusive)."""
        raise NotImplementedError

    def iter_account_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of raw account-level daily rows (the platform's own totals)."""
        raise NotImplementedError

    async def active_counts(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> dict[str, tuple[int | None, int | None]]:
        """Per day: campaigns and ads that delivered; empty where the platform can't say."""
        return {}

    async def token_expiry(self) -> float | None:
        """Unix time the credential expires (0: never); ``None`` when unknown."""
        return None

    # -- hooks for platforms -------------------------------------------------------------
    def auth_params(self) -> dict[str, str]:
        return {}

    def auth_headers(self) -> dict[str, str]:
        return {}

    def read_usage(self, headers: Mapping[str, str]) -> UsageReading | None:
        return None

    def classify(self, status: int, body: bytes, usage: UsageReading | None) -> SourceError:
        raise NotImplementedError

    def body_error(self, obj: Any, body: bytes, usage: UsageReading | None) -> SourceError | None:
        """A platform that reports errors inside a 200 body returns the error here."""
        return None

    # -- metrics -------------------------------------------------------------------------
    def _on_breaker_state(self, state: str) -> None:
        if self.metrics is not None:
            self.metrics.circuit_state.labels(self.platform, self.account_id).set(
                STATE_CODES[state]
            )

    def _on_retry(self, attempt: int, exc: BaseException, delay: float) -> None:
        if self.metrics is not None and isinstance(exc, SourceError):
            self.metrics.retries.labels(self.platform, exc.error_class).inc()

    def _count_error(self, exc: SourceError) -> None:
        if self.metrics is not None:
            self.metrics.http_errors.labels(self.platform, exc.error_class).inc()

    # -- the request path ----------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one logical request (retried as needed) and return the decoded JSON body."""
        return await self._send(method, url, endpoint, params, data)

    async def _wait_turn(self) -> None:
        delay = self.pacer.delay()
        if delay > 0:
            paused = self.pacer.paused_until > time.monotonic()
            if paused and self.throttle_waited + delay > self.settings.max_throttle_wait_seconds:
                # Parked: the account sits out until the platform lets it back, and the
                # gauge says until when.
                if self.metrics is not None:
                    self.metrics.account_paused_until.labels(self.platform, self.account_id).set(
                        time.time() + delay
                    )
                raise AccountPausedError(
                    f"account paused by the platform for {delay:.0f}s more; giving up this run "
                    f"after {self.throttle_waited:.0f}s of throttle waits",
                    until=self.pacer.paused_until,
                    platform=self.platform, account_id=self.account_id,
                )
            if self.metrics is not None:
                self.metrics.rate_limit_wait.labels(
                    self.platform, "pause" if paused else "pacing"
                ).inc(delay)
                if paused:
                    self.metrics.account_paused_until.labels(self.platform, self.account_id).set(
                        time.time() + delay
                    )
            if paused:
                self.throttle_waited += delay
                log.warning("paused by platform usage limits; waiting %.1fs", delay)
            await anyio.sleep(delay)
            if paused and self.metrics is not None:
                self.metrics.account_paused_until.labels(self.platform, self.account_id).set(0)
        limiter = self._get_limiter()
        t0 = time.monotonic()
        await limiter.acquire()
        waited = time.monotonic() - t0
        if waited > 0.001 and self.metrics is not None:
            self.metrics.rate_limit_wait.labels(self.platform, "limiter").inc(waited)

    async def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Any:
        while True:
            await self._wait_turn()
            try:
                return await self.breaker.call(self._http, method, url, endpoint, params, data)
            except ThrottledError as exc:
                # Wait out the throttle on the pacer (shared by all calls of this account)
                # and try again; the budget check in _wait_turn ends hopeless waits.
                self.pacer.pause(exc.retry_after)
                log.warning("throttled (%s); pausing %.0fs", exc, exc.retry_after)
                continue

    # -- hooks of the request path (defaults: query/form auth, JSON answers on 200) -------
    def before_request(self, endpoint: str) -> None:
        """Raise to refuse a request before it is sent (e.g. a quota known to be spent)."""

    async def prepare(
        self, method: str, endpoint: str, params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Prepared:
        """What one attempt sends; called again for the retry after a refreshed 401."""
        q = dict(params or {})
        q.update(self.auth_params())
        if method == "GET":
            return Prepared(q, None, self.auth_headers())
        return Prepared(None, {**q, **(data or {})}, self.auth_headers())

    def refresh_credentials(self) -> bool:
        """A 401 arrived: drop cached credentials and return True to retry once."""
        return False

    def success_status(self, status: int) -> bool:
        return status == 200

    def special_answer(self, status: int, body: bytes, endpoint: str) -> Any:
        """A non-error answer to a non-success status (Amazon's 425 duplicate), or None."""
        return None

    async def _http(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Any:
        self.before_request(endpoint)
        session = self._get_session()
        t0 = time.monotonic()
        outcome = "error"
        try:
            for attempt in (0, 1):
                prep = await self.prepare(method, endpoint, params, data)
                self.requests_made += 1
                try:
                    async with session.request(
                        method, url, params=prep.params, data=prep.data, headers=prep.headers,
                        # Per platform: the engine's session is shared by all of them.
                        timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
                    ) as resp:
                        body = await read_body(resp, self, endpoint)  # capped, in chunks
                        status = resp.status
                        resp_headers = resp.headers
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    raise TransientError(
                        f"{endpoint}: {type(exc).__name__}: {exc}",
                        platform=self.platform, account_id=self.account_id,
                    ) from None
                if status == 401 and attempt == 0 and self.refresh_credentials():
                    # An expired or revoked access token: refresh once, then believe a 401.
                    log.info("%s: 401; refreshing the access token and retrying once", endpoint)
                    continue
                break
            usage = self.read_usage(resp_headers)
            self._observe_usage(usage)
            special = self.special_answer(status, body, endpoint)
            if special is not None:
                outcome = "ok"
                return special
            if not self.success_status(status):
                raise self.classify(status, body, usage)
            obj = decode_json(body, self, endpoint, status)  # never an escaped RecursionError
            in_body = self.body_error(obj, body, usage)
            if in_body is not None:
                raise in_body
            outcome = "ok"
            return obj
        except SourceError as exc:
            outcome = exc.error_class
            self._count_error(exc)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.http_requests.labels(self.platform, endpoint, outcome).inc()
                self.metrics.http_latency.labels(self.platform, endpoint).observe(
                    time.monotonic() - t0
                )

    def _observe_usage(self, usage: UsageReading | None) -> None:
        self.pacer.observe(usage)
        if usage is not None and self.metrics is not None:
            self.metrics.platform_usage.labels(self.platform, self.account_id).set(
                usage.max_percent / 100.0
            )
