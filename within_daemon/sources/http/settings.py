"""The engine's pooled HTTP session.

``open_session`` builds the one aiohttp session the engine gives every connector: one
keep-alive pool per platform host, bounded, so 500 accounts share a few dozen sockets
instead of opening their own. The transport knobs themselves (timeouts, retries, pacing,
breaker) are read straight from the platform's config section (``platform_config.HttpKnobs``).
"""

from __future__ import annotations

import aiohttp

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
