"""Hostile bodies: what a runaway or hostile server sends instead of the real answer.

The :data:`BODY_FAULT_KINDS` (every emulator, through :func:`body_fault_middleware`)
answer a request with one of these instead of the real answer:
``huge_body`` (``size`` bytes of valid JSON, announced in Content-Length or, with
``chunked``, not), ``gzip_bomb_body`` (``size`` bytes of JSON gzipped to about a thousandth,
``Content-Encoding: gzip``) and ``deep_json`` (arrays nested ``depth`` deep, answered with
``status``, 200 by default, so error bodies can be deep too). They are
global (no account, no path kind); ``path_contains`` narrows one to matching URL paths.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from within_daemon.sandbox.faults.plan import Fault, FaultPlan

_MiB = 1 << 20
_FILL = b" " * _MiB  # JSON whitespace: the body stays valid JSON, only too big


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """``{"data": [<size bytes of spaces>]}`` gzipped (about 1000:1), built once per size."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(b'{"data": [')]
    left = size
    while left > 0:
        step = min(left, _MiB)
        out.append(z.compress(_FILL[:step]))
        left -= step
    out.append(z.compress(b"]}"))
    out.append(z.flush())
    return b"".join(out)


def deep_json(depth: int) -> bytes:
    """``{"data": [[[...]]]}`` with ``depth`` nested arrays: valid, but past any decoder."""
    return b'{"data": ' + b"[" * depth + b"]" * depth + b"}"


async def _huge(request: web.Request, size: int, chunked: bool) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    if not chunked:
        resp.content_length = size
    await resp.prepare(request)
    head, tail = b'{"data": [', b"]}"
    left = size - len(head) - len(tail)
    try:
        await resp.write(head)
        while left > 0:
            step = min(left, _MiB)
            await resp.write(_FILL[:step])
            left -= step
        await resp.write(tail)
    except (ConnectionError, RuntimeError):
        pass  # the client hung up, as it should once past its cap
    return resp


def body_fault_middleware(plan: FaultPlan) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware serving the hostile bodies of ``plan`` instead of the answer."""

    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                         ) -> web.StreamResponse:
        if "/_sandbox/" in request.path or not len(plan):
            return await handler(request)

        def here(f: Fault) -> bool:
            return str(f.params.get("path_contains", "")) in request.path

        if f := plan.take("huge_body", None, "", when=here):
            return await _huge(request, f.param("size", 256 * _MiB),
                               bool(f.params.get("chunked", False)))
        if f := plan.take("gzip_bomb_body", None, "", when=here):
            return web.Response(body=gzip_bomb(f.param("size", 256 * _MiB)), headers={
                "Content-Type": "application/json", "Content-Encoding": "gzip"})
        if f := plan.take("deep_json", None, "", when=here):
            return web.Response(body=deep_json(f.param("depth", 100_000)),
                                status=f.param("status", 200), content_type="application/json")
        return await handler(request)

    return middleware
