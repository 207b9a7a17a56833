"""The daemon's small HTTP server: ``/metrics``, ``/healthz``, ``/readyz`` and ``/status``.

It binds to loopback by default (``[metrics] listen``): metrics and status reveal account
ids and are not meant for the open network.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import Metrics

log = logging.getLogger(__name__)

StatusFn = Callable[[], Awaitable[dict[str, Any]]]
ReadyFn = Callable[[], Awaitable[bool]]


def build_app(metrics: Metrics, *, ready: ReadyFn, status: StatusFn) -> web.Application:
    async def metrics_view(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_: web.Request) -> web.Response:
        ok = await ready()
        return web.json_response({"ready": ok}, status=200 if ok else 503)

    async def status_view(_: web.Request) -> web.Response:
        return web.Response(body=msgspec.json.encode(await status()),
                            content_type="application/json")

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/status", status_view)
    return app


@asynccontextmanager
async def serve_http(
    listen: str, metrics: Metrics, *, ready: ReadyFn, status: StatusFn
) -> AsyncIterator[str]:
    """Serve until the block ends; yields the bound ``http://host:port``."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    runner = web.AppRunner(build_app(metrics, ready=ready, status=status), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, int(port))
    try:
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else int(port)
        url = f"http://{host}:{bound}"
        log.info("serving /metrics, /healthz, /readyz, /status on %s", url)
        yield url
    finally:
        await runner.cleanup()
