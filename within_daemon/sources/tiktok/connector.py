"""TikTok API for Business (Marketing API v1.3) connector: advertiser, ads, daily reports.

``TikTokAdsConnector(advertiser_id, access_token, rate_limit)`` sends the token in the
``Access-Token`` header and reads:

* ``GET advertiser/info/`` for name, currency and time zone;
* ``GET ad/get/`` for ad text, call to action, landing page and campaign / ad group ids
  (deleted ads included: their history is still in the reports);
* ``GET report/integrated/get/`` (``report_type=BASIC``) daily at ``AUCTION_AD`` level for
  ad rows and active counts, and at ``AUCTION_ADVERTISER`` level for account rows.

Pages are numbered: the connector asks for ``page`` 1, 2, ... until ``page_info.total_page``
and then checks that it received ``total_number`` rows, so a short page fails the window
instead of leaving a silent hole. Every error comes as HTTP 200 with a ``code``
(``errors``); "query too large" (40067) splits the date range in two, down to one
day. Ranges longer than TikTok's 30-day limit for daily reports are cut into 30-day pieces.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import msgspec

from ...config import AccountConfig, LoadedConfig, Secret, TikTokConfig
from ...errors import (
    AnswerShapeError,
    PermanentSourceError,
    ReduceDataError,
    SourceError,
    TransientError,
)
from ...observability.metrics import Metrics
from ...platform_config import TIKTOK_DEFAULT_BASE_URL
from ...schema import AccountInfo
from ..http.client import HttpSource
from ..http.pacing import UsageReading
from ..secrets import require
from .answers import ADVERTISER, PAGE, Advertiser, Envelope, page_of
from .errors import classify_http, envelope_error, head_of

log = logging.getLogger(__name__)

#: TikTok's longest date range for a report with ``stat_time_day``.
MAX_DAYS = 30
#: Include deleted ads in ad-level reports (Airbyte's include-deleted filter); without it
#: their spend would be missing from the ad rows but present in the advertiser totals.
ALL_AD_STATUSES = [{"field_name": "ad_status", "filter_type": "IN",
                    "filter_value": '["STATUS_ALL"]'}]
#: ``timezone`` is a fixed GMT offset (``Etc/GMT+8``), ``display_timezone`` the region name
#: (``America/Los_Angeles``); only the region follows daylight saving, and TikTok returns
#: only the fields asked for.
ADVERTISER_FIELDS = ["advertiser_id", "name", "currency", "timezone", "display_timezone",
                     "status"]


class ReportSpec(NamedTuple):
    """What one kind of report asks for (everything but the dates and the page)."""

    level: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    filtering: list[dict[str, str]] | None = None


#: Attribute metrics (campaign_id, adgroup_id, ad_name) are allowed at AUCTION_AD level;
#: ctr, cpc, roas and friends are recomputed, so they are not asked for. Purchase value is
#: ``total_complete_payment_rate`` (a value despite its name; reference §0).
AD_REPORT = ReportSpec(
    "AUCTION_AD", ("ad_id", "stat_time_day"),
    ("spend", "impressions", "clicks", "conversion", "total_complete_payment_rate",
     "campaign_id", "adgroup_id", "ad_name"),
    ALL_AD_STATUSES,
)
ACCOUNT_REPORT = ReportSpec(
    "AUCTION_ADVERTISER", ("advertiser_id", "stat_time_day"),
    ("spend", "impressions", "clicks", "conversion", "total_complete_payment_rate"),
)
COUNTS_REPORT = ReportSpec(
    "AUCTION_AD", ("ad_id", "stat_time_day"), ("campaign_id", "impressions"), ALL_AD_STATUSES,
)


#: What ``adgroup/get`` is asked for: the attribution setting of each ad group
#: (``click_attribution_window``: OFF, ONE_DAY, SEVEN_DAYS, FOURTEEN_DAYS, TWENTY_EIGHT_DAYS,
#: ...; ``view_attribution_window``: OFF, ONE_DAY, SEVEN_DAYS; TikTok ad group reference).
ADGROUP_FIELDS = ("adgroup_id", "click_attribution_window", "view_attribution_window",
                  "engaged_view_attribution_window")


def query_json(v: Any) -> str:
    """A query parameter TikTok takes as JSON text (lists of fields, filters)."""
    return msgspec.json.encode(v).decode()


def id_str(v: Any) -> Any:
    """An id as a string: TikTok sends int64 ids as strings or as JSON numbers."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return v


def day_chunks(since: str, until: str, size: int) -> list[tuple[str, str]]:
    """``[since, until]`` cut into consecutive ranges of at most ``size`` days."""
    lo, hi = date.fromisoformat(since), date.fromisoformat(until)
    out: list[tuple[str, str]] = []
    while lo <= hi:
        end = min(hi, lo + timedelta(days=size - 1))
        out.append((lo.isoformat(), end.isoformat()))
        lo = end + timedelta(days=1)
    return out


def _zone_name(info: Advertiser) -> str | None:
    """The IANA zone of the advertiser: ``display_timezone``, else ``timezone``.

    The region name comes first: ``Etc/GMT+8`` is a valid zone too, but one without
    daylight saving, so "today" would be an hour off for half of the year.
    """
    names = [info.display_timezone, info.timezone]
    for name in names:
        if isinstance(name, str) and name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    first = names[0] or names[1]
    return str(first) if first else None


class TikTokAdsConnector(HttpSource):
    """One TikTok advertiser: rate limited, throttle-paused, circuit broken."""

    platform = "tiktok"

    def __init__(
        self,
        advertiser_id: str,
        access_token: str | Secret,
        rate_limit: float = 200.0,
        *,
        config: TikTokConfig | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config or TikTokConfig()
        super().__init__(advertiser_id, rate_limit, self.config,
                         session=session, metrics=metrics)
        self._token = access_token if isinstance(access_token, Secret) else Secret(
            access_token, "argument")
        self.base_url = (base_url or self.config.base_url or TIKTOK_DEFAULT_BASE_URL).rstrip("/")
        self._account_info: AccountInfo | None = None
        #: How many times a "query too large" answer split a date range (for tests and logs).
        self.splits = 0

    @classmethod
    def from_config(cls, acc: AccountConfig, loaded: LoadedConfig,
                    session: aiohttp.ClientSession, metrics: Metrics) -> Self:
        """The connector of ``acc`` as the config says; ConfigError if a secret is missing."""
        secret = require(loaded.secret_for(acc.platform, acc.account_id),
                         f"accounts: tiktok/{acc.account_id} access_token")
        return cls(
            acc.account_id, secret, acc.rate_limit, config=loaded.config.platforms.tiktok,
            session=session, metrics=metrics,
        )

    def __repr__(self) -> str:
        return f"TikTokAdsConnector(advertiser_id={self.account_id!r}, base_url={self.base_url!r})"

    def begin_run(self) -> None:
        super().begin_run()
        self._account_info = None  # re-read name, currency and time zone once per run

    # -- platform hooks ------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        return {"Access-Token": self._token.reveal()}

    def classify(self, status: int, body: bytes, usage: UsageReading | None) -> SourceError:
        return classify_http(status, body, account_id=self.account_id,
                             throttle_pause=self.settings.throttle_pause_seconds)

    def body_error(self, obj: Any, body: bytes, usage: UsageReading | None) -> SourceError | None:
        if not isinstance(obj, Envelope):
            return None  # every TikTok call decodes an envelope; nothing else to look at
        return envelope_error(obj, account_id=self.account_id,
                              throttle_pause=self.settings.throttle_pause_seconds)

    def error_answer(self, body: bytes, usage: UsageReading | None) -> SourceError | None:
        # An error's payload may not look like the success payload: its code still decides.
        head = head_of(body)
        if head is None or head.code is None:
            return None
        return envelope_error(head, account_id=self.account_id,
                              throttle_pause=self.settings.throttle_pause_seconds)

    # -- low level -----------------------------------------------------------------------
    def _url(self, path: str) -> str:
        # TikTok needs the trailing slash: without it the gateway answers 404.
        return f"{self.base_url}/{path.strip('/')}/"

    def _fail(self, endpoint: str, what: str) -> TransientError:
        return TransientError(f"{endpoint}: {what}", platform=self.platform,
                              account_id=self.account_id)

    async def pages(
        self, path: str, params: Mapping[str, str], *, endpoint: str, check_total: bool = True
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield ``data.list`` of pages 1..``total_page``; then check ``total_number``."""
        url = self._url(path)
        page, got, total = 1, 0, 0
        while True:
            query = {**params, "page": str(page), "page_size": str(self.config.page_size)}
            env = await self.request("GET", url, endpoint=endpoint, answer=PAGE, params=query)
            rows, info = page_of(env, endpoint=endpoint, account_id=self.account_id, page=page)
            total = info.total_number
            got += len(rows)
            yield rows
            if page >= info.total_page:
                break
            page += 1
        if got < total:
            msg = f"short read: {got} of {total} rows over {page} page(s)"
            if check_total:
                raise self._fail(endpoint, msg)
            log.warning("%s: %s", endpoint, msg)

    # -- account -------------------------------------------------------------------------
    async def get_account_info(self) -> AccountInfo:
        """The advertiser's name, currency and time zone, from advertiser/info."""
        if self._account_info is None:
            env = await self.request(
                "GET", self._url("advertiser/info"), endpoint="advertiser", answer=ADVERTISER,
                params={"advertiser_ids": query_json([self.account_id]),
                        "fields": query_json(ADVERTISER_FIELDS)},
            )
            found = env.data.advertisers if env.data is not None else None
            if found is None:
                raise AnswerShapeError(
                    "tiktok advertiser: answer of an unexpected shape: no data.list - at "
                    "`$.data.list`", endpoint="advertiser", path="$.data.list",
                    platform=self.platform, account_id=self.account_id, status=200)
            info = next((i for i in found if id_str(i.advertiser_id) == self.account_id), None)
            if info is None:
                raise PermanentSourceError(
                    f"advertiser/info: advertiser {self.account_id} not returned for this token",
                    platform=self.platform, account_id=self.account_id)
            self._account_info = AccountInfo(
                account_id=self.account_id, name=info.name, currency=info.currency,
                timezone=_zone_name(info), details={"status": info.status},
            )
        return self._account_info

    # -- ads -----------------------------------------------------------------------------
    async def _adgroup_windows(self) -> dict[str, dict[str, Any]]:
        """Ad group id -> its attribution fields (one listing per run).

        Each ad group counts conversions with its own click and view windows, so its ads
        inherit them.
        """
        params = {"advertiser_id": self.account_id, "fields": query_json(list(ADGROUP_FIELDS))}
        out: dict[str, dict[str, Any]] = {}
        async for page in self.pages("adgroup/get", params, endpoint="ads", check_total=False):
            for g in page:
                if isinstance(g, dict) and g.get("adgroup_id") is not None:
                    out[id_str(g["adgroup_id"])] = {
                        k: g[k] for k in ADGROUP_FIELDS[1:] if g.get(k) is not None}
        return out

    async def iter_ads(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of ads (deleted ones too), each with ``id`` = its ``ad_id`` as a string.

        Each ad also carries its ad group's attribution windows.
        """
        windows = await self._adgroup_windows()
        params = {"advertiser_id": self.account_id,
                  "filtering": query_json({"secondary_status": "AD_STATUS_ALL"})}
        # Ads change while we page; a short ad list costs creative text, not metrics.
        async for page in self.pages("ad/get", params, endpoint="ads", check_total=False):
            out = []
            for ad in page:
                if isinstance(ad, dict):
                    ad = {**ad, **{k: id_str(ad[k]) for k in
                                   ("ad_id", "campaign_id", "adgroup_id") if k in ad}}
                    ad["id"] = ad.get("ad_id")
                    ad.update(windows.get(str(ad.get("adgroup_id")), {}))
                    out.append(ad)
            yield out

    # -- reports -------------------------------------------------------------------------
    def _report_params(self, spec: ReportSpec, since: str, until: str) -> dict[str, str]:
        params = {
            "advertiser_id": self.account_id, "service_type": "AUCTION",
            "report_type": "BASIC", "data_level": spec.level,
            "dimensions": query_json(list(spec.dimensions)),
            "metrics": query_json(list(spec.metrics)),
            "start_date": since, "end_date": until,
        }
        if spec.filtering:
            params["filtering"] = query_json(spec.filtering)
        return params

    async def report(
        self, spec: ReportSpec, date_range: tuple[str, str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of raw daily report rows over ``date_range`` (inclusive)."""
        for since, until in day_chunks(*date_range, min(MAX_DAYS, self.config.window_days)):
            async for rows in self._report_range(spec, since, until):
                yield rows

    async def _report_range(
        self, spec: ReportSpec, since: str, until: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        sent = False
        try:
            async for rows in self.pages("report/integrated/get",
                                         self._report_params(spec, since, until),
                                         endpoint="report"):
                sent = sent or bool(rows)
                yield rows
            return
        except ReduceDataError:
            # Rows already passed on cannot be taken back: splitting now would send them
            # twice, so the window fails and the next run pulls it again.
            if sent or since == until:
                raise
        lo, hi = date.fromisoformat(since), date.fromisoformat(until)
        mid = lo + timedelta(days=(hi - lo).days // 2)
        self.splits += 1
        log.warning("report %s..%s too large for TikTok; splitting at %s", since, until, mid)
        async for rows in self._report_range(spec, since, mid.isoformat()):
            yield rows
        async for rows in self._report_range(spec, (mid + timedelta(days=1)).isoformat(),
                                             until):
            yield rows

    def iter_ad_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        # TikTok's daily reports are synchronous; use_async has nothing to switch.
        return self.report(AD_REPORT, date_range)

    def iter_account_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        return self.report(ACCOUNT_REPORT, date_range)

    async def active_counts(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> dict[str, tuple[int | None, int | None]]:
        """Per day, the campaigns and ads with impressions > 0 (from ad-level rows)."""
        camps: dict[str, set[str]] = {}
        ads: dict[str, set[str]] = {}
        async for rows in self.report(COUNTS_REPORT, date_range):
            for r in rows:
                dims = r.get("dimensions") if isinstance(r, dict) else None
                mets = r.get("metrics") if isinstance(r, dict) else None
                if not isinstance(dims, dict) or not isinstance(mets, dict):
                    continue
                try:
                    if float(mets.get("impressions") or 0) <= 0:
                        continue
                except (TypeError, ValueError):
                    continue
                day = str(dims.get("stat_time_day", ""))[:10]
                camps.setdefault(day, set()).add(str(id_str(mets.get("campaign_id"))))
                ads.setdefault(day, set()).add(str(id_str(dims.get("ad_id"))))
        return {d: (len(camps[d]), len(ads[d])) for d in sorted(camps)}


__all__ = ["TikTokAdsConnector"]
