"""Transport faults: what proxies and networks do, the same for every emulator.

These act around the platform's own handler (``PlatformEmulator._on_request``), so every
emulator has them without code of its own: an error page from a load balancer instead of
the API's error body, a connection cut in the middle of a body, a 200 whose JSON stops
half-way, and a body that trickles in slower than the client's timeout. A "server down"
(connection refused) is the emulator not listening: tests stop and restart ``serve``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from within_daemon.sandbox.faults.plan import TRANSPORT_FAULTS, Fault, FaultPlan
from within_daemon.sandbox.faults.stats import RequestRecord, Stats, now

_ACCOUNT_IN_PATH = re.compile(r"/(?:act_|customers/)(\d+)")
_HTML_PAGE = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
              b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")


class _Buckets:
    """Per-account token buckets of a ``rate_limit`` fault (kept on the fault's params)."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[float, float]] = {}  # account -> (tokens, at)

    def admit(self, account: str, per_minute: float, burst: float) -> bool:
        t = time.monotonic()
        tokens, at = self.state.get(account, (burst, t))
        tokens = min(burst, tokens + (t - at) * per_minute / 60.0)
        if tokens < 1.0:
            self.state[account] = (tokens, t)
            return False
        self.state[account] = (tokens - 1.0, t)
        return True


def _over_rate(f: Fault, account: str | None) -> bool:
    limits = f.params.get("limits") or {}
    limit = limits.get(account) if account is not None else None
    if limit is None:
        return False
    buckets = f.params.setdefault("_buckets", _Buckets())
    return not buckets.admit(account or "", float(limit), float(f.params.get("burst", 2)))


def request_account(request: web.Request) -> str | None:
    """The account a request is for, where the platforms put it (path, query or header)."""
    m = _ACCOUNT_IN_PATH.search(request.path)
    if m is not None:
        return m.group(1)
    return (request.query.get("advertiser_id")
            or request.headers.get("Amazon-Advertising-API-Scope") or None)


async def with_transport_faults(
    request: web.Request, plan: FaultPlan, stats: Stats,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Serve ``request`` through ``handler`` unless a transport fault applies to it."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        stats.peers.add((str(peer[0]), int(peer[1])))
    if not any(f.kind in TRANSPORT_FAULTS for f in plan):
        return await handler(request)
    acct = request_account(request)
    limited = plan.peek("rate_limit", acct, "*")
    refused = limited is not None and _over_rate(limited, acct)
    if (lat := plan.peek("latency", acct, "*")) is not None:
        await asyncio.sleep(float(lat.params.get("delay", 0.05)))
    if refused:
        stats.record(RequestRecord(request.method, request.path, {}, acct or "",
                                   "rate_limited", 429, now()))
        return web.Response(text="Too Many Requests", status=429)
    for kind in ("http_error", "html_error"):
        if f := plan.take(kind, acct, "*"):
            stats.record(RequestRecord(request.method, request.path, {}, acct or "", "transport",
                                       f.param("status", 503 if kind == "http_error" else 502),
                                       now()))
            headers = {}
            if f.params.get("retry_after") is not None:
                headers["Retry-After"] = str(f.params["retry_after"])
            if kind == "html_error":
                return web.Response(body=_HTML_PAGE, status=f.param("status", 502),
                                    content_type="text/html", headers=headers)
            return web.Response(text="Service Unavailable", status=f.param("status", 503),
                                headers=headers)
    body_faults = [f for k in ("cut_body", "truncated_json", "slow_body")
                   if (f := plan.peek(k, acct, "*")) is not None]
    resp = await handler(request)
    if not body_faults or not isinstance(resp, web.Response) or resp.prepared \
            or not isinstance(resp.body, bytes) or len(resp.body) < 2:
        return resp
    fault = body_faults[0]
    plan.use(fault)
    body = resp.body
    if fault.kind == "truncated_json":
        resp.body = body[: len(body) // 2]
        return resp
    out = web.StreamResponse(status=resp.status, headers=resp.headers)
    out.content_length = len(body)
    try:
        await out.prepare(request)
        await out.write(body[: len(body) // 2])
        if fault.kind == "cut_body":
            # The peer goes away mid-body: the client sees a short read, not a timeout.
            if request.transport is not None:
                request.transport.abort()
            return out
        await asyncio.sleep(float(fault.params.get("delay", 2.0)))
        await out.write(body[len(body) // 2:])
        await out.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the client gave up first (its timeout): nothing more to send
    return out
