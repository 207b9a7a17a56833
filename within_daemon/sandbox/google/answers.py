"""Google Ads emulator answers: the request context, fault errors, search pages, streams.

``raise_faults`` turns the switched-on faults into the error answers Google gives (quota,
rate, permission, argument, server errors, the last possibly mid-stream); ``search_page``
cuts a ``search`` answer into pages with a ``nextPageToken`` bound to the query;
``stream_body`` lays a ``searchStream`` answer out as batches and records where each piece
ends, so the server can write it piece by piece.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from within_daemon.sandbox.faults import Fault, FaultPlan
from within_daemon.sandbox.google.errors import GoogleApiError, quota_error

DEFAULT_VERSION = "v26"


@dataclass(slots=True)
class RequestContext:
    """What the handlers learn about one request on its way to an answer."""

    request: web.Request
    version: str = DEFAULT_VERSION
    kind: str = "other"
    account_id: str = ""
    stream: bool = False
    wrap: bool | None = None
    midstream: GoogleApiError | None = None
    shown: dict[str, str] = field(default_factory=dict)
    #: Byte offsets where the pieces of a streamed answer end.
    pieces: list[int] = field(default_factory=list)
    stall: Fault | None = None


def raise_faults(faults: FaultPlan, ctx: RequestContext) -> None:
    """Raise the error a switched-on fault asks for (a mid-stream one is kept in ``ctx``)."""
    acct, kind = ctx.account_id, ctx.kind
    if f := faults.take("quota_exhausted", acct, kind):
        ctx.wrap = f.params.get("wrap")
        secs = f.params.get("retry_seconds", 41732)
        raise quota_error("RESOURCE_EXHAUSTED", None if secs is None else float(secs),
                          str(f.params.get("rate_scope", "DEVELOPER")),
                          str(f.params.get("rate_name",
                                           "Number of operations for basic access")))
    if f := faults.take("rate_exceeded", acct, kind):
        ctx.wrap = f.params.get("wrap")
        secs = f.params.get("retry_seconds")
        raise quota_error(str(f.params.get("reason", "RESOURCE_TEMPORARILY_EXHAUSTED")),
                          None if secs is None else float(secs),
                          str(f.params.get("rate_scope", "ACCOUNT")),
                          str(f.params.get("rate_name", "Requests per account")))
    if f := faults.take("permission_denied", acct, kind):
        ctx.wrap = f.params.get("wrap")
        raise GoogleApiError(403, "The caller does not have permission.",
                             family="authorizationError",
                             reason=str(f.params.get("reason", "USER_PERMISSION_DENIED")))
    if f := faults.take("invalid_argument", acct, kind):
        ctx.wrap = f.params.get("wrap")
        raise GoogleApiError(400, "Request contains an invalid argument.",
                             family=str(f.params.get("family", "queryError")),
                             reason=str(f.params.get("reason", "UNRECOGNIZED_FIELD")))
    if f := faults.take("server_error", acct, kind):
        ctx.wrap = f.params.get("wrap")
        status = f.param("status", 500)
        err = (GoogleApiError(500, "Internal error encountered.", family="internalError",
                              reason="INTERNAL_ERROR") if status == 500
               else GoogleApiError(status, "The service is currently unavailable."))
        if ctx.stream and f.params.get("midstream"):
            ctx.midstream = err  # 200, some rows, then the error as the last element
        else:
            raise err


def stream_body(ctx: RequestContext, rows: list[dict[str, Any]], mask: str, rid: str, *,
                batch_size: int, empty_stream: str) -> bytes:
    """A searchStream answer: a JSON array of batches; ``ctx.pieces`` gets their ends."""
    size = max(1, batch_size)
    batches: list[dict[str, Any]] = [
        {"results": rows[i:i + size], "fieldMask": mask, "requestId": rid}
        for i in range(0, len(rows), size)
    ]
    if not batches and empty_stream != "no_batches":
        empty: dict[str, Any] = {"fieldMask": mask, "requestId": rid}
        if empty_stream == "empty_list":
            empty["results"] = []
        batches.append(empty)
    if batches:
        batches[-1]["queryResourceConsumption"] = str(100 + len(rows))
    if ctx.midstream is not None:
        batches = batches[:1] + [ctx.midstream.body(ctx.version, rid)]
    parts = [msgspec.json.encode(b) for b in batches]
    at = 1
    for p in parts:  # a piece ends after each batch (and its comma)
        at += len(p) + 1
        ctx.pieces.append(at)
    return b"[" + b",".join(parts) + b"]"


def search_page(ctx: RequestContext, text: str, payload: dict[str, Any],
                rows: list[dict[str, Any]], mask: str, *, page_size: int) -> bytes:
    """One search page; its ``nextPageToken`` is bound to the customer and the query."""
    bind = hashlib.sha1(f"{ctx.account_id}|{text}".encode()).hexdigest()[:12]
    start = 0
    token = payload.get("pageToken")
    if token:
        try:
            got, off = base64.urlsafe_b64decode(str(token).encode()).decode().split(":")
            start = int(off)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            got = ""
        if got != bind:
            raise GoogleApiError(400, "Page token is invalid or does not match the query.",
                                 family="requestError", reason="INVALID_PAGE_TOKEN")
    stop = start + max(1, page_size)
    page: dict[str, Any] = {"fieldMask": mask}
    if rows[start:stop]:
        page["results"] = rows[start:stop]
    if stop < len(rows):
        page["nextPageToken"] = base64.urlsafe_b64encode(f"{bind}:{stop}".encode()).decode()
    settings = payload.get("searchSettings")
    if isinstance(settings, dict) and settings.get("returnTotalResultsCount"):
        page["totalResultsCount"] = str(len(rows))
    page["queryResourceConsumption"] = str(100 + len(rows))
    return msgspec.json.encode(page)
