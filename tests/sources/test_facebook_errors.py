"""classify_error: every row of the Graph error table (ad-apis.md §1.8) to our exception tree."""

from __future__ import annotations

import json
from typing import Any

import pytest

from within_daemon.errors import (
    AuthError,
    PermanentSourceError,
    ReduceDataError,
    SourceError,
    ThrottledError,
    TransientError,
)
from within_daemon.sources.facebook.errors import classify_error

ACCOUNT = "1000000001"


def graph_error(code: int | None, message: str, subcode: int | None = None,
                **extra: Any) -> bytes:
    err: dict[str, Any] = {"message": message, "fbtrace_id": "A3pz5DCfhBg3mGCS6Z9z9zY"}
    if code is not None:
        err["code"] = code
    if subcode is not None:
        err["error_subcode"] = subcode
    err.update(extra)
    return json.dumps({"error": err}).encode()


def classify(status: int, body: bytes, **kw: Any) -> SourceError:
    return classify_error(status, body, account_id=ACCOUNT, **kw)


# The throttle fixture from ad-apis.md §1.9, verbatim (note type OAuthException).
THROTTLE_80000 = json.dumps({"error": {
    "message": "(#80000) There have been too many calls from this ad-account. Wait a bit and "
               "try again. For more info, please refer to "
               "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    "type": "OAuthException", "code": 80000, "error_subcode": 2446079,
    "fbtrace_id": "this_is_fake_response",
}}).encode()


def assert_attrs(err: SourceError, status: int, code: int | None, subcode: int | None) -> None:
    assert err.platform == "facebook"
    assert err.account_id == ACCOUNT
    assert err.status == status
    assert err.code == code
    assert err.subcode == subcode


# -- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subcode", "message"),
    [
        (463, "Error validating access token: Session has expired on Tuesday, 01-Aug-23."),
        (460, "Error validating access token: The session has been invalidated because the "
              "user changed their password."),
        (458, "Error validating access token: The user has not authorized application."),
        (None, "Invalid OAuth access token."),
    ],
)
def test_code_190_is_auth_error(subcode: int | None, message: str) -> None:
    """Code 190 (expired, password changed, not authorized, invalid) is an AuthError."""
    err = classify(400, graph_error(190, message, subcode, type="OAuthException"))
    assert type(err) is AuthError
    assert_attrs(err, 400, 190, subcode)
    assert err.retriable is False
    assert "190" in str(err)
    assert err.error_class == "auth"


def test_oauth_exception_without_code_is_auth_error() -> None:
    """An OAuthException with no code is treated as an auth failure."""
    err = classify(400, graph_error(None, "Malformed access token", type="OAuthException"))
    assert type(err) is AuthError
    assert err.code is None


# -- throttles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "subcode", "message"),
    [
        (4, 1504022, "(#4) Application request limit reached"),
        (4, 1504039, "Too Many API Requests"),
        (17, 2446079, "(#17) User request limit reached"),
        (32, None, "(#32) Page request limit reached"),
        (613, 1487742, "There have been too many calls from this ad-account. Please wait a "
                       "bit and try again."),
        (80000, 2446079, "(#80000) There have been too many calls from this ad-account."),
        (80004, None, "(#80004) There have been too many calls to this ad-account. Wait a bit "
                      "and try again. #ads-management"),
        (80001, None, "(#80001) pages throttle"),
        (80014, None, "(#80014) catalog throttle"),
    ],
)
def test_throttle_codes_are_throttled_errors(code: int, subcode: int | None, message: str) -> None:
    """Throttle codes 4/17/32/613/800xx are ThrottledError waiting at least throttle_pause."""
    err = classify(400, graph_error(code, message, subcode), throttle_pause=60.0)
    assert type(err) is ThrottledError
    assert_attrs(err, 400, code, subcode)
    assert err.retriable is True
    assert err.retry_after >= 60.0
    assert err.error_class == "throttled"


def test_reference_80000_fixture_is_throttle_not_auth() -> None:
    """The verbatim 80000 fixture (type OAuthException) is a throttle, not an auth error."""
    err = classify(400, THROTTLE_80000)
    assert type(err) is ThrottledError
    assert_attrs(err, 400, 80000, 2446079)


@pytest.mark.parametrize(
    ("regain", "pause", "expected", "hint"),
    [(0.0, 60.0, 60.0, None), (300.0, 60.0, 300.0, 300.0), (10.0, 60.0, 10.0, 10.0),
     (0.0, 0.05, 0.05, None)],
)
def test_throttle_waits_the_regain_hint_else_the_pause(
    regain: float, pause: float, expected: float, hint: float | None
) -> None:
    """The usage headers' regain time is the hint (even below throttle_pause); else no hint."""
    err = classify(400, THROTTLE_80000, regain_seconds=regain, throttle_pause=pause)
    assert isinstance(err, ThrottledError)
    assert err.retry_after == pytest.approx(expected)
    assert err.hint == hint
    assert err.app_wide is False


def test_application_limit_code_4_is_app_wide() -> None:
    """Code 4 (application request limit) is the app's quota; 80000 is the account's."""
    err = classify(400, graph_error(4, "(#4) Application request limit reached", 1504022))
    assert isinstance(err, ThrottledError) and err.app_wide is True
    assert isinstance(classify(400, THROTTLE_80000), ThrottledError)
    assert classify(400, THROTTLE_80000).app_wide is False


def test_http_429_with_graph_body_is_throttled() -> None:
    """HTTP 429 with a Graph error body of an unlisted code is still a throttle."""
    err = classify(429, graph_error(9999, "slow down"), regain_seconds=120.0)
    assert type(err) is ThrottledError
    assert err.retry_after == pytest.approx(120.0)


def test_http_429_without_graph_body_is_throttled() -> None:
    """HTTP 429 with a non-JSON body is a throttle too, waiting at least throttle_pause."""
    err = classify(429, b"<html>Too Many Requests</html>", throttle_pause=60.0)
    assert isinstance(err, ThrottledError)
    assert err.retry_after >= 60.0


# -- reduce data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "subcode", "message"),
    [
        (500, 1, None, "Please reduce the amount of data you're asking for, then retry your "
                       "request"),
        (500, 1, 99, "Please REDUCE THE AMOUNT OF DATA you're asking for"),
        (400, 100, 1504018, "Your request timed out"),
        (400, 2, 1504038, "Service temporarily unavailable"),
    ],
)
def test_reduce_data(status: int, code: int, subcode: int | None, message: str) -> None:
    """'Reduce the amount of data' and insights timeout pairs ask for a smaller request."""
    err = classify(status, graph_error(code, message, subcode))
    assert type(err) is ReduceDataError
    assert_attrs(err, status, code, subcode)
    assert err.error_class == "reduce_data"


# -- transient -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "subcode", "extra", "message"),
    [
        (500, 1, 99, {}, "An unknown error occurred"),
        (500, 1, None, {}, "An unknown error occurred"),
        (400, 2, None, {"is_transient": True}, "(#2) Service temporarily unavailable"),
        (400, 2, None, {}, "(#2) Service temporarily unavailable"),
        (400, 960, None, {}, "Request was cancelled due to a batch timeout"),
        (400, 12345, None, {"is_transient": True}, "Something transient"),
        (503, 100, None, {}, "backend overloaded"),
        (502, None, None, {}, "Bad gateway"),
    ],
)
def test_transient(
    status: int, code: int | None, subcode: int | None, extra: dict[str, Any], message: str
) -> None:
    """Codes 1, 2, 960, is_transient and any 5xx are TransientError (retriable)."""
    err = classify(status, graph_error(code, message, subcode, **extra))
    assert type(err) is TransientError
    assert_attrs(err, status, code, subcode)
    assert err.retriable is True
    assert err.error_class == "transient"


def test_non_json_5xx_is_transient() -> None:
    """A 502 with an HTML body (load balancer) is transient and quotes the body briefly."""
    body = b"<html><body>502 Bad Gateway</body></html>" + b"x" * 1000
    err = classify(502, body)
    assert type(err) is TransientError
    assert_attrs(err, 502, None, None)
    assert "502" in str(err)
    assert len(str(err)) < 400


def test_non_utf8_body_does_not_crash() -> None:
    """A binary body is classified without a decode error."""
    err = classify(503, b"\xff\xfe\x00garbage")
    assert type(err) is TransientError


# -- permanent -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "subcode", "type_", "message"),
    [
        (400, 100, 33, "GraphMethodException",
         "Unsupported get request. Object with ID 'act_1' does not exist, cannot be loaded "
         "due to missing permissions, or does not support this operation."),
        (400, 100, None, "OAuthException", "(#100) Missing permissions"),
        (400, 100, None, "OAuthException", "(#100) Invalid parameter"),
        (403, 200, None, "OAuthException",
         "(#200) Requires business_management permission to manage the object"),
    ],
)
def test_permanent(
    status: int, code: int, subcode: int | None, type_: str | None, message: str
) -> None:
    """Codes 100 and 200 (bad parameter, missing object or permission) are permanent."""
    extra = {"type": type_} if type_ else {}
    err = classify(status, graph_error(code, message, subcode, is_transient=False, **extra))
    assert type(err) is PermanentSourceError
    assert_attrs(err, status, code, subcode)
    assert err.retriable is False
    assert err.error_class == "permanent"
    assert message[:20] in str(err)


@pytest.mark.parametrize(
    "body", [b"Bad Request", b"", b'{"data": []}', b'{"error": "just a string"}', b"[1]"]
)
def test_non_graph_4xx_is_permanent(body: bytes) -> None:
    """A 400 without a Graph error object is a PermanentSourceError without code."""
    err = classify(400, body)
    assert type(err) is PermanentSourceError
    assert_attrs(err, 400, None, None)


def test_string_codes_are_parsed() -> None:
    """Codes sent as strings are read as numbers, so they classify the same way."""
    err = classify(400, graph_error("613", "too many calls", "1487742"))  # type: ignore[arg-type]
    assert type(err) is ThrottledError
    assert (err.code, err.subcode) == (613, 1487742)


def test_long_message_is_truncated() -> None:
    """A huge error message is cut so a log line or metric label stays bounded."""
    err = classify(400, graph_error(100, "x" * 10_000))
    assert len(str(err)) < 600
