"""A tiny creative-image server for tests and the demo: deterministic images, switchable faults.

``GET /img/<name>.<jpg|jpeg|png|gif|webp>`` answers an image drawn with Pillow from a hash of
``<name>``: a background colour with a second-colour block, so every name has its own,
stable features. The size is derived from the hash too (between 64 and 512 px a side),
unless the name ends in ``_<W>x<H>`` (``/img/banner_1080x1080.jpg``; at most 4096 a side).

Faults are switched per path with ``server.set(path, kind)`` (``None`` switches it off):
``404``; ``html`` (200 with a text/html page); ``slow`` (waits ``slow_seconds`` before
answering); ``huge`` (an image content type, ``Content-Length`` of ``huge_bytes`` and junk
streamed until the client hangs up); ``huge_chunked`` (the same without a Content-Length,
so only a streaming cap stops it); ``bomb`` (a valid little PNG whose header claims
``bomb_size`` pixels); ``corrupt`` (random bytes as image/jpeg); ``truncated`` (the first
half of the real JPEG). ``server.redirect(path, location)`` answers ``path`` with a 302 to
``location`` (another path, or any URL: a public page redirecting inward is what the
fetcher's redirect checks are for). ``delay_seconds`` (``--delay`` on the command line)
delays every answer: a CDN far from the daemon, whose images arrive after the rows.
``requests`` counts requests per path, ``bytes_sent`` the body bytes written, and
``max_in_flight`` the most requests handled at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import re
import struct
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from aiohttp import web
from PIL import Image, ImageDraw

from within_daemon.sandbox.serving import serve_app

FAULT_KINDS: Final = (
    "404", "html", "slow", "huge", "huge_chunked", "bomb", "corrupt", "truncated",
)
_IMAGE_PATH: Final = re.compile(
    r"^/img/(?P<name>[A-Za-z0-9._-]{1,100})\.(?P<ext>jpe?g|png|gif|webp)$"
)
_SIZE_SUFFIX: Final = re.compile(r"_(?P<w>\d{1,4})x(?P<h>\d{1,4})$")
_FORMATS: Final = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}
_MAX_SIDE: Final = 4096
_JUNK_CHUNK: Final = 64 * 1024


def image_spec(name: str) -> tuple[tuple[int, int], tuple[int, int, int], tuple[int, int, int]]:
    """Size, background and block colour of the image for ``name`` (deterministic)."""
    digest = hashlib.sha256(name.encode()).digest()
    if m := _SIZE_SUFFIX.search(name):
        size = (max(1, min(_MAX_SIDE, int(m["w"]))), max(1, min(_MAX_SIDE, int(m["h"]))))
    else:
        size = (64 + digest[6] % 15 * 32, 64 + digest[7] % 15 * 32)
    return size, (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5])


@functools.lru_cache(maxsize=256)
def render_image(name: str, fmt: str) -> bytes:
    """The encoded image for ``name`` in Pillow format ``fmt`` (JPEG, PNG, GIF or WEBP)."""
    (w, h), background, block = image_spec(name)
    img = Image.new("RGB", (w, h), background)
    # The block covers the right third, so the background is the dominant colour.
    ImageDraw.Draw(img).rectangle((w - w // 3, 0, w - 1, h - 1), fill=block)
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A well-formed PNG header claiming ``width`` × ``height`` RGB pixels, with one row of data.

    A decoder that trusted the header would allocate ``3 × width × height`` bytes.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 1024))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(
        b"IEND", b""
    )


def corrupt_bytes(size: int = 4096) -> bytes:
    """Deterministic bytes that no image format recognises."""
    out = bytearray()
    seed = b"within-sandbox-corrupt"
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    out[:4] = b"JUNK"
    return bytes(out[:size])


class ImageServer:
    """An in-process image server on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        *,
        slow_seconds: float = 5.0,
        huge_bytes: int = 50 * 1024 * 1024,
        bomb_size: tuple[int, int] = (100_000, 100_000),
        delay_seconds: float = 0.0,
    ) -> None:
        self.slow_seconds = slow_seconds
        #: Added before every answer: a CDN far away (each image a round trip).
        self.delay_seconds = delay_seconds
        self.huge_bytes = huge_bytes
        self.bomb_size = bomb_size
        self.base_url = ""
        self.faults: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        #: Set while no request is being answered (``wait_idle``).
        self._idle = asyncio.Event()
        self._idle.set()

    def set(self, path: str, kind: str | None) -> None:
        """Switch fault ``kind`` on for ``path`` (e.g. ``/img/a.jpg``), or off with None."""
        if kind is None:
            self.faults.pop(path, None)
            return
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        self.faults[path] = kind

    def redirect(self, path: str, location: str | None) -> None:
        """Answer ``path`` with a 302 to ``location`` (None switches it off)."""
        if location is None:
            self.redirects.pop(path, None)
        else:
            self.redirects[path] = location

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on the running server."""
        return self.base_url + path

    def reset_stats(self) -> None:
        self.requests.clear()
        self.bytes_sent.clear()
        self.max_in_flight = 0

    async def wait_idle(self) -> None:
        """Return once no request is being answered (a hung-up download has stopped)."""
        while self.in_flight:
            await self._idle.wait()

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        return app

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve until the block exits; yields the base URL (no trailing slash)."""
        async with serve_app(self.make_app(), host, port, shutdown_timeout=0.5) as origin:
            self.base_url = origin
            yield self.base_url

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        self.in_flight += 1
        self._idle.clear()
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, path, self.faults.get(path))
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def _answer(
        self, request: web.Request, path: str, fault: str | None
    ) -> web.StreamResponse:
        if path in self.redirects:
            return self._sent(path, web.Response(
                status=302, headers={"Location": self.redirects[path]}))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        if fault == "404":
            return self._sent(path, web.Response(status=404, text="not found"))
        if fault == "html":
            page = "<!doctype html><html><body>Image moved</body></html>"
            return self._sent(path, web.Response(text=page, content_type="text/html"))
        if fault in ("huge", "huge_chunked"):
            return await self._junk(request, path, declared=fault == "huge")
        if fault == "bomb":
            return self._sent(
                path, web.Response(body=bomb_png(*self.bomb_size), content_type="image/png")
            )
        if fault == "corrupt":
            return self._sent(path, web.Response(body=corrupt_bytes(), content_type="image/jpeg"))
        m = _IMAGE_PATH.match(path)
        if m is None:
            return self._sent(path, web.Response(status=404, text="not found"))
        fmt = _FORMATS[m["ext"]]
        body = render_image(m["name"], fmt)
        if fault == "truncated":
            body = body[: len(body) // 2]
        return self._sent(path, web.Response(body=body, content_type=f"image/{fmt.lower()}"))

    def _sent(self, path: str, response: web.Response) -> web.Response:
        self.bytes_sent[path] += len(response.body) if isinstance(response.body, bytes) else 0
        return response

    async def _junk(self, request: web.Request, path: str, *, declared: bool) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        if declared:
            response.content_length = self.huge_bytes
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"\xff" * _JUNK_CHUNK
        sent = 0
        try:
            while sent < self.huge_bytes:
                part = chunk[: self.huge_bytes - sent]
                await response.write(part)
                sent += len(part)
                self.bytes_sent[path] += len(part)
            await response.write_eof()
        except ConnectionError:
            # The client hung up, which is what a size-capped client should do.
            pass
        return response
