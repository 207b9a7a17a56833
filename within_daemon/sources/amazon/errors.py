"""Turning Amazon Ads API and report-download answers into our exception tree.

Amazon reports errors with the HTTP status and a small body, ``{"code", "details"}`` on most
endpoints and ``{"code", "detail"}`` on reporting v3 (docs/api-reference.md §3.4); S3 downloads
answer
in XML. The status decides the class: 429 is a throttle that waits ``Retry-After``, 5xx is
transient, 401/403 are auth problems, other 4xx are permanent. A 425 on report creation
names the in-flight duplicate report, whose id the connector reuses instead of failing.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import msgspec

from ...errors import (
    AuthError,
    PermanentSourceError,
    SourceError,
    ThrottledError,
    TransientError,
)
from .answers import ERROR_BODY, ErrorBody

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_XML_CODE = re.compile(rb"<Code>([^<]{1,64})</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]{0,300})</Message>")


def error_text(body: bytes) -> str:
    """The human part of an error body (``detail``, ``details``, ``message``...), shortened."""
    try:
        err: ErrorBody | None = ERROR_BODY.decode(body)
    except (msgspec.DecodeError, RecursionError):  # too deep: RecursionError
        err = None
    if err is not None:
        parts = [str(v) for v in (err.code, err.error) if v is not None]
        text = err.detail or err.details or err.message or err.error_description
        if text:
            parts.append(text)
        if parts:
            return ": ".join(parts)[:500]
    code, msg = _XML_CODE.search(body), _XML_MESSAGE.search(body)
    if code is not None:
        tail = f": {msg.group(1).decode('utf-8', 'replace')}" if msg else ""
        return f"{code.group(1).decode('utf-8', 'replace')}{tail}"
    return body[:200].decode("utf-8", "replace")


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number or an HTTP date; ``None`` when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def duplicate_report_id(body: bytes) -> str | None:
    """The report id in a 425 "The Request is a duplicate of : <id>" body, if any."""
    text = error_text(body)
    if "duplicate" not in text.lower():
        return None
    m = _UUID.search(text)
    return m.group(0) if m else None


def classify_error(
    status: int,
    body: bytes,
    *,
    account_id: str,
    endpoint: str,
    retry_after: float | None = None,
    throttle_pause: float = 60.0,
) -> SourceError:
    """The exception for a non-2xx API answer."""
    kw: dict[str, Any] = {"platform": "amazon", "account_id": account_id, "status": status}
    label = f"{endpoint}: HTTP {status}: {error_text(body)}"
    if status == 429:
        # Retry-After is the wait (Amazon's rate-limiting page); without it, back off.
        return ThrottledError(label, retry_after=throttle_pause, hint=retry_after, **kw)
    if status in (401, 403):
        return AuthError(label, **kw)
    if status == 425:
        # "Too early" without the duplicate's id: the twin report is still in flight, so a
        # later identical request can go through.
        return TransientError(label, **kw)
    if status >= 500 or status == 408:
        return TransientError(label, **kw)
    return PermanentSourceError(label, **kw)


def classify_download(status: int, body: bytes, *, account_id: str) -> SourceError:
    """The exception for a failed report download (S3 answers in XML)."""
    kw: dict[str, Any] = {"platform": "amazon", "account_id": account_id, "status": status}
    label = f"report_download: HTTP {status}: {error_text(body)}"
    # An expired pre-signed URL (403) or a key not yet visible (404) is cured by asking the
    # report's status again for a fresh URL; 5xx and SlowDown (503) by waiting.
    if status in (403, 404, 408, 429) or status >= 500:
        return TransientError(label, **kw)
    return PermanentSourceError(label, **kw)
