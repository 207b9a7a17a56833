"""The Graph API answers the Facebook connector reads, as frozen msgspec Structs.

Shapes from docs/api-reference.md §1 (Airbyte's fixtures and Meta's SDK): every edge page
is ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}`` (``paging`` and
``next`` absent on the last page); an async insights job is created as
``{"report_run_id"}`` and polled as an AdReportRun (``async_status``,
``async_percent_completion``); errors are ``{"error": {"message", "type", "code",
"error_subcode", "is_transient", "fbtrace_id", ...}}``. Unknown fields are ignored (Graph
adds fields), and the ids Graph sends as strings may come as numbers from a proxy, so
ids are ``str | int``.

The rows of a page (ads, insights rows) stay ``dict[str, Any]``: one poison value must
cost its row, which validation quarantines, never the whole page.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..http.answers import Answer


class Cursors(msgspec.Struct, frozen=True):
    before: str | None = None
    after: str | None = None


class Paging(msgspec.Struct, frozen=True):
    cursors: Cursors | None = None
    #: The next page's absolute URL; absent on the last page (an empty page may carry one).
    next: str | None = None
    previous: str | None = None


class Page(msgspec.Struct, frozen=True):
    """One page of an edge: its rows, raw, and where the next page is."""

    data: list[dict[str, Any]]
    paging: Paging | None = None


class AccountAnswer(msgspec.Struct, frozen=True):
    """``GET act_<id>?fields=account_id,name,currency,timezone_name,account_status``."""

    account_id: str | int | None = None
    name: str | None = None
    currency: str | None = None
    timezone_name: str | None = None
    account_status: int | str | None = None
    id: str | None = None


class TokenData(msgspec.Struct, frozen=True):
    #: Unix time the token expires; 0 for a token that never does.
    expires_at: int | float | None = None
    is_valid: bool | None = None


class DebugTokenAnswer(msgspec.Struct, frozen=True):
    """``GET debug_token?input_token=...``: ``{"data": {"expires_at", ...}}``."""

    data: TokenData


class JobCreated(msgspec.Struct, frozen=True):
    """``POST act_<id>/insights`` (async): ``{"report_run_id": "157..."}``."""

    report_run_id: str | int


class JobStatus(msgspec.Struct, frozen=True):
    """An AdReportRun polled with ``fields=id,async_status,async_percent_completion``."""

    async_status: str
    async_percent_completion: float | None = None
    id: str | int | None = None


class GraphError(msgspec.Struct, frozen=True):
    """The ``error`` object of a Graph error answer (all but the message optional)."""

    message: str | None = None
    type: str | None = None
    code: int | str | None = None
    error_subcode: int | str | None = None
    is_transient: bool | None = None
    fbtrace_id: str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """``{"error": {...}}``: Graph's error answer (any status, a 200 too)."""

    error: GraphError


PAGE: Answer[Page] = Answer(Page, "Graph page")
ACCOUNT: Answer[AccountAnswer] = Answer(AccountAnswer, "ad account")
DEBUG_TOKEN: Answer[DebugTokenAnswer] = Answer(DebugTokenAnswer, "debug_token")
JOB_CREATED: Answer[JobCreated] = Answer(JobCreated, "async job creation")
JOB_STATUS: Answer[JobStatus] = Answer(JobStatus, "async job status")
ERROR_BODY = msgspec.json.Decoder(ErrorBody)
