"""Local Amazon Ads API emulator (Login with Amazon, profiles, Sponsored Products reporting v3).

Serves ``POST /auth/o2/token`` (refresh-token grant), ``GET /v2/profiles``, ``POST
/reporting/reports`` (200 or 202, 425 "duplicate of <id>" for an identical in-flight
request), ``GET /reporting/reports/{id}`` (PENDING -> PROCESSING -> COMPLETED, one step per
poll) and the pre-signed download of the gzip JSON report under ``/s3/...``, which refuses
a request carrying an ``Authorization`` header like S3 does.

Regions: each Amazon host serves one region's profiles only ("/v2/profiles" on the EU host
lists EU profiles; a profile of another region is "Not authorized to access scope";
docs/api-reference.md
§0, Amazon's "API endpoints" page). ``region="EU"`` makes one emulator stand in for one such
host; three emulators (NA, EU, FE) stand in for the three hosts and their token endpoints.
``region=None`` serves every profile, one host for all. The ``poll_unauthorized`` fault
answers 401 to report status polls even with a fresh token, as Amazon's polling does
transiently (Airbyte's source-amazon-ads retries those polls: its
``report_polling_error_handler``). Data comes from
``data``; faults are switched from Python (``emu.set_fault``) or over HTTP
(``/_sandbox/faults``) with the shared ``FaultPlan``, and ``Stats`` records every request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import logging
import re
import secrets
import time
import uuid
from typing import Any

import msgspec
from aiohttp import web

from within_daemon.sandbox.amazon.brands import sb_ads_page
from within_daemon.sandbox.amazon.data import AmazonProfile, ProfileData, default_profiles
from within_daemon.sandbox.amazon.errors import (
    ApiError,
    api_error,
    oauth_error,
    raise_api_faults,
    s3_error,
)
from within_daemon.sandbox.amazon.reports import (
    Report,
    advance,
    gzip_bomb,
    iso_ms,
    parse_report_request,
)
from within_daemon.sandbox.amazon.storage import send_object, signed_url, url_expired
from within_daemon.sandbox.faults import Fault, FaultPlan, RequestRecord, Stats, now
from within_daemon.sandbox.serving import PlatformEmulator

log = logging.getLogger(__name__)

#: The error helpers moved to ``errors``; importable here as before.
__all__ = ["CLIENT_ID", "CLIENT_SECRET", "FAULT_KINDS", "PATH_KINDS", "AmazonEmulator",
           "ApiError", "api_error", "s3_error"]

FAULT_KINDS = (
    "throttle", "server_error", "bad_request", "expired_token", "token_refused", "duplicate",
    "report_failed", "report_stall", "gzip_bomb", "truncated", "url_expired", "slow",
    "poll_unauthorized",
)
PATH_KINDS = ("token", "profiles", "create", "status", "download", "sb_ads")
CLIENT_ID = "amzn1.application-oa2-client.sandbox0001"
CLIENT_SECRET = "sandbox-client-secret"
_REPORT = re.compile(r"^/reporting/reports/([0-9a-fA-F-]{36})/?$")
_DOWNLOAD = re.compile(r"^/s3/offline-report-storage/([0-9a-fA-F-]{36})\.json\.gz$")
_CREATE_TYPES = ("application/vnd.createasyncreportrequest.v3+json", "application/json")


class AmazonEmulator(PlatformEmulator):
    """An in-process Amazon Ads API server; see the module docstring and ``serve``."""

    def __init__(
        self,
        profiles: list[AmazonProfile] | None = None,
        *,
        seed: int = 11,
        processing_polls: int = 1,
        create_status: int = 200,
        progress_updates: bool = True,
        token_ttl: float = 3600.0,
        url_ttl: int = 3600,
        retention_days: int | None = 95,
        region: str | None = None,
    ) -> None:
        self.profiles = {p.profile_id: p for p in (profiles or default_profiles())}
        #: The region this host serves (None: every profile).
        self.region = region
        self.seed = seed
        #: Status polls a report spends in PROCESSING before it is COMPLETED.
        self.processing_polls = processing_polls
        #: The docs say 200 for a created report, Airbyte's mocks 202: serve either.
        self.create_status = create_status
        #: Whether updatedAt moves on every PROCESSING poll (progress) or only on changes.
        self.progress_updates = progress_updates
        self.token_ttl = token_ttl
        self.url_ttl = url_ttl
        self.retention_days = retention_days
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.faults = FaultPlan(FAULT_KINDS, PATH_KINDS)
        self.stats = Stats()
        self.base_url = ""
        self.reports: dict[str, Report] = {}
        self.revoked: set[str] = set()
        self.tokens: dict[str, float] = {}
        self._data: dict[str, ProfileData] = {}
        self._sign_key = secrets.token_bytes(16)
        self._last_stamp = 0.0

    # -- Python control surface -------------------------------------------------------------

    def set_fault(self, account_id: str | None, kind: str, *, count: int | None = None,
                  path: str | None = None, **params: Any) -> Fault:
        """Switch on a fault for one profile (or all with ``None``); see ``FAULT_KINDS``."""
        return self.faults.add(kind, account_id, count=count, path=path, **params)

    def clear_faults(self, account_id: str | None = None, kind: str | None = None) -> int:
        return self.faults.clear(account_id, kind)

    def revoke(self, refresh_token: str) -> None:
        """Refuse this refresh token from now on (``invalid_grant``)."""
        self.revoked.add(refresh_token)

    def issue_token(self) -> str:
        """A valid access token, for tests that call the API directly."""
        token = "Atza|" + secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_ttl
        return token

    def data(self, profile_id: str) -> ProfileData:
        if profile_id not in self._data:
            self._data[profile_id] = ProfileData(self.profiles[profile_id], self.seed)
        return self._data[profile_id]

    def expected_rows(self, profile_id: str, since: str, until: str,
                      report: str = "spAdvertisedProduct") -> int:
        """Rows a complete DAILY pull of ``since..until`` returns (ads, or campaigns).

        ``report="all_ads"``: the SP, SB and SD ad reports together.
        """
        if report == "all_ads":
            return sum(self.expected_rows(profile_id, since, until, r)
                       for r in ("spAdvertisedProduct", "sbAds", "sdAdvertisedProduct"))
        level = {"spAdvertisedProduct": "ad", "sbAds": "sbAd", "sdAdvertisedProduct": "sdAd",
                 "sbCampaigns": "sbCampaign", "sdCampaigns": "sdCampaign"}.get(report,
                                                                               "campaign")
        lo, hi = dt.date.fromisoformat(since).toordinal(), dt.date.fromisoformat(until).toordinal()
        return sum(1 for _ in self.data(profile_id).rows(level, lo, hi, ["impressions"], True))

    def expected_totals(self, profile_id: str, since: str, until: str,
                        window: str = "7d") -> dict[str, Any]:
        """Sums over the range: impressions, clicks, spend (2 dp) and the window's sales."""
        lo, hi = dt.date.fromisoformat(since).toordinal(), dt.date.fromisoformat(until).toordinal()
        return self.data(profile_id).totals(lo, hi, window)

    def console_totals(self, profile_id: str, since: str, until: str,
                       window: str = "7d") -> dict[str, Any]:
        """The console's account totals: Sponsored Products (``window``), Brands, Display."""
        lo, hi = dt.date.fromisoformat(since).toordinal(), dt.date.fromisoformat(until).toordinal()
        return self.data(profile_id).console_totals(lo, hi, window)

    # -- serving ----------------------------------------------------------------------------

    # serve() yields the origin as the base URL (token URL: + /auth/o2/token).

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/auth/o2/token"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = now()
        seen: dict[str, str] = {"kind": "other", "account": ""}
        shown = {k: v for k, v in request.query.items() if k != "X-Amz-Signature"}
        resp: web.StreamResponse
        try:
            resp = await self._route(request, seen, shown)
        except ApiError as err:
            resp = web.Response(body=err.body, status=err.status, headers=err.headers,
                                content_type=err.content_type)
        except ConnectionResetError:  # the client gave up (e.g. timed out on a slow fault)
            resp = web.Response(status=499)
        except Exception:  # a bug here must still look like an API 500
            log.exception("amazon emulator failed on %s", request.path_qs)
            resp = self._json(500, {"code": "INTERNAL_ERROR", "details": "Internal error"})
        self.stats.record(RequestRecord(request.method, request.path, shown, seen["account"],
                                        seen["kind"], resp.status, arrived))
        return resp

    async def _route(
        self, request: web.Request, seen: dict[str, str], shown: dict[str, str]
    ) -> web.StreamResponse:
        path, method = request.path, request.method
        scope = request.headers.get("Amazon-Advertising-API-Scope", "")
        if path == "/auth/o2/token" and method == "POST":
            seen["kind"] = "token"
            return await self._token(request)
        if path == "/v2/profiles" and method == "GET":
            seen["kind"] = "profiles"
            await self._api_checks(request, "profiles", None)
            return self._json(200, [p.as_api() for p in self._visible(request)])
        if path.rstrip("/") == "/reporting/reports" and method == "POST":
            seen.update(kind="create", account=scope)
            return await self._create(request, scope, shown)
        if (m := _REPORT.match(path)) and method == "GET":
            seen.update(kind="status", account=scope)
            await self._api_checks(request, "status", scope)
            return self._json(200, self._status(m.group(1), scope))
        if path == "/sb/v4/ads/list" and method == "POST":
            seen.update(kind="sb_ads", account=scope)
            await self._api_checks(request, "sb_ads", scope)
            return self._json(200, await self._sb_ads(request, scope))
        if (m := _DOWNLOAD.match(path)) and method == "GET":
            report = self.reports.get(m.group(1))
            seen.update(kind="download", account=report.profile_id if report else "")
            return await self._download(request, report)
        raise api_error(404, "NOT_FOUND", f"No resource at {method} {path}")

    async def _sb_ads(self, request: web.Request, scope: str) -> dict[str, Any]:
        """``POST /sb/v4/ads/list``: one page of Sponsored Brands ads (see ``brands``)."""
        try:
            body = msgspec.json.decode(await request.read() or b"{}")
        except msgspec.DecodeError:
            raise api_error(400, "400", "Malformed request body") from None
        data = self.data(scope)
        return sb_ads_page([data.sb_creative(ad) for ad in data.other_ads["sb"]], body)

    def _json(self, status: int, obj: Any) -> web.Response:
        return web.Response(body=msgspec.json.encode(obj), status=status,
                            content_type="application/json")

    # -- auth and shared faults -------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if f := self.faults.take("slow", None, "token"):
            await asyncio.sleep(float(f.params.get("delay", 1.0)))
        if f := self.faults.take("server_error", None, "token"):
            raise api_error(f.param("status", 500), "ServerError", "Internal server error")
        grant, rt = form.get("grant_type"), form.get("refresh_token")
        if grant != "refresh_token":
            raise oauth_error(400, "unsupported_grant_type", "Only refresh_token is supported")
        if form.get("client_id") != self.client_id or form.get("client_secret") != \
                self.client_secret:
            raise oauth_error(401, "invalid_client", "Client authentication failed")
        if not isinstance(rt, str) or not rt:
            raise oauth_error(400, "invalid_request", "refresh_token is required")
        if rt in self.revoked or self.faults.take("token_refused", None, "token"):
            raise oauth_error(400, "invalid_grant",
                              "The request has an invalid grant parameter : refresh_token")
        token = self.issue_token()
        return self._json(200, {"access_token": token, "refresh_token": rt,
                                "token_type": "bearer", "expires_in": int(self.token_ttl)})

    async def _api_checks(self, request: web.Request, kind: str, scope: str | None) -> None:
        """Slow, auth, client id and scope, then the error faults, in the API's order."""
        key = "details" if kind == "profiles" else "detail"
        acct = scope or None
        if f := self.faults.take("slow", acct, kind):
            await asyncio.sleep(float(f.params.get("delay", 1.0)))
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        expires = self.tokens.get(token)
        if not token or expires is None or expires <= time.monotonic() or self.faults.take(
            "expired_token", acct, kind
        ):
            raise api_error(401, "UNAUTHORIZED", "Not authorized to access this advertising "
                            "resource: the access token is invalid or expired", key=key)
        client = request.headers.get("Amazon-Advertising-API-ClientId")
        if not client:
            raise api_error(400, "400", "Missing Amazon-Advertising-API-ClientId header", key=key)
        if client != self.client_id:
            raise api_error(401, "UNAUTHORIZED", "Invalid client id", key=key)
        if scope is not None:
            if not scope:
                raise api_error(401, "UNAUTHORIZED", "Scope header is missing", key=key)
            if scope not in self.profiles or not self._here(self.profiles[scope]):
                raise api_error(401, "UNAUTHORIZED", "Not authorized to access scope", key=key)
            if kind == "status" and self.faults.take("poll_unauthorized", acct, kind):
                raise api_error(401, "UNAUTHORIZED", "Not authorized to access this "
                                "advertising resource", key=key)
        raise_api_faults(self.faults, acct, kind, key)

    def _visible(self, request: web.Request) -> list[AmazonProfile]:
        wanted = request.query.get("profileTypeFilter")
        types = set(wanted.split(",")) if wanted else None
        return [p for p in self.profiles.values()
                if self._here(p) and (types is None or p.account_type in types)]

    def _here(self, profile: AmazonProfile) -> bool:
        """Whether this host (its region) serves the profile."""
        return self.region is None or profile.region == self.region

    # -- reports ----------------------------------------------------------------------------

    def _stamp(self) -> float:
        """Wall time, strictly increasing, so every change shows in updatedAt."""
        self._last_stamp = max(time.time(), self._last_stamp + 0.001)
        return self._last_stamp

    async def _create(
        self, request: web.Request, scope: str, shown: dict[str, str]
    ) -> web.Response:
        await self._api_checks(request, "create", scope)
        if request.content_type not in _CREATE_TYPES:
            raise api_error(415, "415", f"Unsupported Content-Type {request.content_type}",
                            key="detail")
        try:
            body = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            raise api_error(400, "400", "Malformed JSON body", key="detail") from None
        data = self.data(scope)
        try:
            spec = parse_report_request(body, data.today(), retention_days=self.retention_days)
        except ValueError as exc:
            raise api_error(400, "400", str(exc), key="detail") from None
        cfg = body["configuration"]
        shown.update(reportTypeId=str(cfg.get("reportTypeId")), startDate=body["startDate"],
                     endDate=body["endDate"], columns=",".join(spec.columns))
        key = scope.encode() + b"|" + msgspec.json.encode(body, order="sorted")
        for rep in self.reports.values():
            if rep.key == key and rep.in_flight:
                raise api_error(425, "425", f"The Request is a duplicate of : {rep.id}",
                                key="detail")
        fault = self.faults.take("duplicate", scope, "create")
        if fault is not None and not fault.params.get("with_id", True):
            raise api_error(425, "425", "Too early", key="detail")
        stamp = self._stamp()
        rep = Report(str(uuid.uuid4()), scope, body, key, spec, stamp, stamp)
        self.reports[rep.id] = rep
        if fault is not None:
            # The create went through but its answer was "lost": the client only hears 425.
            raise api_error(425, "425", f"The Request is a duplicate of : {rep.id}",
                            key="detail")
        return self._json(self.create_status, self._report_body(rep))

    def _report_body(self, rep: Report) -> dict[str, Any]:
        done = rep.status == "COMPLETED"
        return {
            "configuration": rep.body["configuration"],
            "createdAt": iso_ms(rep.created), "endDate": rep.body["endDate"],
            "failureReason": rep.failure_reason,
            "fileSize": len(self._payload(rep)) if done else None,
            "generatedAt": iso_ms(rep.generated) if done and rep.generated else None,
            "name": rep.body.get("name"), "reportId": rep.id, "startDate": rep.body["startDate"],
            "status": rep.status, "updatedAt": iso_ms(rep.updated),
            "url": (signed_url(self._sign_key, self.base_url, rep.id, self.url_ttl)
                    if done else None),
            "urlExpiresAt": iso_ms(time.time() + self.url_ttl) if done else None,
        }

    def _status(self, report_id: str, scope: str) -> dict[str, Any]:
        rep = self.reports.get(report_id)
        if rep is None or rep.profile_id != scope:
            raise api_error(404, "404", f"Report {report_id} not found", key="detail")
        advance(rep, self.faults, self.processing_polls, self._stamp,
                progress=self.progress_updates)
        return self._report_body(rep)

    def _payload(self, rep: Report) -> bytes:
        if rep.payload is None:
            spec, data = rep.spec, self.data(rep.profile_id)
            rows = list(data.rows(spec.level, spec.since, spec.until, spec.columns, spec.daily))
            rep.payload = gzip.compress(msgspec.json.encode(rows), mtime=0)
        return rep.payload

    async def _download(self, request: web.Request, rep: Report | None) -> web.StreamResponse:
        if rep is None or rep.status != "COMPLETED":
            raise s3_error(404, "NoSuchKey", "The specified key does not exist.")
        expired = url_expired(self._sign_key, request, rep.id)
        acct = rep.profile_id
        if expired or self.faults.take("url_expired", acct, "download"):
            raise s3_error(403, "AccessDenied", "Request has expired")
        if f := self.faults.take("slow", acct, "download"):
            await asyncio.sleep(float(f.params.get("delay", 1.0)))
        if f := self.faults.take("server_error", acct, "download"):
            raise s3_error(f.param("status", 500), "InternalError", "We encountered an "
                           "internal error. Please try again.")
        payload = self._payload(rep)
        if f := self.faults.take("gzip_bomb", acct, "download"):
            payload = gzip_bomb(f.param("expand_bytes", 64 << 20))
        elif self.faults.take("truncated", acct, "download"):
            payload = payload[: len(payload) // 2]
        return await send_object(request, payload)
