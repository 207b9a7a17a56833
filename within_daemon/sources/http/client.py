"""The shared HTTP machinery of every connector: one request path for all platforms.

Each call goes: wait for the account's pause or pacing delay → aiolimiter slot → circuit
breaker → HTTP over aiohttp with a timeout → headers observed (usage pacing, on errors
too) → body decoded into the caller's typed answer (``answers``; the platform's
``error_answer`` first looks whether a body of another shape is an error object) or turned
into our exception by the platform's ``classify``.

What happens after a failure, in one loop (``_send``):

- a throttle waits the platform's hint, or backs off with full jitter when it gave none
  (``pacing.Pacer``), on its own budget: past ``max_throttle_wait`` in a run the account
  stops with ``AccountPausedError`` and the next run resumes from the ledger;
- a transient failure (5xx, HTML error page, cut or truncated body, timeout, refused
  connection) is retried with jittered backoff while the circuit is closed; when the
  circuit opens (``fail_max`` failures in a row, or ``max_retries`` spent) the request
  **waits** for the breaker's reset, probes once, and carries on where it stopped. Only
  the outage budget (``max_outage_seconds`` of waiting per run, unlimited for a backfill)
  ends the account's run, with ``OutageBudgetSpent`` saying when the next probe is due;
- anything else (auth, permission, bad request) is raised at once.

All waits use the connector's ``Clock``, so tests ride out long outages on a fake one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NamedTuple, TypeVar, overload

import aiohttp
from aiolimiter import AsyncLimiter

from ...errors import (
    AnswerShapeError,
    CircuitOpenError,
    SourceError,
    ThrottledError,
    TransientError,
)
from ...observability.metrics import Metrics
from ...platform_config import HttpKnobs
from ...schema import AccountInfo
from ...utils.retry import backoff_delay
from ...utils.sync import refuse_in_event_loop, run_blocking
from .answers import Answer
from .bodies import decode_json, read_body
from .breaker import AccountBreaker
from .clock import Clock, current_clock
from .pacing import Pacer, UsageReading
from .settings import DEFAULT_POOL_PER_HOST, open_session
from .waits import AccountWaits, OutageBudgetSpent

__all__ = ["BACKOFF_FACTOR", "DEFAULT_POOL_PER_HOST", "HttpSource", "OutageBudgetSpent",
           "Prepared", "open_session"]

#: Growth of the wait between retries of a transient failure (times ``backoff_base_seconds``).
BACKOFF_FACTOR = 2.0

log = logging.getLogger(__name__)

T = TypeVar("T")


class Prepared(NamedTuple):
    """What one HTTP attempt sends: query, body (form mapping or raw bytes), headers."""

    params: Mapping[str, str] | None
    data: Mapping[str, str] | bytes | None
    headers: dict[str, str]


class HttpSource(AccountWaits):
    """Base class of the connectors: a per-account limiter, pacer, breaker and session."""

    platform = "base"

    def __init__(
        self,
        account_id: str,
        rate_limit: float,
        settings: HttpKnobs,
        *,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
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
        self.clock = clock or current_clock()
        self.pacer = Pacer(
            pace_above=settings.pace_above_percent,
            max_pace_delay=settings.max_pace_delay_seconds,
            min_pause=settings.throttle_pause_seconds,
            max_pause=settings.throttle_max_pause_seconds,
            clock=self.clock.now,
        )
        self.breaker = AccountBreaker(
            self.platform, account_id,
            fail_max=settings.breaker_fail_max,
            reset_seconds=settings.breaker_reset_seconds,
            on_state=self._on_breaker_state,
            clock=self.clock,
        )
        self.throttle_waited = 0.0
        #: Seconds this run has waited on an open circuit, and how long it may.
        self.outage_waited = 0.0
        self.outage_budget: float | None = settings.max_outage_seconds
        #: Why the account's last run stopped early, for /status (None: it did not).
        self.stopped: dict[str, Any] | None = None
        self.requests_made = 0
        self._token_checked = 0.0

    # -- lifecycle (begin_run and the budgets: see ``waits``) ---------------------------
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
        # aiolimiter binds to the loop it first runs in; a reused connector gets a new one.
        self._limiter = None

    def run_blocking(self, make: Callable[[], Awaitable[T]], method: str) -> T:
        """Run a coroutine method's call for a blocking seed method (``get_ads``).

        It runs in a fresh event loop, and the connector's own session is closed before
        that loop ends. Refused inside a running loop (use the ``a``-prefixed twin), and for
        a connector given a session: that session belongs to its caller's loop.
        """
        name = type(self).__name__
        refuse_in_event_loop(f"{name}.{method}", f"{name}.a{method}")
        if not self._own_session:
            raise RuntimeError(
                f"{name} was given an aiohttp session, which belongs to its event loop: "
                f"use `await {name}.a{method}(...)` in that loop")
        return run_blocking(make, call=f"{name}.{method}", twin=f"{name}.a{method}",
                            cleanup=self.close)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
                raise_for_status=False,
            )
        return self._session

    # -- the interface the source actor uses (one implementation per platform) -----------
    async def get_account_info(self) -> AccountInfo:
        """Id, name, currency and time zone of the account (read once per run)."""
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
        """A platform that reports errors inside a decoded 200 answer returns the error here."""
        return None

    def error_answer(self, body: bytes, usage: UsageReading | None) -> SourceError | None:
        """The platform's error when a 200 body is an error object instead of the answer.

        Asked only when the body failed to decode as the expected answer, so a success
        costs no second look at its bytes.
        """
        return None

    # -- metrics -------------------------------------------------------------------------
    def _on_retry(self, attempt: int, exc: BaseException, delay: float) -> None:
        if self.metrics is not None and isinstance(exc, SourceError):
            self.metrics.retries.labels(self.platform, exc.error_class).inc()

    def _count_error(self, exc: SourceError) -> None:
        if self.metrics is not None:
            self.metrics.http_errors.labels(self.platform, exc.error_class).inc()

    # -- the request path ----------------------------------------------------------------
    @overload
    async def request(
        self, method: str, url: str, *, endpoint: str, answer: Answer[T],
        params: Mapping[str, str] | None = None, data: Mapping[str, str] | None = None,
    ) -> T: ...

    @overload
    async def request(
        self, method: str, url: str, *, endpoint: str, answer: None = None,
        params: Mapping[str, str] | None = None, data: Mapping[str, str] | None = None,
    ) -> Any: ...

    async def request(
        self, method: str, url: str, *, endpoint: str, answer: Answer[Any] | None = None,
        params: Mapping[str, str] | None = None, data: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one logical request (retried as needed) and return its decoded answer.

        With ``answer`` (the platform connectors always give one) the body is decoded
        into that typed answer (``answers``); without, into plain JSON values.
        """
        return await self._send(method, url, endpoint, params, data, answer)

    async def _send(
        self, method: str, url: str, endpoint: str, params: Mapping[str, str] | None,
        data: Mapping[str, str] | None, answer: Answer[Any] | None = None,
    ) -> Any:
        self._bind_app(url)
        failures = 0
        while True:
            await self._wait_turn()
            try:
                result = await self.breaker.call(self._http, method, url, endpoint, params, data,
                                                 answer)
            except CircuitOpenError:
                await self._ride_out()
                continue
            except ThrottledError as exc:
                self._throttled(exc)
                continue
            except TransientError as exc:
                failures += 1
                if self.breaker.state != "closed":
                    continue  # this failure opened the circuit: wait for the probe
                if failures > self.settings.max_retries:
                    # Retries spent before fail_max: the platform is down for this account
                    # as far as we can tell, so the circuit opens and we wait, not fail.
                    self.breaker.trip(f"{type(exc).__name__}: {exc}")
                    continue
                delay = backoff_delay(failures - 1, BACKOFF_FACTOR,
                                      base=self.settings.backoff_base_seconds)
                self._on_retry(failures - 1, exc, delay)
                log.info("%s failed (%s); retry %d/%d in %.1fs", endpoint, exc, failures,
                         self.settings.max_retries, delay)
                await self.clock.sleep(delay)
                continue
            self.pacer.succeeded()
            return result

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
        self, method: str, url: str, endpoint: str, params: Mapping[str, str] | None,
        data: Mapping[str, str] | None, answer: Answer[Any] | None = None,
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
            obj = self._decode(body, answer, endpoint, status, usage)
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

    def _decode(self, body: bytes, answer: Answer[Any] | None, endpoint: str, status: int,
                usage: UsageReading | None) -> Any:
        """The answer typed (or plain JSON); an error object in its place is that error."""
        if answer is None:
            return decode_json(body, self, endpoint, status)  # never an escaped RecursionError
        try:
            return answer.decode(body, platform=self.platform, account_id=self.account_id,
                                 endpoint=endpoint, status=status)
        except AnswerShapeError:
            err = self.error_answer(body, usage)
            if err is not None:
                raise err from None
            raise

    def _observe_usage(self, usage: UsageReading | None) -> None:
        self.pacer.observe(usage)
        if usage is not None and self.metrics is not None:
            self.metrics.platform_usage.labels(self.platform, self.account_id).set(
                usage.max_percent / 100.0
            )
