"""The Google Ads API (REST) answers the connector reads, as frozen msgspec Structs.

Shapes from docs/api-reference.md §2.4 and §2.5: ``:search`` answers one page
``{results, nextPageToken, totalResultsCount, fieldMask, queryResourceConsumption}``;
``:searchStream`` answers a JSON array of batches ``{results, fieldMask, requestId,
queryResourceConsumption, summaryRow}`` (``results`` left out when no row matched), and a
stream that fails after it started sends the error as its last element. Errors are a
google.rpc.Status ``{"error": {code, message, status, details}}`` whose ``details`` carry a
GoogleAdsFailure (``errors[].errorCode``, ``errors[].details.quotaErrorDetails``) or a
RetryInfo (``retryDelay``); searchStream may wrap it in an array. Unknown fields are
ignored (Google adds fields, ``metricAttributes`` in v23); fields are snake_case here,
camelCase on the wire (``rename="camel"``).

The rows (GoogleAdsRows in ``results``) stay ``dict[str, Any]``: one poison value must
cost its row, which validation quarantines, never the whole page or batch.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..http.answers import Answer

#: A protobuf Duration in JSON: ``"41732s"``, or ``{"seconds", "nanos"}`` from some proxies.
Duration = str | int | float | dict[str, Any] | None


class QuotaErrorDetails(msgspec.Struct, frozen=True, rename="camel"):
    rate_scope: str | None = None
    rate_name: str | None = None
    retry_delay: Duration = None


class AdsErrorDetails(msgspec.Struct, frozen=True, rename="camel"):
    quota_error_details: QuotaErrorDetails | None = None


class AdsError(msgspec.Struct, frozen=True, rename="camel"):
    """One GoogleAdsError: ``errorCode`` names its family (``{"quotaError": "..."}``)."""

    error_code: dict[str, str] | None = None
    message: str | None = None
    details: AdsErrorDetails | None = None


class StatusDetail(msgspec.Struct, frozen=True, rename="camel"):
    """An entry of ``error.details``: a GoogleAdsFailure, a RetryInfo, or another type."""

    type: str | None = msgspec.field(default=None, name="@type")
    errors: list[AdsError] | None = None
    retry_delay: Duration = None
    request_id: str | None = None


class RpcStatus(msgspec.Struct, frozen=True):
    """google.rpc.Status: the ``error`` object of an error answer."""

    code: int | str | None = None
    message: str | None = None
    status: str | None = None
    details: list[StatusDetail] | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """``{"error": {...}}``; in an array, elements without one are a stream's batches."""

    error: RpcStatus | None = None


class SearchPage(msgspec.Struct, frozen=True, rename="camel"):
    """One ``:search`` page; ``error`` in case a 200 ever carries one."""

    results: list[dict[str, Any]] | None = None
    next_page_token: str | None = None
    total_results_count: str | int | None = None
    field_mask: str | None = None
    query_resource_consumption: str | int | None = None
    error: RpcStatus | None = None


class StreamBatch(msgspec.Struct, frozen=True, rename="camel"):
    """One element of a ``:searchStream`` answer: rows, or the error that ended the stream."""

    results: list[dict[str, Any]] | None = None
    field_mask: str | None = None
    request_id: str | None = None
    query_resource_consumption: str | int | None = None
    summary_row: dict[str, Any] | None = None
    error: RpcStatus | None = None


SEARCH_PAGE: Answer[SearchPage] = Answer(SearchPage, "search page")
STREAM_BATCH: Answer[StreamBatch] = Answer(StreamBatch, "searchStream batch")
#: Several batches at once (the tail of a stream, decoded when the bytes end).
STREAM_BATCHES: Answer[list[StreamBatch]] = Answer(list[StreamBatch], "searchStream batches")
ERROR_BODY = msgspec.json.Decoder(ErrorBody | list[ErrorBody])
