"""Turning Google Ads API error answers into our exception tree (one place, one function).

Google sends a google.rpc.Status (``{"error": {"code", "message", "status", "details"}}``)
whose ``details`` carry a GoogleAdsFailure with ``errors[].errorCode`` such as
``{"quotaError": "RESOURCE_EXHAUSTED"}`` and, for quota errors, ``quotaErrorDetails`` with
``rateScope`` and ``retryDelay`` (docs/api-reference.md §2.5). searchStream may wrap the object in a
JSON array, and a stream that fails after it started answers 200 with the error as its
last element, so both shapes are accepted everywhere.

The quota rule is the point of this module: ``RESOURCE_TEMPORARILY_EXHAUSTED`` (and the
short-term query-cost error) is a short throttle, while ``RESOURCE_EXHAUSTED`` is the daily
operations quota whose ``retryDelay`` is hours ("41732s"); that becomes a ThrottledError
with the whole delay, so the base parks the account instead of retrying in seconds (peers
either failed the sync or retried five times within a minute: peers.md §6 item 13).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ...errors import AuthError, PermanentSourceError, SourceError, ThrottledError, TransientError
from .answers import ERROR_BODY, AdsError, Duration, RpcStatus

#: A daily-quota error without any retry delay: wait an hour rather than hammer the API.
DAILY_QUOTA_FALLBACK_SECONDS = 3600.0
#: Quota reasons that mean the long-window quota is gone (hours), not a burst limit.
LONG_QUOTA_REASONS = frozenset({"RESOURCE_EXHAUSTED",
                                "EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION"})
TRANSIENT_STATUSES = frozenset({"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN",
                                "ABORTED", "CANCELLED"})

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_RETRY_IN = re.compile(r"[Rr]etry in (\d+(?:\.\d+)?) seconds")


def error_of(body: bytes) -> RpcStatus | None:
    """The ``error`` object of a body: plain, array-wrapped or a stream's last batch."""
    try:
        obj = ERROR_BODY.decode(body)
    except (msgspec.DecodeError, RecursionError):  # too deep: RecursionError
        return None
    if isinstance(obj, list):
        return next((e.error for e in obj if e.error is not None), None)
    return obj.error


def parse_duration(value: Duration) -> float | None:
    """Seconds of a protobuf Duration in JSON (``"41732s"``) or as ``{"seconds": …}``."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        return float(m.group(1)) if m else None
    if isinstance(value, dict):
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _ads_errors(err: RpcStatus) -> list[AdsError]:
    return [e for d in err.details or () for e in d.errors or ()]


def quota_info(err: RpcStatus) -> tuple[str | None, str | None, float | None]:
    """``(quotaError reason, rateScope, retry delay in seconds)`` of an error object."""
    reason = scope = None
    delay: float | None = None
    for e in _ads_errors(err):
        code = e.error_code
        if code is not None and "quotaError" in code and reason is None:
            reason = code["quotaError"]
        qd = e.details.quota_error_details if e.details is not None else None
        if qd is not None:
            scope = scope or qd.rate_scope or None
            delay = delay if delay is not None else parse_duration(qd.retry_delay)
        if delay is None:
            m = _RETRY_IN.search(e.message or "")
            delay = float(m.group(1)) if m else None
    for d in err.details or ():
        # google.rpc.RetryInfo is the generic carrier of the same delay.
        if delay is None and d.retry_delay is not None:
            delay = parse_duration(d.retry_delay)
    if delay is None:
        m = _RETRY_IN.search(err.message or "")
        delay = float(m.group(1)) if m else None
    return reason, scope, delay


def _label(err: RpcStatus, http: int) -> str:
    codes: list[str] = []
    for e in _ads_errors(err):
        codes.extend(f"{k}.{v}" for k, v in (e.error_code or {}).items())
    status = err.status or http
    first = next((e.message for e in _ads_errors(err) if e.message), None)
    msg = first or err.message or ""
    return f"Google Ads {status}" + (f" [{', '.join(codes)}]" if codes else "") + f": {msg[:400]}"


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
    throttle_pause: float = 60.0,
    err: RpcStatus | None = None,
) -> SourceError:
    """The exception for a non-200 answer, or for a 200 one whose ``err`` is given."""
    kw: dict[str, Any] = {"platform": "google", "account_id": account_id, "status": status}
    if err is None:
        err = error_of(body)
    if err is None:
        text = body[:200].decode("utf-8", "replace")
        label = f"HTTP {status} without a Google error body: {text!r}"
        if status == 429:
            return ThrottledError(label, retry_after=throttle_pause, **kw)  # no hint: back off
        if status == 401:
            return AuthError(label, **kw)
        if status >= 500 or status == 408:
            return TransientError(label, **kw)
        return PermanentSourceError(label, **kw)
    code = _int(err.code) or status
    kw["code"] = code
    name = err.status or ""
    label = _label(err, code)
    if "developer" in label.lower() and code in (400, 401, 403):
        # Optional since September 2026 and refused by a later major version: say which
        # setting decides whether it is sent.
        label += (" (check [platforms.google] developer_token: it is sent only when set; "
                  "remove it for API versions that refuse it)")
    reason, scope, delay = quota_info(err)
    if name == "UNAUTHENTICATED" or code == 401:
        return AuthError(label, **kw)
    if reason is not None or name == "RESOURCE_EXHAUSTED" or code == 429:
        if reason == "ACCESS_PROHIBITED":
            return PermanentSourceError(label, **kw)
        hint = delay
        if reason in LONG_QUOTA_REASONS and hint is None:
            hint = DAILY_QUOTA_FALLBACK_SECONDS
        # retryDelay is the wait, even a one-second one; without it the caller backs off.
        # The DEVELOPER scope is the developer token's (the app's) quota, shared by all.
        return ThrottledError(label, retry_after=throttle_pause, hint=hint,
                              app_wide=scope == "DEVELOPER", **kw)
    if name in TRANSIENT_STATUSES or code >= 500 or any(
        e.error_code is not None and "internalError" in e.error_code for e in _ads_errors(err)
    ):
        return TransientError(label, **kw)
    # PERMISSION_DENIED, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION: same answer again.
    return PermanentSourceError(label, **kw)
