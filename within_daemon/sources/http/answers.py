"""Typed decoding of API answers: one named msgspec decoder per answer type, errors named.

Each platform declares its answers in ``sources/<platform>/answers.py`` as frozen msgspec
Structs that tolerate unknown fields (APIs add fields) and wraps each type once, at module
level, in an :class:`Answer`. ``Answer.decode`` turns what can go wrong into our errors:

- bytes that are not JSON (an HTML page, a cut body) raise ``TransientError``: a later
  identical request may get the whole answer;
- JSON nested past the decoder raises ``PermanentSourceError`` (hostile, never a crash);
- valid JSON of another shape (a wrong type at a nested path, a required key missing)
  raises :class:`~within_daemon.errors.AnswerShapeError`, whose message names the
  platform, the endpoint and msgspec's path (``$.paging.cursors.after``); the message is
  redacted like every error's, and msgspec's own text names types, not values.

The rows inside a page (insights rows, report rows, search results) are ``dict[str, Any]``
in these Structs, never Structs: one poison value must cost its row (validation
quarantines it), not the whole page.
"""

from __future__ import annotations

import json
import re
from typing import Any, Generic, TypeVar

import msgspec

from ...errors import AnswerShapeError, PermanentSourceError, TransientError
from .bodies import has_surrogate_escape

T = TypeVar("T")

#: The path at the end of a msgspec ValidationError message (`` - at `$.data[0]` ``).
_PATH = re.compile(r" - at `(\$[^`]*)`$")


class Answer(Generic[T]):
    """A typed decoder of one API answer, named for error messages.

    Build one per answer type at module level: a ``msgspec.json.Decoder`` compiles its
    type once and is reused for every answer.
    """

    __slots__ = ("_decoder", "name", "type")

    def __init__(self, type_: type[T], name: str = "") -> None:
        self.type = type_
        #: What the answer is, for messages ("Graph page"): its type's name by default.
        self.name = name or getattr(type_, "__name__", str(type_))
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)

    def decode(self, body: bytes, *, platform: str, account_id: str, endpoint: str,
               status: int | None = None, at: str = "$") -> T:
        """The answer as ``T``; our error naming platform, endpoint and path otherwise.

        ``at`` is where ``body`` sits in the whole answer (``$.data`` for an envelope's
        payload decoded on its own), so the path in the message is the answer's.
        """
        kw: dict[str, Any] = {"platform": platform, "account_id": account_id,
                              "status": status}
        try:
            return self._decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise shape_error(exc, platform=platform, endpoint=endpoint, at=at,
                              account_id=account_id, status=status,
                              expected=self.name) from None
        except msgspec.DecodeError as exc:
            if has_surrogate_escape(body):
                # msgspec refuses a lone surrogate escape (a string cut inside an emoji);
                # Python's json keeps it, so it fails its row in validation, not the page.
                return self._lenient(body, exc, platform=platform, endpoint=endpoint,
                                     at=at, kw=kw)
            raise TransientError(
                f"{platform} {endpoint}: malformed or truncated JSON ({len(body)} bytes): {exc}",
                **kw) from None
        except RecursionError:
            raise PermanentSourceError(
                f"{platform} {endpoint}: JSON nested deeper than the decoder allows "
                f"({len(body)} bytes); refused", **kw) from None

    def loads(self, body: bytes) -> T:
        """The answer as ``T``, raising msgspec's own errors (for decoders that sort them)."""
        return self._decoder.decode(body)

    def _lenient(self, body: bytes, first: msgspec.DecodeError, *, platform: str,
                 endpoint: str, at: str, kw: dict[str, Any]) -> T:
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            raise TransientError(
                f"{platform} {endpoint}: malformed or truncated JSON ({len(body)} bytes): "
                f"{first}", **kw) from None
        try:
            return msgspec.convert(obj, self.type)
        except msgspec.ValidationError as exc:
            raise shape_error(exc, platform=platform, endpoint=endpoint, at=at,
                              account_id=kw["account_id"], status=kw["status"],
                              expected=self.name) from None
        except UnicodeEncodeError:
            # Rows (Any) keep such a string for validation to refuse; a typed field of the
            # envelope (a cursor, a status) cannot hold it.
            raise AnswerShapeError(
                f"{platform} {endpoint}: answer of an unexpected shape: a lone surrogate "
                f"escape in a field outside the rows - at `{at}`", endpoint=endpoint, path=at,
                **kw) from None


def shape_error(exc: msgspec.ValidationError, *, platform: str, endpoint: str,
                account_id: str, status: int | None = None, at: str = "$",
                expected: str = "") -> AnswerShapeError:
    """Our error for msgspec's: the platform, the endpoint, what was expected, the path."""
    text = str(exc)
    m = _PATH.search(text)
    path = m.group(1) if m else "$"
    if at != "$":
        path = at + path[1:]
        text = text[:m.start()] + f" - at `{path}`" if m else f"{text} - at `{at}`"
    what = f" (expected: {expected})" if expected else ""
    return AnswerShapeError(
        f"{platform} {endpoint}: answer of an unexpected shape{what}: {text}",
        endpoint=endpoint, path=path, platform=platform, account_id=account_id,
        status=status)
