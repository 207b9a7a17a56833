"""Running a sandbox aiohttp app on loopback: one helper for every emulator.

``serve_app`` binds an ephemeral port (``port=0``) by default and yields the origin
(``http://127.0.0.1:PORT``). The short shutdown timeout matters for tests: a 'slow' or
'huge' request left in flight must not hold the teardown for aiohttp's default 60 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


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
