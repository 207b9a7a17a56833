"""Running a sandbox aiohttp app on loopback: the helper and base every emulator shares.

``serve_app`` binds an ephemeral port (``port=0``) by default and yields the origin
(``http://127.0.0.1:PORT``). The short shutdown timeout matters for tests: a 'slow' or
'huge' request left in flight must not hold the teardown for aiohttp's default 60 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from within_daemon.sandbox.faults import (
    FaultPlan,
    Stats,
    body_fault_middleware,
    handle_admin,
    with_transport_faults,
)


@asynccontextmanager
async def serve_app(
    app: web.Application, host: str = "127.0.0.1", port: int = 0,
    *, shutdown_timeout: float = 1.0,
) -> AsyncIterator[str]:
    """Serve ``app`` until the block exits; yields its origin URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class PlatformEmulator:
    """What every platform emulator serves the same way: one route, the admin paths, urls.

    One catch-all route: the platforms answer unknown paths with their own error bodies and
    headers, which aiohttp's router 404s would not carry. ``/_sandbox/...`` goes to the
    fault and stats admin of :mod:`.faults`; everything else to the subclass's ``_handle``.
    """

    faults: FaultPlan
    stats: Stats
    base_url: str

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[body_fault_middleware(self.faults)])
        app.router.add_route("*", "/{tail:.*}", self._on_request)
        return app

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve until the block exits; yields the base URL the connectors are given."""
        async with serve_app(self.make_app(), host, port) as origin:
            self._set_urls(origin)
            yield self.base_url

    def _set_urls(self, origin: str) -> None:
        """Derive ``base_url`` (and any token URL) from the bound origin."""
        self.base_url = origin

    async def _on_request(self, request: web.Request) -> web.StreamResponse:
        if "/_sandbox/" in request.path:
            return await handle_admin(request, self.faults, self.stats)
        return await with_transport_faults(request, self.faults, self.stats, self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError
