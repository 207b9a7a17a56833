"""Local Google Ads API (REST) emulator: GAQL search and searchStream plus an OAuth2 endpoint.

Serves ``POST /v{N}/customers/{id}/googleAds:search`` (pages of 10,000 by default, cursor
``nextPageToken`` bound to the query) and ``…:searchStream`` (a JSON array of batches; a
batch without rows omits ``results``), ``GET /v{N}/customers:listAccessibleCustomers`` and
``POST /token`` (also ``/oauth2/v3/token``) for the refresh-token grant, over the
deterministic customers of ``data``. Requests need a live ``Authorization: Bearer``
token minted here and, for a customer under a manager, ``login-customer-id``. The
``developer-token`` header follows ``developer_token_policy``: ``optional`` (the default:
Google's developer-token policy page says the header became optional and is ignored since
September 2026, quota now belonging to the Cloud project; docs/api-reference.md §0), ``required``
(the
versions before: it must match ``developer_token``) or ``rejected`` (a future major version
that refuses it, as the same page announces; the exact answer is unconfirmed [U]).
Errors are google.rpc.Status bodies with a GoogleAdsFailure detail (docs/api-reference.md §2.5); on
searchStream they come wrapped in an array unless ``wrap_stream_errors`` is off. Faults
are switched from Python (``set_fault``) or over HTTP (``/_sandbox/faults``), reusing
``faults.FaultPlan``.

A searchStream answer is written as it is "computed": one piece per batch, ``stream_delay``
seconds apart, as the real API streams a big account's query over minutes ("searchStream
... returns all rows in a stream", a large account takes longer than a minute; docs/api-reference.md
§0, §2.4). The ``stall`` fault stops a stream after ``after`` pieces for ``delay`` seconds
(a connection that goes quiet), the case an inactivity timeout is for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import logging
import re
import time
from typing import Any, Literal

import msgspec
from aiohttp import web

from within_daemon.sandbox.faults import Fault, FaultPlan, RequestRecord, Stats, now
from within_daemon.sandbox.google.answers import (
    DEFAULT_VERSION,
    RequestContext,
    raise_faults,
    search_page,
    stream_body,
)
from within_daemon.sandbox.google.data import (
    CustomerData,
    SandboxCustomer,
    default_customers,
    expected_totals,
)
from within_daemon.sandbox.google.errors import GoogleApiError, oauth_error, quota_error
from within_daemon.sandbox.google.gaql import GaqlError, camel, parse_gaql
from within_daemon.sandbox.google.search import run_query
from within_daemon.sandbox.serving import PlatformEmulator

log = logging.getLogger(__name__)

#: ``GoogleApiError`` and ``quota_error`` moved to ``errors``; importable here as before.
__all__ = ["DEFAULT_VERSION", "FAULT_KINDS", "PATH_KINDS", "SUNSETS", "TOKEN_PATHS",
           "GoogleAdsEmulator", "GoogleApiError", "quota_error"]

FAULT_KINDS = (
    "quota_exhausted", "rate_exceeded", "permission_denied", "invalid_argument",
    "server_error", "expired_token", "refresh_refused", "malformed", "truncated", "slow",
    "echo_form", "stall",
)
#: Path kinds: the FROM resource of the query (the demographic views too, so a fault can
#: hit the audience pull alone), the token endpoint, anything else.
PATH_KINDS = ("customer", "campaign", "ad_group_ad", "age_range_view", "gender_view", "token",
              "other")
#: Sunset dates from the Google Ads developer blog's sunset reminders (v19 2026-02-11, v20
#: 2026-06-10, v21 2026-08-05, v22 2026-10-07: "all vNN API requests will begin to fail");
#: older majors are long gone. A sunset version answers HTTP 400 INVALID_ARGUMENT with
#: requestError UNSUPPORTED_VERSION "Version vNN is deprecated. Requests to this version
#: will be blocked." (PipedreamHQ/pipedream#21604 for v21 after its sunset;
#: googleads/google-ads-python#332 and selesnow/rgoogleads#33 for the message).
SUNSETS = {"v19": dt.date(2026, 2, 11), "v20": dt.date(2026, 6, 10),
           "v21": dt.date(2026, 8, 5), "v22": dt.date(2026, 10, 7)}
_VERSION = re.compile(r"^/(v(\d+))/")
_API = re.compile(r"^/(v\d+)/customers/(\d+)/googleAds:(search|searchStream)/?$")
_LIST = re.compile(r"^/(v\d+)/customers:listAccessibleCustomers/?$")
_FROM = re.compile(r"\bFROM\s+([a-z_]+)", re.I)
TOKEN_PATHS = ("/token", "/oauth2/v3/token")
class GoogleAdsEmulator(PlatformEmulator):
    """An in-process Google Ads REST server; see the module docstring and ``serve``."""

    def __init__(
        self,
        customers: list[SandboxCustomer] | None = None,
        *,
        seed: int = 11,
        api_version: str = DEFAULT_VERSION,
        developer_token: str | None = "sandbox-developer-token",
        developer_token_policy: Literal["optional", "required", "rejected"] = "optional",
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        token_lifetime: float = 3599.0,
        search_page_size: int = 10_000,
        stream_batch_size: int = 10_000,
        wrap_stream_errors: bool = True,
        empty_stream: Literal["omit", "empty_list", "no_batches"] = "omit",
        stream_delay: float = 0.0,
    ) -> None:
        self.customers = {c.customer_id: c for c in (customers or default_customers())}
        self.seed, self.api_version = seed, api_version
        #: The emulator's calendar for version sunsets (None: the real date, UTC).
        self.today: dt.date | None = None
        self.developer_token = developer_token
        self.developer_token_policy = developer_token_policy
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.search_page_size, self.stream_batch_size = search_page_size, stream_batch_size
        self.wrap_stream_errors, self.empty_stream = wrap_stream_errors, empty_stream
        #: Seconds between the pieces (batches) of a searchStream answer.
        self.stream_delay = stream_delay
        #: Per FROM resource, the last streamed answer: [pieces, pieces written, bytes].
        self.streams: dict[str, list[int]] = {}
        self.faults = FaultPlan(FAULT_KINDS, PATH_KINDS)
        self.stats = Stats()
        self.base_url = self.token_url = ""
        #: Live access tokens -> monotonic expiry; refresh tokens refused with invalid_grant.
        self.tokens: dict[str, float] = {}
        self.revoked: set[str] = set()
        self.refreshes = 0
        self._data: dict[str, CustomerData] = {}
        self._serial = itertools.count(1)

    # -- Python control surface ---------------------------------------------------------------

    def set_fault(self, account_id: str | None, kind: str, *, count: int | None = None,
                  path: str | None = None, **params: Any) -> Fault:
        """Switch on a fault for one customer (or all with ``None``); see ``FAULT_KINDS``."""
        return self.faults.add(kind, account_id, count=count, path=path, **params)

    def clear_faults(self, account_id: str | None = None, kind: str | None = None) -> int:
        return self.faults.clear(account_id, kind)

    def data(self, customer_id: str) -> CustomerData:
        if customer_id not in self._data:
            self._data[customer_id] = CustomerData(self.customers[customer_id], self.seed)
        return self._data[customer_id]

    def issue_token(self, lifetime: float | None = None) -> str:
        """Mint an access token directly (tests that skip the OAuth endpoint)."""
        token = f"ya29.sandbox-{next(self._serial)}"
        self.tokens[token] = time.monotonic() + (self.token_lifetime if lifetime is None
                                                 else lifetime)
        return token

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (401 until refreshed)."""
        for t in self.tokens:
            self.tokens[t] = 0.0

    def expected_totals(self, customer_id: str, since: str | dt.date,
                        until: str | dt.date) -> dict[str, Any]:
        """Rows, impressions, clicks, cost_micros, spend (2 dp), conversions, active per day."""
        return expected_totals(self.data(customer_id), str(since), str(until))

    def expected_rows(self, customer_id: str, since: str | dt.date, until: str | dt.date,
                      resource: str = "pull") -> int:
        """Rows with impressions of a pull, an ``ad_group_ad`` or a ``customer`` query.

        ``pull``: ad-days and PMax campaign-days; ``ad_group_ad``: ad-days; else days.
        """
        key = {"pull": "rows", "ad_group_ad": "ad_rows"}.get(resource, "days")
        return int(self.expected_totals(customer_id, since, until)[key])

    # -- serving ----------------------------------------------------------------------------

    def _set_urls(self, origin: str) -> None:
        self.base_url = f"{origin}/{self.api_version}"
        self.token_url = f"{origin}/token"

    def _check_version(self, ctx: RequestContext) -> None:
        m = _VERSION.match(ctx.request.path)
        if m is None:
            return
        ctx.version = m.group(1)
        sunset = SUNSETS.get(m.group(1))
        today = self.today or dt.datetime.now(dt.UTC).date()
        if int(m.group(2)) < 19 or (sunset is not None and sunset <= today):
            raise GoogleApiError(400, f"Version {m.group(1)} is deprecated. Requests to this "
                                 "version will be blocked.", family="requestError",
                                 reason="UNSUPPORTED_VERSION")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = now()
        ctx = RequestContext(request)
        rid = hashlib.sha1(f"{arrived}{request.path}".encode()).hexdigest()[:22]
        try:
            self._check_version(ctx)
            if request.path in TOKEN_PATHS and request.method == "POST":
                status, body = await self._token(ctx)
            elif (m := _API.match(request.path)) and request.method == "POST":
                status, body = 200, await self._api(ctx, m, rid)
            elif (m := _LIST.match(request.path)) and request.method == "GET":
                ctx.version = m.group(1)
                self._check_auth(ctx)
                names = [f"customers/{c}" for c in self.customers]
                status, body = 200, msgspec.json.encode({"resourceNames": names})
            else:
                raise GoogleApiError(404, f"The requested URL {request.path} was not found.")
        except GoogleApiError as err:
            status, obj = err.http, err.body(ctx.version, rid)
            wrap = ctx.wrap if ctx.wrap is not None else ctx.stream and self.wrap_stream_errors
            body = msgspec.json.encode([obj] if wrap else obj)
        except Exception:  # a bug here must still look like a Google 500
            log.exception("google emulator failed on %s", request.path)
            status = 500
            body = msgspec.json.encode(GoogleApiError(500, "Internal error encountered.")
                                       .body(ctx.version, rid))
        self.stats.record(RequestRecord(request.method, request.path, ctx.shown,
                                        ctx.account_id, ctx.kind, status, arrived))
        if status == 200 and ctx.stream:
            return await self._write_stream(ctx, body, rid)
        return web.Response(body=body, status=status, content_type="application/json",
                            headers={"request-id": rid})

    async def _write_stream(self, ctx: RequestContext, body: bytes, rid: str) -> web.StreamResponse:
        """Send a searchStream answer piece by piece (chunked), pausing between pieces."""
        resp = web.StreamResponse(headers={"request-id": rid, "Content-Type": "application/json"})
        await resp.prepare(ctx.request)
        start = 0
        ends = [e for e in ctx.pieces if 0 < e < len(body)] + [len(body)]
        progress = self.streams[ctx.kind] = [len(ends), 0, len(body)]
        try:
            for n, end in enumerate(ends):
                if n and self.stream_delay:
                    await asyncio.sleep(self.stream_delay)
                if ctx.stall is not None and n == int(ctx.stall.params.get("after", 1)):
                    await asyncio.sleep(float(ctx.stall.params.get("delay", 5.0)))
                await resp.write(body[start:end])
                progress[1] += 1
                start = end
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client hung up (an inactivity timeout): nothing more to send
        return resp

    # -- OAuth --------------------------------------------------------------------------------

    async def _token(self, ctx: RequestContext) -> tuple[int, bytes]:
        ctx.kind = "token"
        form = await ctx.request.post()
        grant, rt = str(form.get("grant_type", "")), str(form.get("refresh_token", ""))
        ctx.shown = {"grant_type": grant, "refresh_token": rt}
        if f := self.faults.take("slow", None, "token"):
            await asyncio.sleep(float(f.params.get("delay", 1.0)))
        if grant != "refresh_token":
            return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        if self.faults.take("echo_form", None, "token"):
            # A careless token endpoint (or a proxy in front of one) that quotes the request
            # in its error: refresh token and client secret come back in the body.
            return oauth_error(400, "invalid_request",
                                f"cannot process {msgspec.json.encode(dict(form)).decode()}")
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                  self.client_secret):
            return oauth_error(401, "invalid_client", "The OAuth client was not found.")
        refused = next((f for f in self.faults if f.kind == "refresh_refused"
                        and (f.remaining is None or f.remaining > 0)
                        and f.params.get("refresh_token") in (None, rt)), None)
        if refused is not None:
            self.faults.use(refused)
        if not rt or rt in self.revoked or refused is not None:
            # [U] the description text; the invalid_grant shape is RFC 6749's.
            return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        self.refreshes += 1
        token = self.issue_token()
        return 200, msgspec.json.encode({
            "access_token": token, "expires_in": int(self.token_lifetime),
            "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"})

    def _check_auth(self, ctx: RequestContext) -> None:
        auth = ctx.request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if token not in self.tokens:
            raise GoogleApiError(401, "Request had invalid authentication credentials. Expected "
                                 "OAuth 2 access token, login cookie or other valid "
                                 "authentication credential.")
        if self.faults.take("expired_token", ctx.account_id or None, ctx.kind):
            self.tokens[token] = 0.0
        if self.tokens[token] <= time.monotonic():
            raise GoogleApiError(401, "Request had invalid authentication credentials.",
                                 family="authenticationError", reason="OAUTH_TOKEN_EXPIRED")
        dev = ctx.request.headers.get("developer-token")
        policy = self.developer_token_policy
        if policy == "required" and self.developer_token is not None \
                and dev != self.developer_token:
            # [U] the exact answer to a missing or wrong developer token is unconfirmed.
            raise GoogleApiError(401, "The developer token is not valid.",
                                 family="authenticationError", reason="DEVELOPER_TOKEN_INVALID")
        if policy == "rejected" and dev is not None:
            raise GoogleApiError(400, "The developer-token header is no longer supported.",
                                 family="requestError", reason="UNSUPPORTED_HEADER")

    # -- GAQL ---------------------------------------------------------------------------------

    async def _api(self, ctx: RequestContext, m: re.Match[str], rid: str) -> bytes:
        ctx.version, ctx.account_id, method = m.group(1), m.group(2), m.group(3)
        ctx.stream = method == "searchStream"
        req = ctx.request
        try:
            payload = msgspec.json.decode(await req.read())
        except msgspec.DecodeError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        text = payload.get("query")
        kind = _FROM.search(text) if isinstance(text, str) else None
        ctx.kind = kind.group(1).lower() if kind and kind.group(1).lower() in PATH_KINDS \
            else "other"
        # Stats show the body fields and the two Ads headers (never the bearer token).
        ctx.shown = {k: str(v) for k, v in payload.items() if isinstance(v, str | int)}
        ctx.shown.update({h: req.headers[h] for h in ("login-customer-id", "developer-token")
                          if h in req.headers})
        acct, kind_, faults = ctx.account_id, ctx.kind, self.faults
        if f := faults.take("slow", acct, kind_):
            await asyncio.sleep(float(f.params.get("delay", 1.0)))
        self._check_auth(ctx)
        self._check_access(ctx)
        if not isinstance(text, str) or "json" not in req.content_type:
            raise GoogleApiError(400, "Invalid JSON payload received: the body must be JSON "
                                 "with a 'query' string.")
        raise_faults(self.faults, ctx)
        if "pageSize" in payload:
            raise GoogleApiError(400, "Setting the page size is not supported.",
                                 family="requestError", reason="PAGE_SIZE_NOT_SUPPORTED")
        if ctx.stream and "pageToken" in payload:
            raise GoogleApiError(400, 'Invalid JSON payload received. Unknown name "pageToken".')
        try:
            query = parse_gaql(text)
            rows = run_query(self.data(ctx.account_id), query)
        except GaqlError as exc:
            raise GoogleApiError(400, str(exc), family="queryError", reason=exc.reason) from None
        mask = ",".join(camel(f) for f in query.fields)
        if ctx.stream:
            ctx.stall = faults.take("stall", acct, kind_)
        body = (stream_body(ctx, rows, mask, rid, batch_size=self.stream_batch_size,
                                   empty_stream=self.empty_stream) if ctx.stream
                else search_page(ctx, text, payload, rows, mask,
                              page_size=self.search_page_size))
        if faults.take("malformed", acct, kind_):
            return body[:-1] + b',{"oops":}' + body[-1:]
        if faults.take("truncated", acct, kind_):
            return body[: len(body) // 2]
        return body

    def _check_access(self, ctx: RequestContext) -> None:
        cust = self.customers.get(ctx.account_id)
        login = ctx.request.headers.get("login-customer-id")
        if cust is None:
            ok = False
        elif cust.manager_id is not None:
            ok = login == cust.manager_id  # reachable only through its manager
        else:
            ok = login in (None, cust.customer_id)
        if not ok:
            raise GoogleApiError(
                403, "User doesn't have permission to access customer. Note: If you're accessing "
                "a client customer, the manager's customer id must be set in the "
                "'login-customer-id' header.",
                family="authorizationError", reason="USER_PERMISSION_DENIED")
