"""Graph API wire details for the Facebook emulator: errors, field expansion, cursors, headers.

Kept apart from the server so the exact texts and shapes (which the reference marks as
confirmed) live in one place, and so the parsing helpers can be tested without sockets.
Error texts follow docs/reference ad-apis.md section 1.8.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import msgspec

#: A parsed ``fields`` value: name -> nested selection, or ``None`` for a plain field.
FieldTree = dict[str, "FieldTree | None"]

_EXPIRED_MESSAGE = (
    "Error validating access token: Session has expired on Tuesday, 01-Aug-23 12:00:00 PDT. "
    "The current time is Wednesday, 02-Aug-23 09:15:02 PDT."
)
_RATE_LIMIT_DOC = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"

#: Throttle code -> (default subcode, message). 80000 is verbatim from the Airbyte fixture.
THROTTLE_MESSAGES: dict[int, tuple[int | None, str]] = {
    4: (None, "(#4) Application request limit reached"),
    17: (2446079, "(#17) User request limit reached"),
    32: (None, "(#32) Page request limit reached"),
    613: (
        1487742,
        "(#613) There have been too many calls from this ad-account. "
        "Please wait a bit and try again.",
    ),
    80000: (
        2446079,
        "(#80000) There have been too many calls from this ad-account. Wait a bit and try "
        f"again. For more info, please refer to {_RATE_LIMIT_DOC}.",
    ),
    80004: (
        2446079,
        "(#80004) There have been too many calls to this ad-account. Wait a bit and try "
        f"again. For more info, please refer to {_RATE_LIMIT_DOC}#ads-management.",
    ),
}


class GraphError(Exception):
    """An error response: HTTP status plus the ``{"error": {...}}`` body Graph sends."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type_
        self.subcode = subcode
        self.is_transient = is_transient

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.is_transient is not None:
            err["is_transient"] = self.is_transient
        err["fbtrace_id"] = "AsandboxTrace0000000000"
        return {"error": err}


def missing_token() -> GraphError:
    return GraphError(
        400, 190, "An active access token must be used to query information about the current user."
    )


def expired_token() -> GraphError:
    return GraphError(400, 190, _EXPIRED_MESSAGE, subcode=463)


#: Marketing API expiry dates (Meta's "Marketing API version history" page, checked
#: December 2026); v21.0 and older are long expired, v26.0 and v27.0 have no date yet.
#: Past its date a version answers Graph error 2635 ("You are calling a deprecated version
#: of the Ads API. Please update to the latest version: vNN.0."), as reported verbatim in
#: facebook/facebook-nodejs-business-sdk#239 and maraujo/pySocialWatcher#25 (HTTP 400,
#: type OAuthException).
EXPIRES = {
    "v22.0": dt.date(2026, 2, 19), "v23.0": dt.date(2026, 6, 9),
    "v24.0": dt.date(2026, 11, 10), "v25.0": dt.date(2027, 2, 23),
}
_VERSION = re.compile(r"^/v(\d+)\.(\d+)/")


def version_expired(path: str, today: dt.date) -> bool:
    """Whether the path's ``/vNN.0/`` prefix names a version expired on ``today``."""
    m = _VERSION.match(path)
    if m is None:
        return False  # Graph serves unversioned paths with the app's default version
    if (int(m.group(1)), int(m.group(2))) < (22, 0):
        return True
    expiry = EXPIRES.get(f"v{m.group(1)}.{m.group(2)}")
    return expiry is not None and expiry <= today


def deprecated_version(latest: str) -> GraphError:
    """An expired version in the path (message as quoted in public SDK issues)."""
    return GraphError(
        400, 2635,
        f"(#2635) You are calling a deprecated version of the Ads API. Please update to the "
        f"latest version: {latest}.",
    )


def unknown_object(object_id: str, method: str = "get") -> GraphError:
    return GraphError(
        400, 100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        type_="GraphMethodException", subcode=33,
    )


def invalid_parameter(detail: str) -> GraphError:
    return GraphError(400, 100, f"(#100) {detail}")


def unknown_path(path: str) -> GraphError:
    return GraphError(400, 2500, f"Unknown path components: {path}")


def throttle_error(code: int, subcode: int | None = None) -> GraphError:
    default_sub, message = THROTTLE_MESSAGES.get(code, THROTTLE_MESSAGES[80000])
    return GraphError(
        400, code, message, subcode=default_sub if subcode is None else subcode,
        is_transient=True,
    )


def server_error(code: int = 1, status: int | None = None) -> GraphError:
    if code == 2:
        return GraphError(
            status or 400, 2, "(#2) Service temporarily unavailable", is_transient=True
        )
    return GraphError(
        status or 500, 1, "An unknown error occurred", subcode=99, is_transient=True
    )


def reduce_data() -> GraphError:
    return GraphError(
        500, 1,
        "Please reduce the amount of data you're asking for, then retry your request",
        is_transient=True,
    )


# -- filtering -------------------------------------------------------------------------------

#: ``ad.effective_status`` values Graph accepts in a filter (Airbyte's full list, see
#: shared/reference/ad-apis.md section 1.2); HIDDEN ones appear only when listed.
EFFECTIVE_STATUSES = frozenset({
    "ACTIVE", "ADSET_PAUSED", "ARCHIVED", "CAMPAIGN_PAUSED", "DELETED", "DISAPPROVED",
    "IN_PROCESS", "PAUSED", "PENDING_BILLING_INFO", "PENDING_REVIEW", "PREAPPROVED",
    "WITH_ISSUES",
})
HIDDEN_STATUSES = frozenset({"DELETED", "ARCHIVED"})


def status_filter(params: Mapping[str, str], field: str) -> tuple[str, ...] | None:
    """The values of an ``IN`` filter on ``field`` in ``filtering``, or None without one."""
    raw = params.get("filtering")
    if not raw:
        return None
    try:
        items = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise invalid_parameter("Param filtering must be a JSON array") from None
    if not isinstance(items, list):
        raise invalid_parameter("Param filtering must be a JSON array")
    for item in items:
        if not isinstance(item, dict) or item.get("field") != field:
            continue  # other filters are accepted and not applied
        values = item.get("value")
        if item.get("operator") != "IN" or not isinstance(values, list):
            raise invalid_parameter(f"Filter on {field} must use operator IN with a list")
        bad = [v for v in values if v not in EFFECTIVE_STATUSES]
        if bad:
            raise invalid_parameter(f"Invalid value {bad[0]!r} for filter on {field}")
        return tuple(sorted(set(values)))
    return None



# -- fields ---------------------------------------------------------------------------------


def parse_fields(raw: str | None) -> FieldTree:
    """Parse ``id,creative{title,object_story_spec{link_data}}`` (or a JSON list of names).

    Modifiers such as ``.limit(5)`` are dropped: the emulator has no nested edges to limit.
    """
    if not raw:
        return {}
    raw = raw.strip()
    if raw.startswith("["):
        try:
            names = msgspec.json.decode(raw, type=list[str])
        except msgspec.DecodeError as exc:
            raise invalid_parameter(f"Param fields must be a list of strings: {exc}") from None
        raw = ",".join(names)
    tree, pos = _parse_level(raw, 0)
    if pos != len(raw):
        raise invalid_parameter(f"Syntax error in fields at character {pos}: {raw!r}")
    return tree


def _parse_level(raw: str, pos: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    name: list[str] = []
    while pos < len(raw):
        ch = raw[pos]
        if ch == "{":
            sub, pos = _parse_level(raw, pos + 1)
            if pos >= len(raw) or raw[pos] != "}":
                raise invalid_parameter(f"Unbalanced braces in fields: {raw!r}")
            tree[_field_name(name)] = sub
            name = []
        elif ch == "}":
            break
        elif ch == ",":
            if name:
                tree.setdefault(_field_name(name), None)
            name = []
        elif not ch.isspace():
            name.append(ch)
        pos += 1
    if name:
        tree.setdefault(_field_name(name), None)
    return tree, pos


def _field_name(chars: list[str]) -> str:
    return "".join(chars).split(".", 1)[0]


#: Fields whose values are Graph nodes: without a sub-selection they expand to ``{"id"}``.
NODE_FIELDS = frozenset({"creative", "adset", "campaign", "account"})


def project(obj: dict[str, Any], tree: FieldTree) -> dict[str, Any]:
    """Select ``tree`` from ``obj``; unknown names are skipped silently (the brief allows it)."""
    out: dict[str, Any] = {}
    for name, sub in tree.items():
        if name not in obj:
            continue
        value = obj[name]
        if isinstance(value, dict):
            if sub:
                picked = project(value, sub)
                if name in NODE_FIELDS and "id" in value:
                    picked = {"id": value["id"], **picked}
                value = picked
            elif name in NODE_FIELDS:
                value = {"id": value["id"]}
        out[name] = value
    return out


# -- cursors and paging ---------------------------------------------------------------------


def encode_cursor(offset: int, empty_served: bool = False) -> str:
    """Opaque cursor (base64 of the offset; a flag marks an injected empty page as served)."""
    text = f"{offset}{'e' if empty_served else ''}".encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, bool]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        served = text.endswith("e")
        offset = int(text[:-1] if served else text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_parameter(f"Invalid cursor: {cursor!r}") from None
    if offset < 0:
        raise invalid_parameter(f"Invalid cursor: {cursor!r}")
    return offset, served


def next_url(url: str, cursor: str) -> str:
    """The request URL with its ``after`` parameter replaced by ``cursor``."""
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("after=")]
    kept.append(f"after={cursor}")
    return f"{base}?{'&'.join(kept)}"


def page_body(
    data: list[dict[str, Any]], start: int, stop: int, total: int, url: str,
    *, empty_served: bool = False,
) -> dict[str, Any]:
    """``{"data", "paging"}`` for items ``start..stop`` of ``total``; no ``next`` at the end."""
    if total == 0:
        return {"data": data}
    paging: dict[str, Any] = {
        "cursors": {
            "before": encode_cursor(start),
            "after": encode_cursor(stop, empty_served),
        }
    }
    if stop < total:
        paging["next"] = next_url(url, paging["cursors"]["after"])
    return {"data": data, "paging": paging}


# -- usage headers --------------------------------------------------------------------------


def usage_headers(
    account_id: str | None, pct: float, eta_minutes: int, bucket: str,
    app_pct: float | None = None,
) -> dict[str, str]:
    """The three usage headers (plus the insights throttle header), JSON-encoded.

    ``pct`` is the ad account's usage (X-Ad-Account-Usage, the BUC entry); ``app_pct`` the
    app's (X-App-Usage, ``app_id_util_pct``), which Meta tracks per app across all accounts
    (Graph "Rate Limiting" page: platform limits per app, BUC limits per business object).
    Without ``app_pct`` both are ``pct``.
    """
    enc = msgspec.json.encode
    if float(pct).is_integer():
        pct = int(pct)  # Graph reports whole percentages as integers
    apct: float = pct if app_pct is None else app_pct
    if float(apct).is_integer():
        apct = int(apct)
    app = enc({"call_count": apct, "total_time": apct, "total_cputime": apct}).decode()
    acct = enc({
        "acc_id_util_pct": pct,
        "reset_time_duration": eta_minutes * 60,
        "ads_api_access_tier": "standard_access",
    }).decode()
    headers = {
        "X-App-Usage": app,
        "X-Ad-Account-Usage": acct,
        "x-fb-ads-insights-throttle": enc({
            "app_id_util_pct": apct, "acc_id_util_pct": pct,
            "ads_api_access_tier": "standard_access",
        }).decode(),
    }
    buc: dict[str, Any] = {}
    if account_id:
        buc[account_id] = [{
            "type": bucket, "call_count": pct, "total_cputime": pct, "total_time": pct,
            "estimated_time_to_regain_access": eta_minutes,
            "ads_api_access_tier": "standard_access",
        }]
    headers["X-Business-Use-Case-Usage"] = enc(buc).decode()
    return headers
