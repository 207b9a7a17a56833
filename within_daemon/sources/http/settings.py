"""Transport settings every connector shares, and the engine's pooled HTTP session.

``HttpSettings`` is what the request path reads (each ``[platforms.<name>]`` section maps
onto it with ``settings_from``); ``open_session`` builds the one aiohttp session the engine
gives every connector: one keep-alive pool per platform host, bounded, so 500 accounts
share a few dozen sockets instead of opening their own.
"""

from __future__ import annotations

import aiohttp
import msgspec

from ...platform_config import HttpKnobs

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
