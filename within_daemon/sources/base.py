"""The shared HTTP machinery of every connector: one request path for all platforms.

Each call goes: wait for the account's pause or pacing delay → aiolimiter slot → circuit
breaker → HTTP over aiohttp with a timeout → headers observed (usage pacing, on errors
too) → body decoded or turned into our exception by the platform's ``classify``.

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
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import aiohttp
import msgspec
from aiolimiter import AsyncLimiter
from yarl import URL

from ..errors import (
    AccountPausedError,
    CircuitOpenError,
    SourceError,
    ThrottledError,
    TransientError,
)
from ..observability.metrics import Metrics
from ..platform_config import HttpKnobs
from ..utils.retry import backoff_delay
from .breaker import STATE_CODES, AccountBreaker
from .clock import Clock, current_clock
from .pacing import Pacer, UsageReading, app_quota

log = logging.getLogger(__name__)

_json = msgspec.json.Decoder()

#: Connections kept per platform host, shared by every account of the engine.
DEFAULT_POOL_PER_HOST = 64


def open_session(*, pool_per_host: int = DEFAULT_POOL_PER_HOST,
                 timeout_seconds: float = 600.0) -> aiohttp.ClientSession:
    """The engine's HTTP session: one keep-alive pool per host, at most ``pool_per_host``.

    No total cap: a host that holds its connections (slow bodies) must not starve the
    others' pools. Per-request timeouts are each connector's; this one bounds stragglers.
    """
    conn = aiohttp.TCPConnector(limit=0, limit_per_host=pool_per_host,
                                ttl_dns_cache=300, keepalive_timeout=30)
    return aiohttp.ClientSession(connector=conn,
                                 timeout=aiohttp.ClientTimeout(total=timeout_seconds))


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OutageBudgetSpent(CircuitOpenError):
    """The account's circuit stayed open past the run's outage budget: its run ends."""

    def __init__(self, message: str, *, probe_at: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        #: Unix time of the next probe the breaker would allow.
        self.probe_at = probe_at

    @property
    def error_class(self) -> str:
        return "outage_budget"


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
    throttle_max_pause_seconds: float = 900.0
    max_throttle_wait_seconds: float = 7200.0
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 60.0
    #: Waiting on an open circuit allowed per run (``None``: unlimited, as for a backfill).
    max_outage_seconds: float | None = 1800.0
    backfill_max_outage_seconds: float | None = None


def settings_from(cfg: HttpKnobs) -> HttpSettings:
    """The transport settings of a ``[platforms.<name>]`` section."""
    return HttpSettings(
        timeout_seconds=cfg.timeout_seconds,
        max_retries=cfg.max_retries,
        backoff_base_seconds=cfg.backoff_base_seconds,
        pace_above_percent=cfg.pace_above_percent,
        max_pace_delay_seconds=cfg.max_pace_delay_seconds,
        throttle_pause_seconds=cfg.throttle_pause_seconds,
        throttle_max_pause_seconds=cfg.throttle_max_pause_seconds,
        max_throttle_wait_seconds=cfg.max_throttle_wait_seconds,
        breaker_fail_max=cfg.breaker_fail_max,
        breaker_reset_seconds=cfg.breaker_reset_seconds,
        max_outage_seconds=cfg.max_outage_seconds,
        backfill_max_outage_seconds=cfg.backfill_max_outage_seconds,
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

    # -- lifecycle ---------------------------------------------------------------------
    def begin_run(self) -> None:
        """A new run starts: its throttle-wait and outage budgets start from zero."""
        self.throttle_waited = 0.0
        self.outage_waited = 0.0
        self.stopped = None

    def use_outage_budget(self, *, backfill: bool) -> None:
        """Pick the run's outage budget: ``max_outage_seconds``, or the backfill one."""
        s = self.settings
        self.outage_budget = s.backfill_max_outage_seconds if backfill else s.max_outage_seconds

    def state(self) -> dict[str, Any]:
        """Breaker, pauses, usage and the next probe of this account, for /status."""
        now = self.clock.now()
        closed = self.breaker.state == "closed"
        probe_in = self.breaker.seconds_to_probe()
        return {
            "platform": self.platform, "account_id": self.account_id,
            "circuit": self.breaker.state,
            "paused_seconds": round(max(0.0, self.pacer.paused_until - now), 1),
            "usage_percent": self.pacer.usage, "requests": self.requests_made,
            "next_probe_in_seconds": None if closed else round(probe_in, 1),
            "next_probe_at": None if closed else _iso(time.time() + probe_in),
            "last_failure": None if closed else self.breaker.last_error,
            "outage_waited_seconds": round(self.outage_waited, 1),
            "stopped": self.stopped,
        }

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
            probe = 0.0 if state == "closed" else time.time() + self.breaker.seconds_to_probe()
            self.metrics.circuit_next_probe.labels(self.platform, self.account_id).set(probe)

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

    def _bind_app(self, url: str) -> None:
        # Accounts of one platform host share one app quota (one app per platform and
        # daemon); bound on the first request, when the host is known.
        if self.pacer.app is None:
            u = URL(url)
            self.pacer.app = app_quota(
                f"{self.platform}:{u.host}:{u.port}", self.clock,
                pace_above=self.settings.pace_above_percent,
                max_pace_delay=self.settings.max_pace_delay_seconds)

    async def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Any:
        self._bind_app(url)
        failures = 0
        while True:
            await self._wait_turn()
            try:
                result = await self.breaker.call(self._http, method, url, endpoint, params, data)
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
                delay = backoff_delay(failures - 1, self.settings.backoff_factor,
                                      base=self.settings.backoff_base_seconds)
                self._on_retry(failures - 1, exc, delay)
                log.info("%s failed (%s); retry %d/%d in %.1fs", endpoint, exc, failures,
                         self.settings.max_retries, delay)
                await self.clock.sleep(delay)
                continue
            self.pacer.succeeded()
            return result

    def _throttled(self, exc: ThrottledError) -> None:
        """Pause for the platform's hint, or back off; app-wide throttles pause the app."""
        wait = self.pacer.throttled(exc.hint, app_wide=exc.app_wide)
        if self.metrics is not None:
            self.metrics.throttles.labels(
                self.platform, "app" if exc.app_wide else "account",
                "yes" if exc.hint is not None else "no").inc()
        log.warning("throttled (%s); waiting %.1fs (%s, throttle %d in a row)", exc, wait,
                    "platform hint" if exc.hint is not None else "backoff", self.pacer.streak)

    async def _ride_out(self) -> None:
        """Wait for the open circuit's probe, or end the run when the budget is spent."""
        br = self.breaker
        wait = br.seconds_to_probe()
        budget = self.outage_budget
        probe_unix = time.time() + wait
        if budget is not None and self.outage_waited + wait > budget:
            self.stopped = {"reason": "outage_budget", "next_probe_at": _iso(probe_unix),
                            "last_failure": br.last_error}
            if self.metrics is not None:
                self.metrics.account_stops.labels(self.platform, "outage_budget").inc()
            raise OutageBudgetSpent(
                f"outage budget spent: circuit open, {self.outage_waited:.0f}s of "
                f"{budget:.0f}s waited this run; next probe due {_iso(probe_unix)}; "
                f"last failure: {br.last_error}",
                probe_at=probe_unix, platform=self.platform, account_id=self.account_id)
        if wait > 0:
            log.warning("circuit open (%s); pausing %.0fs until the next probe at %s "
                        "(outage %.0fs of %s this run)", br.last_error, wait, _iso(probe_unix),
                        self.outage_waited, "unlimited" if budget is None else f"{budget:.0f}s")
        t0 = self.clock.now()
        await br.wait_for_probe()
        waited = self.clock.now() - t0
        self.outage_waited += waited
        if self.metrics is not None and waited > 0:
            self.metrics.outage_wait.labels(self.platform).inc(waited)

    async def _wait_turn(self) -> None:
        delay = self.pacer.delay()
        if delay > 0:
            paused = self.pacer.paused_until > self.clock.now()
            if paused and self.throttle_waited + delay > self.settings.max_throttle_wait_seconds:
                # Parked: the account sits out until the platform lets it back, and the
                # gauge says until when.
                until = time.time() + delay
                if self.metrics is not None:
                    self.metrics.account_paused_until.labels(self.platform, self.account_id).set(
                        until)
                    self.metrics.account_stops.labels(self.platform, "throttle_budget").inc()
                self.stopped = {"reason": "throttle_budget", "paused_until": _iso(until)}
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
                log.info("paused by platform limits; waiting %.1fs", delay)
            await self.clock.sleep(delay)
            if paused and self.metrics is not None:
                self.metrics.account_paused_until.labels(self.platform, self.account_id).set(0)
        limiter = self._get_limiter()
        t0 = time.monotonic()
        await limiter.acquire()
        waited = time.monotonic() - t0
        if waited > 0.001 and self.metrics is not None:
            self.metrics.rate_limit_wait.labels(self.platform, "limiter").inc(waited)

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
                        body = await resp.read()
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
            try:
                obj = _json.decode(body)
            except msgspec.DecodeError as exc:
                raise TransientError(
                    f"{endpoint}: malformed or truncated JSON ({len(body)} bytes): {exc}",
                    platform=self.platform, account_id=self.account_id, status=status,
                ) from None
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
