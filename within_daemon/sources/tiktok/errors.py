"""Turning TikTok API for Business answers into our exception tree (one place).

TikTok reports application errors as HTTP 200 with a non-zero ``code`` in the envelope
``{code, message, request_id, data}`` and says the code wins over the HTTP status
(docs/api-reference.md §4.1, §4.4). Rate limits wait and retry on the account's
throttle budget; token errors stop the account; system errors retry with backoff;
"query too large" asks the caller to split its date range; anything else is a definite
answer that names the message and the ``request_id`` TikTok support asks for.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...errors import (
    AuthError,
    PermanentSourceError,
    ReduceDataError,
    SourceError,
    ThrottledError,
    TransientError,
)
from .answers import HEAD, Envelope, Head

#: App QPS limit (40100), advertiser QPS limit (40133), app-level frequency limit (40016).
THROTTLE_CODES = frozenset({40016, 40100, 40133})
#: The app's limits: every advertiser of the app is refused alike, so all slow down.
APP_THROTTLE_CODES = frozenset({40016, 40100})
#: Expired (40102), empty (40104), invalid or revoked (40105) token; token of a user who
#: cannot act for this advertiser (40106). No refresh exists for Marketing API tokens.
AUTH_CODES = frozenset({40102, 40104, 40105, 40106})
#: System error, error while processing, system in maintenance: a later try may pass.
TRANSIENT_CODES = frozenset({50000, 50002, 60001})
#: "Your query is too large ... (e.g. fewer metrics or time range)".
TOO_LARGE = 40067

def _code(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    return None


def envelope_error(
    env: Head | Envelope[Any], *, account_id: str, throttle_pause: float, status: int = 200
) -> SourceError | None:
    """The exception for an envelope whose ``code`` is not 0; ``None`` for success."""
    kw: dict[str, Any] = {"platform": "tiktok", "account_id": account_id, "status": status}
    code = _code(env.code)
    if code == 0:
        return None
    msg = (env.message or "")[:500]
    rid = env.request_id
    label = f"TikTok code {env.code!r}: {msg}" + (f" (request_id {rid})" if rid else "")
    kw["code"] = code
    if code in THROTTLE_CODES:
        # TikTok names no reset time: the caller backs off with jitter from the configured
        # pause (its limits are per second, so that pause is short).
        return ThrottledError(label, retry_after=throttle_pause,
                              app_wide=code in APP_THROTTLE_CODES, **kw)
    if code in AUTH_CODES:
        return AuthError(label, **kw)
    if code in TRANSIENT_CODES:
        return TransientError(label, **kw)
    if code == TOO_LARGE:
        return ReduceDataError(label, **kw)
    return PermanentSourceError(label, **kw)


def head_of(body: bytes) -> Head | None:
    """The envelope's code, message and request_id, ignoring its payload; None if unreadable."""
    try:
        return HEAD.decode(body)
    except (msgspec.DecodeError, RecursionError):  # too deep: RecursionError
        return None


def classify_http(
    status: int, body: bytes, *, account_id: str, throttle_pause: float
) -> SourceError:
    """The exception for a non-200 answer (gateway errors, a path without its slash)."""
    head = head_of(body)
    if head is not None and _code(head.code):
        # An envelope with a code: the code takes precedence over the HTTP status.
        err = envelope_error(head, account_id=account_id, throttle_pause=throttle_pause,
                             status=status)
        if err is not None:
            return err
    kw: dict[str, Any] = {"platform": "tiktok", "account_id": account_id, "status": status}
    text = body[:200].decode("utf-8", "replace")
    if status == 429:
        return ThrottledError(f"HTTP 429: {text!r}", retry_after=throttle_pause, **kw)
    if status >= 500 or status == 408:
        return TransientError(f"HTTP {status}: {text!r}", **kw)
    if status == 401:
        return AuthError(f"HTTP 401: {text!r}", **kw)
    return PermanentSourceError(f"HTTP {status}: {text!r}", **kw)
