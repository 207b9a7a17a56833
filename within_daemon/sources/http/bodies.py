"""Bounded reading and safe decoding of bodies that come from servers we do not control.

Every API answer is read in chunks under a per-platform cap (:data:`MAX_BODY_BYTES`, or
``[platforms.<name>] max_body_bytes``): a server that sends more, announced or not, costs
at most the cap and one chunk, and the call fails with an error naming the cap. The cap
counts *decoded* bytes: aiohttp decompresses gzip and deflate as the bytes are read, in
steps of at most 256 KiB and only as fast as we read (aiohttp >= 3.13.3,
GHSA-6mq8-rvhq-8wgg; earlier versions inflated a whole network chunk at once), so a 1 MB
gzip bomb is refused after ``cap`` bytes, never inflated to a gigabyte.

JSON nested deeper than msgspec's recursion limit makes it raise ``RecursionError``, not
``DecodeError``; :func:`decode_json` (plain JSON), ``answers.Answer.decode`` (typed
answers) and :func:`loads_or_none` turn that into an error of the page (or ``None`` for an
error body), so it never escapes into an actor as a crash.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

import aiohttp
import msgspec

from ...errors import PermanentSourceError, TransientError

MiB = 1 << 20
#: Bytes read per step.
READ_CHUNK = 64 * 1024
#: Largest decoded answer per platform. Graph and TikTok pages hold at most a few thousand
#: rows (a few MB); Google's ``searchStream`` returns a whole window in one answer, so it
#: gets more room (an account too big for it should use paged ``search``); Amazon's API
#: answers are small (its reports download separately, under ``max_report_bytes``).
MAX_BODY_BYTES: dict[str, int] = {
    "facebook": 64 * MiB,
    "tiktok": 64 * MiB,
    "google": 256 * MiB,
    "amazon": 16 * MiB,
}
DEFAULT_MAX_BODY_BYTES = 64 * MiB
#: Token endpoints answer a few hundred bytes.
MAX_TOKEN_BODY_BYTES = 1 * MiB

_json = msgspec.json.Decoder()
#: A \u escape of a UTF-16 surrogate (msgspec refuses a lone one, Python's json keeps it).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE_STR = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_surrogate_escape(data: bytes) -> bool:
    r"""Whether ``data`` holds a ``\uD8xx``-style escape (msgspec refuses a lone one)."""
    return _SURROGATE_ESCAPE.search(data) is not None


def decode_lenient(data: bytes | str) -> Any:
    r"""JSON through msgspec, or Python's json when msgspec refuses a lone surrogate escape.

    A string cut between the two halves of a surrogate pair (``"\ud83d"``) would otherwise
    fail the whole page; decoded, it fails only its record, which validation quarantines.
    Raises like msgspec.
    """
    try:
        return _json.decode(data)
    except msgspec.DecodeError:
        found = (_SURROGATE_ESCAPE_STR.search(data) if isinstance(data, str)
                 else _SURROGATE_ESCAPE.search(data))
        if found is None:
            raise
        try:
            return json.loads(data)
        except ValueError:
            pass
        raise


class _Source(Protocol):
    platform: str
    account_id: str


def body_limit(source: _Source) -> int:
    """The cap for ``source``: its own, its config's, else its platform's default.

    Its own is a ``max_body_bytes`` attribute; its config's is ``[platforms.<name>]
    max_body_bytes``.
    """
    for own in (getattr(source, "max_body_bytes", None),
                getattr(getattr(source, "config", None), "max_body_bytes", None)):
        if isinstance(own, int) and own > 0:
            return own
    return MAX_BODY_BYTES.get(source.platform, DEFAULT_MAX_BODY_BYTES)


def too_large(what: str, limit: int, platform: str, account_id: str,
              status: int | None = None) -> PermanentSourceError:
    return PermanentSourceError(
        f"{what}: answer larger than {limit} bytes ({limit // MiB} MiB), the {platform} cap; "
        "refused unread (a runaway or hostile server, or a page that should be smaller)",
        platform=platform, account_id=account_id, status=status)


async def read_body(resp: aiohttp.ClientResponse, source: _Source, what: str,
                    limit: int | None = None) -> bytes:
    """The decoded body, read in chunks; past ``limit`` (default: the source's cap) it fails."""
    limit = limit or body_limit(source)
    announced = resp.content_length
    # The announced length is of the encoded bytes, and decoding never shrinks a body
    # worth reading: past the cap already, refuse before reading a byte.
    if announced is not None and announced > limit:
        raise too_large(what, limit, source.platform, source.account_id, resp.status)
    buf = bytearray()
    while True:
        chunk = await resp.content.read(READ_CHUNK)
        if not chunk:
            return bytes(buf)
        if len(buf) + len(chunk) > limit:
            raise too_large(what, limit, source.platform, source.account_id, resp.status)
        buf += chunk


def decode_json(body: bytes, source: _Source, what: str, status: int | None = None) -> Any:
    """A JSON answer; malformed or truncated is transient, too deeply nested is not."""
    try:
        return decode_lenient(body)
    except msgspec.DecodeError as exc:
        raise TransientError(
            f"{what}: malformed or truncated JSON ({len(body)} bytes): {exc}",
            platform=source.platform, account_id=source.account_id, status=status,
        ) from None
    except RecursionError:
        raise PermanentSourceError(
            f"{what}: JSON nested deeper than the decoder allows ({len(body)} bytes); refused",
            platform=source.platform, account_id=source.account_id, status=status,
        ) from None


def loads_or_none(data: bytes | str) -> Any:
    """Best-effort JSON for error bodies and headers: ``None`` if unreadable or too deep."""
    try:
        return _json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
