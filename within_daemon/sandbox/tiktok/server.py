"""Local TikTok API for Business (v1.3) emulator: an aiohttp server over generated advertisers.

Serves ``/open_api/v1.3/report/integrated/get/`` (BASIC reports at ``AUCTION_AD`` and
``AUCTION_ADVERTISER`` level, daily, paged by ``page``/``page_size``; AUDIENCE reports by
age and gender, see ``audience``), ``/ad/get/`` and
``/advertiser/info/`` over the deterministic data of ``data``. Like the real API,
every application error is HTTP 200 with a non-zero ``code`` in the envelope
``{code, message, request_id, data}``; a path without its trailing slash is a bare 404.
Faults are switched from Python (``emu.set_fault``) or over HTTP (``/_sandbox/faults``),
sharing ``faults.FaultPlan`` and ``Stats`` with the other emulators.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from aiohttp import web

from within_daemon.sandbox.faults import Fault, FaultPlan, RequestRecord, Stats, now
from within_daemon.sandbox.serving import PlatformEmulator
from within_daemon.sandbox.tiktok.data import (
    ATTRIBUTION,
    AdvertiserData,
    TikTokAdvertiser,
    TikTokError,
    api_error,
    bad_param,
    default_advertisers,
    ids_as_numbers,
    page_info,
)
from within_daemon.sandbox.tiktok.params import MAX_PAGE_SIZE, int_param, json_list
from within_daemon.sandbox.tiktok.report import MAX_DAYS, report_page

log = logging.getLogger(__name__)

#: The page and range limits moved to ``params`` and ``report``; importable here as before.
__all__ = ["API_VERSION", "FAULT_KINDS", "MAX_DAYS", "MAX_PAGE_SIZE", "PATH_KINDS",
           "TikTokEmulator", "gmt_offset_name"]

FAULT_KINDS = (
    "throttle", "auth_error", "server_error", "query_too_large", "error_code", "slow",
    "malformed", "truncated", "mixed_types", "null_metrics", "ids_as_numbers", "drop_rows",
)
PATH_KINDS = ("report", "ads", "advertiser", "adgroups")
API_VERSION = "v1.3"
_PATH = re.compile(r"^/open_api/v\d+\.\d+(/.*)$")
_ROUTES = {"/report/integrated/get/": "report", "/ad/get/": "ads",
           "/advertiser/info/": "advertiser", "/adgroup/get/": "adgroups"}
def gmt_offset_name(zone: str) -> str:
    """The fixed-offset form TikTok reports as ``timezone`` (``Etc/GMT+8`` for UTC-8).

    advertiser/info carries both ``timezone`` and ``display_timezone``
    (docs/api-reference.md section 0); the first is a GMT offset without daylight
    saving (e.g. "Etc/GMT+8", POSIX sign: west of Greenwich is +), the second the region
    name such as "America/Los_Angeles" [P: field names from the reference, the offset form
    from TikTok's Advertiser Info page as recalled, not read from a stored copy]. Only the
    region name gets "today" right across a daylight-saving change.
    """
    tz = ZoneInfo(zone)
    jan = dt.datetime(2026, 1, 15, tzinfo=tz)
    std = (jan.utcoffset() or dt.timedelta()) - (jan.dst() or dt.timedelta())
    minutes = int(std.total_seconds() // 60)
    if minutes % 60:
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    hours = -minutes // 60
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{hours:+d}"


class TikTokEmulator(PlatformEmulator):
    """An in-process TikTok Marketing API server; see the module docstring and ``serve``."""

    def __init__(
        self, advertisers: list[TikTokAdvertiser] | None = None, *, seed: int = 11
    ) -> None:
        self.advertisers = {a.advertiser_id: a for a in (advertisers or default_advertisers())}
        self.seed = seed
        self.faults = FaultPlan(FAULT_KINDS, PATH_KINDS)
        self.stats = Stats()
        #: Envelope codes served, by (advertiser, code): stats count HTTP statuses only.
        self.codes: Counter[tuple[str, int]] = Counter()
        self.base_url = ""
        self._data: dict[str, AdvertiserData] = {}
        self._ids = itertools.count(1)

    # -- Python control surface -------------------------------------------------------------

    def set_fault(
        self, advertiser_id: str | None, kind: str, *, count: int | None = None,
        path: str | None = None, **params: Any,
    ) -> Fault:
        """Switch on a fault for one advertiser (or all with ``None``); see ``FAULT_KINDS``."""
        return self.faults.add(kind, advertiser_id, count=count, path=path, **params)

    def clear_faults(self, advertiser_id: str | None = None, kind: str | None = None) -> int:
        return self.faults.clear(advertiser_id, kind)

    def data(self, advertiser_id: str) -> AdvertiserData:
        if advertiser_id not in self._data:
            self._data[advertiser_id] = AdvertiserData(self.advertisers[advertiser_id], self.seed)
        return self._data[advertiser_id]

    def _today(self, data: AdvertiserData) -> int:
        return dt.datetime.now(data.tz).date().toordinal()

    def _days(self, advertiser_id: str, since: str | dt.date, until: str | dt.date) -> range:
        data = self.data(advertiser_id)
        lo, hi = data.span(dt.date.fromisoformat(str(since)).toordinal(),
                           dt.date.fromisoformat(str(until)).toordinal(), self._today(data))
        return range(lo, hi + 1)

    def expected_rows(
        self, advertiser_id: str, since: str | dt.date, until: str | dt.date, level: str = "ad"
    ) -> int:
        """Rows a complete daily pull returns (deleted ads included at ad level)."""
        per_day = len(self.data(advertiser_id).ads) if level == "ad" else 1
        return per_day * len(self._days(advertiser_id, since, until))

    def expected_totals(
        self, advertiser_id: str, since: str | dt.date, until: str | dt.date
    ) -> dict[str, Any]:
        """Sums over the range: impressions, clicks, spend (2 dp), conversions, revenue."""
        data = self.data(advertiser_id)
        acc = [0, 0, 0, 0, 0]
        for o in self._days(advertiser_id, since, until):
            for k, v in enumerate(data.day_total(o)):
                acc[k] += v
        return {"impressions": acc[0], "clicks": acc[1], "spend": round(acc[2] / 100, 2),
                "spend_cents": acc[2], "conversions": acc[3],
                "revenue": round(acc[4] / 100, 2), "revenue_cents": acc[4]}

    def expected_counts(
        self, advertiser_id: str, since: str | dt.date, until: str | dt.date
    ) -> dict[str, tuple[int, int]]:
        """Per day with delivery: (campaigns, ads) with impressions > 0."""
        data = self.data(advertiser_id)
        out: dict[str, tuple[int, int]] = {}
        for o in self._days(advertiser_id, since, until):
            live = [ad for ad in data.ads if data.ad_day(ad.index, o)[0] > 0]
            if live:
                out[dt.date.fromordinal(o).isoformat()] = (
                    len({ad.campaign for ad in live}), len(live))
        return out

    # -- serving ----------------------------------------------------------------------------

    def _set_urls(self, origin: str) -> None:
        self.base_url = f"{origin}/open_api/{API_VERSION}"  # no trailing slash

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = now()
        m = _PATH.match(request.path)
        kind = _ROUTES.get(m.group(1)) if m else None
        params = dict(request.query)
        ctx: dict[str, Any] = {"account": "", "kind": kind or "other"}
        status, code = 200, 0
        if kind is None or request.method != "GET":
            # The gateway answers unknown paths (a missing trailing slash included) itself.
            status, body = 404, b"404 page not found"
        else:
            try:
                payload = await self._dispatch(request, kind, params, ctx)
                body = msgspec.json.encode(self._envelope(0, "OK", payload))
                body = self._mangle(ctx, body)
            except TikTokError as err:
                code = err.code
                body = msgspec.json.encode(self._envelope(err.code, err.message, {}))
            except _HttpFault as hf:
                status, body = hf.status, b"upstream connect error"
            except Exception:  # a bug here must still look like a TikTok system error
                log.exception("tiktok emulator failed on %s", request.path_qs)
                code = 50000
                body = msgspec.json.encode(self._envelope(50000, "System error.", {}))
        self.codes[(ctx["account"], code)] += 1
        self.stats.record(RequestRecord(
            request.method, request.path, params, ctx["account"], ctx["kind"], status, arrived
        ))
        ctype = "application/json" if status == 200 else "text/plain"
        return web.Response(body=body, status=status, content_type=ctype)

    def _envelope(self, code: int, message: str, data: dict[str, Any]) -> dict[str, Any]:
        rid = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S") + f"{next(self._ids):018d}"
        return {"code": code, "message": message, "request_id": rid, "data": data}

    def _account_of(self, kind: str, params: dict[str, str]) -> str:
        if kind == "advertiser":
            ids = json_list(params, "advertiser_ids")
            # The single-id form is accepted too (only the array form is documented).
            raw = ids[0] if ids else params.get("advertiser_id")
            if raw is None:
                raise bad_param("advertiser_ids: Missing data for required field.")
            if ids and any(str(i) not in self.advertisers for i in ids):
                bad = next(str(i) for i in ids if str(i) not in self.advertisers)
                raise api_error(40001, id=bad)
            return str(raw)
        acct = params.get("advertiser_id", "")
        if not acct:
            raise bad_param("advertiser_id: Missing data for required field.")
        return acct

    async def _dispatch(
        self, request: web.Request, kind: str, params: dict[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        if not request.headers.get("Access-Token"):
            raise api_error(40104)
        acct = self._account_of(kind, params)
        ctx["account"] = acct
        faults = self.faults
        if f := faults.take("slow", acct, kind):
            await asyncio.sleep(float(f.params.get("delay", 1.0)))
        if f := faults.take("auth_error", acct, kind):
            raise api_error(f.param("code", 40105))
        if acct not in self.advertisers:
            raise api_error(40001, id=acct)
        if f := faults.take("throttle", acct, kind):
            raise api_error(f.param("code", 40100), id=acct)
        if f := faults.take("server_error", acct, kind):
            if f.opt_int("status") is not None:
                raise _HttpFault(f.param("status", 503))
            raise api_error(f.param("code", 50000))
        if f := faults.take("error_code", acct, kind):
            code = f.param("code", 40002)
            raise TikTokError(code, str(f.params.get("message", f"Sandbox error {code}.")))
        data = self.data(acct)
        if kind == "advertiser":
            return self._advertiser_info(data, params, ctx)
        if kind == "ads":
            return self._ads(data, params, ctx)
        if kind == "adgroups":
            return self._adgroups(data, params)
        return report_page(self.faults, data, params, ctx, self._today(data))

    def _mangle(self, ctx: dict[str, Any], body: bytes) -> bytes:
        acct, kind = ctx["account"] or None, ctx["kind"]
        if self.faults.take("malformed", acct, kind):
            return body[:-1] + b',"oops":}'
        if self.faults.take("truncated", acct, kind):
            return body[: len(body) // 2]
        return body

    def _numbers(self, ctx: dict[str, Any]) -> bool:
        return self.faults.take("ids_as_numbers", ctx["account"], ctx["kind"]) is not None

    # -- handlers ---------------------------------------------------------------------------

    def _advertiser_info(
        self, data: AdvertiserData, params: dict[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        adv = data.adv
        numbers = self._numbers(ctx)
        obj: dict[str, Any] = {
            "advertiser_id": int(adv.advertiser_id) if numbers else adv.advertiser_id,
            "name": adv.name, "currency": adv.currency, "timezone": gmt_offset_name(adv.timezone),
            "display_timezone": adv.timezone, "status": "STATUS_ENABLE", "country": "US",
            "create_time": 1_600_000_000,
        }
        fields = json_list(params, "fields")
        if fields:
            obj = {k: v for k, v in obj.items() if k in fields or k == "advertiser_id"}
        return {"list": [obj]}

    def _ads(
        self, data: AdvertiserData, params: dict[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        filtering: Any = {}
        raw = params.get("filtering")
        if raw:
            try:
                filtering = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                raise bad_param("filtering: Invalid JSON.") from None
        everything = isinstance(filtering, dict) and \
            filtering.get("secondary_status") == "AD_STATUS_ALL"
        ads = [a.obj for a in data.ads if everything or not a.deleted]
        page = int_param(params, "page", 1, 10**9)
        size = int_param(params, "page_size", 10, MAX_PAGE_SIZE)
        fields = json_list(params, "fields")  # optional; unconfirmed, so both forms work
        numbers = self._numbers(ctx)
        out = []
        for obj in ads[(page - 1) * size: page * size]:
            item = {k: v for k, v in obj.items() if not fields or k in fields or k == "ad_id"}
            if numbers:
                ids_as_numbers(item)
            out.append(item)
        return {"list": out, "page_info": page_info(page, size, len(ads))}

    def _adgroups(self, data: AdvertiserData, params: dict[str, str]) -> dict[str, Any]:
        """``/adgroup/get/``: ad groups with their attribution windows, paged."""
        groups = [
            {"adgroup_id": gid, "adgroup_name": name, "campaign_id": data.campaigns[c][0],
             "click_attribution_window": ATTRIBUTION[g % len(ATTRIBUTION)][0],
             "view_attribution_window": ATTRIBUTION[g % len(ATTRIBUTION)][1],
             "attribution_event_count": "EVERY"}
            for g, (gid, name, c) in enumerate(data.adgroups)
        ]
        page = int_param(params, "page", 1, 10**9)
        size = int_param(params, "page_size", 10, MAX_PAGE_SIZE)
        fields = json_list(params, "fields")
        out = [{k: v for k, v in obj.items() if not fields or k in fields or k == "adgroup_id"}
               for obj in groups[(page - 1) * size: page * size]]
        return {"list": out, "page_info": page_info(page, size, len(groups))}

class _HttpFault(Exception):
    """A non-200 answer from the gateway in front of the API (no envelope)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
