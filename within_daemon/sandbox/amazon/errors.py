"""Amazon Ads emulator error answers: API JSON bodies, OAuth errors and S3's XML errors.

The Ads API answers ``{"code", "details"}`` (reporting v3 spells it ``detail``); Login with
Amazon answers RFC 6749's ``{"error", "error_description"}``; the pre-signed report
download answers as S3 does, with an XML ``<Error>`` document. ``raise_api_faults`` raises
the answer a switched-on throttle, server-error or bad-request fault asks for.
"""

from __future__ import annotations

import msgspec

from within_daemon.sandbox.faults import FaultPlan


class ApiError(Exception):
    """An HTTP error answer: status, body and extra headers."""

    def __init__(self, status: int, body: bytes, *, content_type: str = "application/json",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or {}


def api_error(status: int, code: str, text: str, *, key: str = "details",
              headers: dict[str, str] | None = None) -> ApiError:
    """Amazon's ``{"code", "details"}`` body; reporting v3 spells it ``detail``."""
    return ApiError(status, msgspec.json.encode({"code": code, key: text}), headers=headers)


def s3_error(status: int, code: str, text: str) -> ApiError:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{text}</Message></Error>").encode()
    return ApiError(status, body, content_type="application/xml")


def oauth_error(status: int, error: str, text: str) -> ApiError:
    body = {"error": error, "error_description": text}
    return ApiError(status, msgspec.json.encode(body))


def raise_api_faults(faults: FaultPlan, acct: str | None, kind: str, key: str) -> None:
    """The error faults of an API call, after its auth checks, in the API's order."""
    if f := faults.take("throttle", acct, kind):
        # Amazon's "Rate limiting" page (reference/concepts/rate-limiting): a 429 carries
        # Retry-After in seconds, and repeated 429s call for exponential backoff.
        # retry_after=None serves a 429 without the header (a proxy's, say), so the
        # client's backoff path is exercised too.
        wait = f.params.get("retry_after", 1)
        raise api_error(429, "429", "Too Many Requests", key=key,
                        headers={} if wait is None else {"Retry-After": str(int(wait))})
    if f := faults.take("server_error", acct, kind):
        raise api_error(f.param("status", 500), "INTERNAL_ERROR", "Internal error", key=key)
    if f := faults.take("bad_request", acct, kind):
        raise api_error(400, "400", str(f.params.get("detail", "Invalid request")), key=key)
