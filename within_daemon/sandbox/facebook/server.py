"""Local Facebook Marketing (Graph) API emulator: an aiohttp server over generated accounts.

Serves ``/vX.Y/act_{id}``, ``/ads`` (with field expansion), ``/insights`` (sync and async
report jobs, optionally split by the ``age``/``gender`` breakdowns) and
``/{report_run_id}[/insights]`` with Graph's paging, error bodies and usage headers, over
the deterministic data of ``data``. Faults are switched at run time
from Python (``emu.set_fault``) or over HTTP (``/_sandbox/faults``) so tests and the demo
can drive throttling, 5xx, bad bodies and stuck jobs in a server running anywhere.
Everything runs on the event loop: no threads, no per-row work beyond building a dict.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from within_daemon.sandbox.facebook import graph as g
from within_daemon.sandbox.facebook.data import AccountData, SandboxAccount, default_accounts
from within_daemon.sandbox.facebook.graph import (
    EFFECTIVE_STATUSES,
    HIDDEN_STATUSES,
    status_filter,
)
from within_daemon.sandbox.facebook.insights import (
    InsightsTable,
    corrupt_rows,
    parse_insights_query,
)
from within_daemon.sandbox.facebook.jobs import JobStore
from within_daemon.sandbox.facebook.requests import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Redirect,
    RequestContext,
    check_request,
    header_token,
    mangle,
)
from within_daemon.sandbox.faults import (
    Fault,
    FaultPlan,
    RequestRecord,
    Stats,
    now,
)
from within_daemon.sandbox.serving import PlatformEmulator

log = logging.getLogger(__name__)

#: The page-size limits moved to ``requests``; importable here as before.
__all__ = ["DEFAULT_LIMIT", "DEFAULT_VERSION", "FAULT_KINDS", "MAX_LIMIT", "PATH_KINDS",
           "FacebookEmulator"]

FAULT_KINDS = (
    "throttle", "usage", "server_error", "reduce_data", "slow", "expired_token", "malformed",
    "truncated", "bad_rows", "job_fail", "job_stall", "job_queued", "empty_page_with_next",
    "echo_token", "redirect_loop",
)
#: Path kinds a fault can be limited to; object reads and the other edges count as "ads".
PATH_KINDS = ("account", "ads", "insights", "job")
DEFAULT_VERSION = "v27.0"
_ROUTE = re.compile(r"^(?:/v\d+\.\d+)?/(?:act_(\d+)|(\d+))(?:/([a-z_]+))?/?$")
_DEBUG_TOKEN = re.compile(r"^(?:/v\d+\.\d+)?/debug_token/?$")
_EDGES = {"ads": "ads", "adsets": "adsets", "campaigns": "campaigns", "adcreatives": "creatives"}


class FacebookEmulator(PlatformEmulator):
    """An in-process Graph API server; see the module docstring and ``serve``."""

    def __init__(
        self,
        accounts: list[SandboxAccount] | None = None,
        *,
        seed: int = 7,
        job_step: int = 50,
        api_version: str = DEFAULT_VERSION,
        image_base_url: str = "https://cdn.example.test",
    ) -> None:
        self.image_base_url = image_base_url
        self.accounts = {a.account_id: a for a in (accounts or default_accounts())}
        self.seed = seed
        self.api_version = api_version
        #: The emulator's calendar for version expiry (None: the real date, UTC).
        self.today: dt.date | None = None
        self.faults = FaultPlan(FAULT_KINDS, PATH_KINDS)
        self.stats = Stats()
        self.base_url = ""
        #: What /debug_token says about every token: seconds until it expires (None: a
        #: token that never expires, reported as expires_at 0 like a system-user token).
        self.token_expires_in: float | None = 60 * 86400
        self._data: dict[str, AccountData] = {}
        #: Async report jobs; ``jobs.step`` is the percentage gained per status poll.
        self.jobs = JobStore(self.faults, job_step)
        #: Usage of the (one) app across all accounts, reported in X-App-Usage.
        self.app_usage_pct = 5.0
        self._objects: dict[str, tuple[str, dict[str, Any]]] | None = None

    # -- Python control surface -------------------------------------------------------------

    def set_fault(
        self, account_id: str | None, kind: str, *, count: int | None = None,
        path: str | None = None, **params: Any,
    ) -> Fault:
        """Switch on a fault for one account (or all with ``None``); see ``FAULT_KINDS``."""
        return self.faults.add(kind, account_id, count=count, path=path, **params)

    def clear_faults(self, account_id: str | None = None, kind: str | None = None) -> int:
        return self.faults.clear(account_id, kind)

    def data(self, account_id: str) -> AccountData:
        """The generated entities and metric oracle of an account (built once, lazily)."""
        acct = account_id.removeprefix("act_")
        if acct not in self._data:
            self._data[acct] = AccountData(self.accounts[acct], self.seed, self.image_base_url)
        return self._data[acct]

    def expected_rows(
        self, account_id: str, since: str | dt.date, until: str | dt.date, level: str = "ad",
        time_increment: int = 1, breakdowns: tuple[str, ...] = (),
        statuses: frozenset[str] = EFFECTIVE_STATUSES,
    ) -> int:
        """How many insights rows a complete pull of this range returns.

        Complete means with every ``ad.effective_status`` asked for; pass ``statuses`` for
        a narrower filter (``frozenset()``: none sent, so deleted and archived ads are left out).
        """
        rng = msgspec.json.encode({"since": str(since), "until": str(until)}).decode()
        params = {"level": level, "time_increment": str(time_increment), "time_range": rng}
        if statuses:
            params["filtering"] = msgspec.json.encode([{
                "field": "ad.effective_status", "operator": "IN", "value": sorted(statuses),
            }]).decode()
        if breakdowns:
            params["breakdowns"] = ",".join(breakdowns)
        query = parse_insights_query(params, dt.date.today())
        return InsightsTable(self.data(account_id), query).total

    def expected_totals(
        self, account_id: str, since: str | dt.date, until: str | dt.date
    ) -> dict[str, Any]:
        """Sums over the range: impressions, clicks, spend (float, 2 dp) and friends."""
        data = self.data(account_id)
        lo, hi = data.active_span(
            dt.date.fromisoformat(str(since)).toordinal(),
            dt.date.fromisoformat(str(until)).toordinal(),
        )
        m = data.sum_days(range(len(data.ads)), lo, hi)
        return {
            "impressions": m[0], "clicks": m[1], "spend": round(m[2] / 100, 2),
            "spend_cents": m[2], "reach": m[3], "link_clicks": m[4], "purchases": m[5],
            "purchase_value": round(m[6] / 100, 2), "leads": m[7],
            # "Website purchases" (the pixel type and its synonyms); "purchases" is the
            # "Purchases" column (omni_purchase).
            "website_purchases": m[8], "website_purchase_value": round(m[9] / 100, 2),
        }

    # -- serving ----------------------------------------------------------------------------

    def _set_urls(self, origin: str) -> None:
        self.base_url = f"{origin}/{self.api_version}"

    def version_expired(self, path: str) -> bool:
        """Whether the path's ``/vNN.0/`` prefix names a version past its expiry."""
        return g.version_expired(path, self.today or dt.datetime.now(dt.UTC).date())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.version_expired(request.path):
            err = g.deprecated_version(self.api_version)
            self.stats.record(RequestRecord(request.method, request.path, {}, "", "other",
                                            err.status, now()))
            return web.Response(body=msgspec.json.encode(err.body()), status=err.status,
                                content_type="application/json")
        if _DEBUG_TOKEN.match(request.path):
            return self._debug_token(request)
        arrived = now()
        params = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            params.update((k, v) for k, v in form.items() if isinstance(v, str))
        ctx = RequestContext(request, params, "other", "", app_pct=self.app_usage_pct)
        try:
            payload = await self._dispatch(ctx)
            status, body = 200, msgspec.json.encode(payload)
            body = mangle(self.faults, ctx, body)
        except g.GraphError as err:
            status, body = err.status, msgspec.json.encode(err.body())
        except Redirect:
            return web.Response(status=302, headers={"Location": request.path_qs})
        except Exception:  # a bug here must still look like a Graph 500, headers included
            log.exception("facebook emulator failed on %s", request.path_qs)
            status, body = 500, msgspec.json.encode(g.server_error(1).body())
        bucket = "ads_insights" if ctx.kind in ("insights", "job") else "ads_management"
        headers = g.usage_headers(ctx.account_id or None, ctx.pct, ctx.eta, bucket,
                                  app_pct=ctx.app_pct)
        headers["facebook-api-version"] = self.api_version
        shown = {k: ("<redacted>" if k == "access_token" else v) for k, v in params.items()}
        self.stats.record(RequestRecord(
            request.method, request.path, shown, ctx.account_id, ctx.kind, status, arrived
        ))
        return web.Response(
            body=body, status=status, headers=headers, content_type="application/json"
        )

    def _route(self, ctx: RequestContext) -> Callable[[RequestContext], dict[str, Any]]:
        """Resolve path and method to a handler, filling ``ctx`` (kind, account, job)."""
        req = ctx.request
        m = _ROUTE.match(req.path)
        if m is None:
            raise g.unknown_path(req.path)
        act, obj, edge = m.group(1), m.group(2), m.group(3) or ""
        method = req.method
        if act is not None:
            ctx.account_id = act
            ctx.kind = "insights" if edge == "insights" else "account" if not edge else "ads"
            if act in self.accounts:
                ctx.data = self.data(act)
                ctx.pct = self.accounts[act].usage_pct
            if edge == "insights" and method in ("GET", "POST"):
                return self._insights if method == "GET" else self._create_job
            if method == "GET" and not edge:
                return self._account
            if method == "GET" and edge in _EDGES:
                ctx.edge = _EDGES[edge]
                return self._edge
            raise g.unknown_path(req.path)
        assert obj is not None
        job = self.jobs.get(obj)
        if job is not None:
            ctx.job, ctx.account_id = job, job.account_id
            ctx.data = self.data(job.account_id)
            ctx.pct = self.accounts[job.account_id].usage_pct
            ctx.kind = "insights" if edge == "insights" else "job"
            if method == "GET" and edge in ("", "insights"):
                return self._job_insights if edge else self._job_status
        elif method == "GET" and not edge and obj in self._object_index():
            ctx.account_id, ctx.kind = self._object_index()[obj][0], "ads"
            return self._object
        raise g.unknown_object(obj, method.lower())

    async def _dispatch(self, ctx: RequestContext) -> dict[str, Any]:
        handler = self._route(ctx)
        await check_request(self.faults, ctx)
        return handler(ctx)

    # -- handlers ---------------------------------------------------------------------------

    def _debug_token(self, request: web.Request) -> web.Response:
        """``/debug_token?input_token=...``: validity and expiry of a token."""
        if not request.query.get("input_token") or not (
            request.query.get("access_token") or header_token(request)
        ):
            err = g.missing_token()
            return web.Response(body=msgspec.json.encode(err.body()), status=err.status,
                                content_type="application/json")
        issued = int(dt.datetime.now(dt.UTC).timestamp())
        expires = 0 if self.token_expires_in is None else issued + int(self.token_expires_in)
        data = {"app_id": "1234567890", "type": "USER", "application": "within sandbox",
                "data_access_expires_at": issued + 90 * 86400, "expires_at": expires,
                "is_valid": True, "issued_at": issued, "scopes": ["ads_read"],
                "user_id": "100000000000001"}
        return web.Response(body=msgspec.json.encode({"data": data}),
                            content_type="application/json")

    def _account(self, ctx: RequestContext) -> dict[str, Any]:
        acct = self.accounts[ctx.account_id]
        obj = {
            "id": f"act_{acct.account_id}", "account_id": acct.account_id, "name": acct.name,
            "currency": acct.currency, "timezone_name": acct.timezone_name, "account_status": 1,
        }
        return g.project(obj, g.parse_fields(ctx.params.get("fields")) or {"id": None})

    def _edge(self, ctx: RequestContext) -> dict[str, Any]:
        assert ctx.data is not None
        data = ctx.data
        # The ads edge hides ARCHIVED and DELETED ads unless the filter names them (Meta,
        # "Manage your ad object's status"; the 2014 "DELETED vs ARCHIVED" blog's table:
        # neither is returned as an edge without a filter).
        wanted = status_filter(ctx.params, "effective_status") or status_filter(
            ctx.params, "ad.effective_status")
        objs: list[dict[str, Any]] = (
            [a.graph for a in data.ads if (
                a.graph["effective_status"] in wanted if wanted is not None
                else a.graph["effective_status"] not in HIDDEN_STATUSES)]
            if ctx.edge == "ads"
            else [a.graph for a in data.adsets] if ctx.edge == "adsets"
            else [c.graph for c in data.campaigns] if ctx.edge == "campaigns"
            else [a.graph["creative"] for a in data.ads]
        )
        tree = g.parse_fields(ctx.params.get("fields")) or {"id": None}
        return self._page(ctx, len(objs), lambda a, b: [g.project(o, tree) for o in objs[a:b]])

    def _object(self, ctx: RequestContext) -> dict[str, Any]:
        obj = self._object_index()[ctx.request.path.rstrip("/").rsplit("/", 1)[1]][1]
        return g.project(obj, g.parse_fields(ctx.params.get("fields")) or {"id": None})

    def _object_index(self) -> dict[str, tuple[str, dict[str, Any]]]:
        if self._objects is None:
            index: dict[str, tuple[str, dict[str, Any]]] = {}
            for acct in self.accounts:
                d = self.data(acct)
                for e in (*d.campaigns, *d.adsets, *d.ads):
                    index[e.id] = (acct, e.graph)
                for ad in d.ads:
                    index[ad.graph["creative"]["id"]] = (acct, ad.graph["creative"])
            self._objects = index
        return self._objects

    def _today(self, data: AccountData) -> dt.date:
        return dt.datetime.now(data.tz).date()

    def _insights(self, ctx: RequestContext) -> dict[str, Any]:
        assert ctx.data is not None
        query = parse_insights_query(ctx.params, self._today(ctx.data))
        return self._insights_page(ctx, InsightsTable(ctx.data, query))

    def _insights_page(self, ctx: RequestContext, table: InsightsTable) -> dict[str, Any]:
        def rows(start: int, stop: int) -> list[dict[str, Any]]:
            out = table.rows(start, stop)
            f = self.faults.take("bad_rows", ctx.account_id, "insights")
            if f is not None:
                mode = str(f.params.get("mode", "negative_spend"))
                corrupt_rows(out, start, f.param("every", 10), mode)
            return out

        return self._page(ctx, table.total, rows)

    def _page(
        self, ctx: RequestContext, total: int, produce: Callable[[int, int], list[dict[str, Any]]]
    ) -> dict[str, Any]:
        after = ctx.params.get("after")
        start, served = g.decode_cursor(after) if after else (0, False)
        url = str(ctx.request.url)
        if start < total and not served and self.faults.take(
            "empty_page_with_next", ctx.account_id, ctx.kind
        ):
            # The follow-up cursor is marked as served, so even a 'forever' fault only puts
            # one empty page before each real page and the client still terminates.
            cursor = g.encode_cursor(start, empty_served=True)
            return {"data": [], "paging": {
                "cursors": {"before": g.encode_cursor(start), "after": cursor},
                "next": g.next_url(url, cursor),
            }}
        stop = min(start + ctx.limit, total)
        return g.page_body(produce(start, stop), start, max(start, stop), total, url)

    def _create_job(self, ctx: RequestContext) -> dict[str, Any]:
        assert ctx.data is not None
        query = parse_insights_query(ctx.params, self._today(ctx.data))
        return {"report_run_id": self.jobs.create(ctx.account_id, query).id}

    def _job_status(self, ctx: RequestContext) -> dict[str, Any]:
        assert ctx.job is not None
        self.jobs.poll(ctx.job)
        obj = ctx.job.as_graph()
        tree = g.parse_fields(ctx.params.get("fields"))
        return {"id": ctx.job.id, **g.project(obj, tree)} if tree else obj

    def _job_insights(self, ctx: RequestContext) -> dict[str, Any]:
        assert ctx.job is not None and ctx.data is not None
        job = ctx.job
        if job.status == "Job Failed":
            raise g.GraphError(400, -2, "Report Failed", subcode=2490547)
        if job.status != "Job Completed":
            raise g.invalid_parameter(f"Report run {job.id} is not completed yet ({job.status})")
        return self._insights_page(ctx, InsightsTable(ctx.data, job.query))
