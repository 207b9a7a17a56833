"""Turning Facebook Graph API responses into our exception tree (one place, one function).

The codes come from Meta's error reference and Airbyte's connector (see
docs/api-reference.md §1.8): throttling codes wait (the usage headers' regain time
when they give one, code 4 for every account of the app) and retry, transient codes retry
with backoff, 190 is an expired or invalid token, and "reduce the amount of data" asks for
a smaller page. 2635 means the configured Graph version has expired: nothing but a config
change helps, so the error says which setting to change.
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
from ..versions import DEFAULT_VERSIONS, config_key
from .answers import ERROR_BODY, GraphError

#: Application, user, page, ad-account and business-use-case throttles.
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
#: "Application request limit reached": the quota of the whole app, every account shares it.
APP_THROTTLE_CODES = frozenset({4})
#: Codes Meta documents as temporary: unknown error, service unavailable, batch timeout.
TRANSIENT_CODES = frozenset({1, 2, 960})
#: (code, subcode) pairs that mean "the insights query timed out: ask for less".
TIMEOUT_PAIRS = frozenset({(100, 1504018), (2, 1504038)})
AUTH_CODES = frozenset({102, 190})
#: "You are calling a deprecated version of the Ads API" (the version in base_url expired).
DEPRECATED_VERSION = 2635

def error_object(body: bytes) -> GraphError | None:
    """The ``error`` object of a Graph answer; ``None`` if the body is not one."""
    try:
        return ERROR_BODY.decode(body).error
    except (msgspec.DecodeError, RecursionError):  # too deep: RecursionError
        return None


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def classify_error(
    status: int,
    body: bytes,
    *,
    account_id: str,
    regain_seconds: float = 0.0,
    throttle_pause: float = 60.0,
) -> SourceError:
    """The exception for a non-200 response (or a 200 carrying an ``error`` object)."""
    kw: dict[str, Any] = {"platform": "facebook", "account_id": account_id, "status": status}
    err = error_object(body)
    if err is None:
        text = body[:200].decode("utf-8", "replace")
        if status == 429:
            return ThrottledError(
                f"HTTP 429 without a Graph error body: {text!r}",
                retry_after=throttle_pause, hint=regain_seconds or None, **kw,
            )
        if status >= 500:
            return TransientError(f"HTTP {status} without a Graph error body: {text!r}", **kw)
        return PermanentSourceError(f"HTTP {status} without a Graph error body: {text!r}", **kw)
    code = _int(err.code)
    sub = _int(err.error_subcode)
    msg = (err.message or "")[:500]
    kw.update(code=code, subcode=sub)
    label = f"Graph error {code}" + (f"/{sub}" if sub is not None else "") + f": {msg}"
    if code == DEPRECATED_VERSION:
        return PermanentSourceError(
            f"the Graph API version in {config_key('facebook')} has expired ({label}); set it "
            f"to https://graph.facebook.com/{DEFAULT_VERSIONS['facebook']}", **kw)
    if code in AUTH_CODES or (err.type == "OAuthException" and code in (None, 190)):
        return AuthError(label, **kw)
    if code in THROTTLE_CODES or status == 429:
        # The usage headers' regain time is the hint (estimated_time_to_regain_access in
        # minutes, reset_time_duration in seconds, docs/api-reference.md §0); without one
        # we back off.
        return ThrottledError(label, retry_after=throttle_pause, hint=regain_seconds or None,
                              app_wide=code in APP_THROTTLE_CODES, **kw)
    if "reduce the amount of data" in msg.lower() or (code, sub) in TIMEOUT_PAIRS:
        return ReduceDataError(label, **kw)
    if code in TRANSIENT_CODES or err.is_transient is True or status >= 500:
        return TransientError(label, **kw)
    return PermanentSourceError(label, **kw)
