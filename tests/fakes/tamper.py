"""An emulator whose JSON answers a test rewrites on the way out (a field of another type).

``tampered(emu, edit)`` makes ``emu.serve()`` pass every complete JSON answer through
``edit(path, status, obj)``, which returns the object to send instead, or ``None`` to send
the answer unchanged. The connector under test still talks to the real emulator over a real
socket; only the one field the test breaks differs from what the platform would send.
Streamed answers (Google's searchStream) are written by their handler and pass untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

Edit = Callable[[str, int, Any], Any]


def tampered(emu: Any, edit: Edit) -> Any:
    """``emu`` with ``edit`` applied to its JSON answers; returns ``emu``."""
    make_app = emu.make_app

    @web.middleware
    async def rewrite(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      ) -> web.StreamResponse:
        resp = await handler(request)
        if not isinstance(resp, web.Response) or not isinstance(resp.body, bytes):
            return resp
        try:
            obj = msgspec.json.decode(resp.body)
        except msgspec.DecodeError:
            return resp
        new = edit(request.path, resp.status, obj)
        if new is not None:
            resp.body = msgspec.json.encode(new)
        return resp

    def make() -> web.Application:
        app: web.Application = make_app()
        app.middlewares.append(rewrite)
        return app

    emu.make_app = make
    return emu
