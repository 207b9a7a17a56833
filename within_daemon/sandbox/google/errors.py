"""Google Ads API error answers: a google.rpc.Status body with a GoogleAdsFailure detail.

``GoogleApiError`` is an error answer (HTTP code, google.rpc status, and the GoogleAdsError
family and reason when there is one; docs/api-reference.md §2.5); ``quota_error`` builds the
429 RESOURCE_EXHAUSTED with its quotaError details, ``oauth_error`` an RFC 6749 token error.
"""

from __future__ import annotations

from typing import Any

import msgspec

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
           504: "DEADLINE_EXCEEDED"}


class GoogleApiError(Exception):
    """An error answer: HTTP code, google.rpc status and an optional GoogleAdsError."""

    def __init__(self, http: int, message: str, *, family: str | None = None,
                 reason: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.http, self.message = http, message
        self.family, self.reason, self.details = family, reason, details

    def body(self, version: str, request_id: str) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.http, "message": self.message,
                               "status": _STATUS.get(self.http, "UNKNOWN")}
        if self.family is not None:
            one: dict[str, Any] = {"errorCode": {self.family: self.reason},
                                   "message": self.message}
            if self.details:
                one["details"] = self.details
            err["details"] = [{
                "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors."
                         "GoogleAdsFailure",
                "errors": [one], "requestId": request_id,
            }]
        return {"error": err}


def quota_error(reason: str, retry_seconds: float | None, scope: str, rate: str) -> GoogleApiError:
    """429 RESOURCE_EXHAUSTED with a quotaError (and the retry delay when one is given)."""
    qd: dict[str, Any] = {"rateScope": scope, "rateName": rate}
    msg = "Too many requests."
    if retry_seconds is not None:
        qd["retryDelay"] = f"{int(retry_seconds)}s"
        msg += f" Retry in {int(retry_seconds)} seconds."
    return GoogleApiError(429, msg, family="quotaError", reason=reason,
                          details={"quotaErrorDetails": qd})


def oauth_error(status: int, error: str, description: str) -> tuple[int, bytes]:
    return status, msgspec.json.encode({"error": error, "error_description": description})


