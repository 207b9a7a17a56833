"""Per-request state of the Facebook emulator and the checks and faults a request meets.

``check_request`` runs, in Graph's order, what comes before a handler: the ``slow`` fault,
the token (from ``access_token`` or the ``Authorization`` header), the token and redirect
faults, the account, usage and throttle headers, server errors and "reduce the amount of
data" for a page size over a fault's limit; ``mangle`` applies the body faults to a
successful answer. ``RequestContext`` carries what they find to the handlers and headers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from within_daemon.sandbox.facebook import graph as g
from within_daemon.sandbox.facebook.data import AccountData
from within_daemon.sandbox.facebook.jobs import ReportJob
from within_daemon.sandbox.faults import Fault, FaultPlan

DEFAULT_LIMIT, MAX_LIMIT = 25, 5000


class Redirect(Exception):
    """The ``redirect_loop`` fault: answer 302 back to the same URL."""


@dataclass(slots=True)
class RequestContext:
    """Per-request state the fault pipeline and the handlers share."""

    request: web.Request
    params: dict[str, str]
    kind: str
    account_id: str
    data: AccountData | None = None
    job: ReportJob | None = None
    edge: str = ""
    pct: float = 5.0
    eta: int = 0
    #: The app's usage (X-App-Usage): the emulator's app_usage_pct unless a fault sets it.
    app_pct: float = 5.0
    limit: int = DEFAULT_LIMIT

    def limit_exceeds(self, fault: Fault) -> bool:
        return self.limit > fault.param("max_limit", 100)


async def check_request(faults: FaultPlan, ctx: RequestContext) -> None:
    """The checks and faults before a handler runs, in Graph's order; raise its error."""
    acct, kind = ctx.account_id or None, ctx.kind
    if f := faults.take("slow", acct, kind):
        await asyncio.sleep(float(f.params.get("delay", 1.0)))
    token = ctx.params.get("access_token", "") or header_token(ctx.request)
    if not token:
        raise g.missing_token()
    if faults.take("expired_token", acct, kind):
        raise g.expired_token()
    if faults.take("echo_token", acct, kind):
        # Graph quotes a token it cannot parse: "Malformed access token <the token>",
        # code 190 (github.com/facebookarchive/react-native-fbsdk/issues/220).
        raise g.GraphError(400, 190, f"Malformed access token {token}")
    if faults.take("redirect_loop", acct, kind):
        # A proxy or moved host that redirects to itself: the client gives up after its
        # redirect limit with an error that quotes the URL (a token sent as the
        # access_token parameter included; ours travels in a header).
        raise Redirect()
    if ctx.data is None:
        raise g.unknown_object(f"act_{ctx.account_id}")
    if f := faults.take("usage", acct, kind):
        ctx.pct, ctx.eta = float(f.params.get("pct", 85)), _eta(f, 0)
        ctx.app_pct = float(f.params.get("app_pct", ctx.app_pct))
    if f := faults.take("throttle", acct, kind):
        code = f.param("code", 80000)
        ctx.pct, ctx.eta = float(f.params.get("pct", 100)), _eta(f, 1)
        if code == 4:  # the app's limit: X-App-Usage is the header at 100%
            ctx.app_pct = ctx.pct
        raise g.throttle_error(code, f.opt_int("subcode"))
    if f := faults.take("server_error", acct, kind):
        raise g.server_error(f.param("code", 1), f.opt_int("status"))
    if kind in ("ads", "insights"):
        ctx.limit = _limit(ctx.params)
        if faults.take("reduce_data", acct, kind, when=ctx.limit_exceeds):
            raise g.reduce_data()


def mangle(faults: FaultPlan, ctx: RequestContext, body: bytes) -> bytes:
    """Apply body faults to a successful response (Content-Length follows the bytes)."""
    acct = ctx.account_id or None
    if faults.take("malformed", acct, ctx.kind):
        return body[:-1] + b',"oops":}'
    if faults.take("truncated", acct, ctx.kind):
        return body[: len(body) // 2]
    return body


def header_token(request: web.Request) -> str:
    """The token of ``Authorization: OAuth <token>`` or ``Bearer <token>``.

    Graph takes the token from this header as well as from ``access_token`` (reference §0:
    "The token may be sent as Authorization: OAuth <token> (or Bearer)"); a header keeps it
    out of the URL, so out of ``paging.next`` links and of error texts quoting URLs.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() in ("oauth", "bearer") else ""


def _eta(f: Fault, default: int) -> int:
    return int(f.params.get("estimated_time_to_regain_access", f.params.get("eta", default)))


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise g.invalid_parameter("Param limit must be a positive integer")
    # Graph caps page sizes rather than failing; the cap is documented, not the behaviour.
    return min(int(raw), MAX_LIMIT)
