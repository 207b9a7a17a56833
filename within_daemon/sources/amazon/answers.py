"""The Amazon Ads API answers the connector reads, as frozen msgspec Structs.

Shapes from docs/api-reference.md §3: ``GET /v2/profiles`` is a JSON array of profiles
(``profileId`` a number, ``accountInfo{marketplaceStringId, id, type, name}``); a
reporting v3 create and a status poll both answer the report object (``reportId``,
``status`` PENDING/PROCESSING/COMPLETED/FAILED, ``url`` once completed, ``updatedAt``,
``failureReason``); the Sponsored Brands v4 ads list pages with ``{"ads", "nextToken"}``;
errors are ``{"code", "details"}``, ``{"code", "detail"}`` on reporting v3, or LwA's
``{"error", "error_description"}``. Unknown fields are ignored (Amazon adds fields);
fields are snake_case here, camelCase on the wire (``rename="camel"``).

The rows stay ``dict[str, Any]``: Sponsored Brands ads here, and report rows, which the
download streams (``sources/http/json_stream.py``) one row at a time: one poison value
must cost its row, which validation quarantines, never the whole page.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..http.answers import Answer


class ProfileAccount(msgspec.Struct, frozen=True, rename="camel"):
    """``accountInfo`` of a profile: the advertiser behind it."""

    name: str | None = None
    type: str | None = None
    marketplace_string_id: str | None = None
    id: str | None = None


class Profile(msgspec.Struct, frozen=True, rename="camel"):
    """One entry of ``GET /v2/profiles``."""

    profile_id: int | str
    country_code: str | None = None
    currency_code: str | None = None
    timezone: str | None = None
    account_info: ProfileAccount | None = None


class Report(msgspec.Struct, frozen=True, rename="camel"):
    """A reporting v3 report, as created and as polled."""

    report_id: str
    status: str | None = None
    url: str | None = None
    updated_at: str | None = None
    failure_reason: str | None = None


class SbAdsPage(msgspec.Struct, frozen=True, rename="camel"):
    """``POST /sb/v4/ads/list``: ads (raw) and the token of the next page."""

    ads: list[dict[str, Any]] | None = None
    next_token: str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """An API error answer; each service fills a different subset of these keys."""

    code: str | int | None = None
    detail: str | None = None
    details: str | None = None
    message: str | None = None
    error: str | None = None
    error_description: str | None = None


PROFILES: Answer[list[Profile]] = Answer(list[Profile], "profile list")
REPORT: Answer[Report] = Answer(Report, "report")
SB_ADS: Answer[SbAdsPage] = Answer(SbAdsPage, "Sponsored Brands ads")
ERROR_BODY = msgspec.json.Decoder(ErrorBody)
