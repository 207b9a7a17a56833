"""Facebook (Meta) Marketing API connector: ads with creatives, daily insights, async jobs.

``FacebookAdsConnector(account_id, access_token, rate_limit)`` keeps the seed's API:
``get_ads(date_range, fields, limit)`` and ``get_account_stats(date_range, metrics)`` block
and return lists (scripts), ``await aget_ads(...)`` / ``await aget_account_stats(...)`` are
their coroutine twins (async code). It adds the streaming calls the daemon uses: ``iter_ads`` and
``iter_insights`` yield one page at a time so memory never depends on the range size;
``iter_audience`` is the same ad-level pull split by the ``age`` and ``gender`` breakdowns.
Paging follows ``paging.next`` until it is absent (an empty page may still carry one);
large requests go through async report jobs (``jobs``; the daemon decides per window, by
days and ads x days, in the source actor; called directly, a range longer than
``async_after_days``): a stall is progress that stops moving for a long window, and a job
that overruns its budget is created again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from typing import Any, Self, TypeVar

import aiohttp
import msgspec
from yarl import URL

from ...config import (
    FACEBOOK_DEFAULT_BASE_URL,
    AccountConfig,
    FacebookConfig,
    LoadedConfig,
    Secret,
)
from ...errors import AuthError, ReduceDataError, SourceError, TransientError
from ...observability.metrics import Metrics
from ...schema import AccountInfo
from ..http.answers import Answer
from ..http.client import HttpSource
from ..http.clock import Clock
from ..http.pacing import UsageReading, read_usage_headers
from ..secrets import require
from .answers import ACCOUNT, DEBUG_TOKEN, JOB_CREATED, JOB_STATUS, PAGE
from .errors import classify_error, error_object
from .fields import (
    ACCOUNT_INSIGHT_FIELDS,
    AD_FIELDS,
    AD_STATUSES,
    ALL_ADS_FILTER,
    AUDIENCE_BREAKDOWNS,
    AUDIENCE_FIELDS,
    INSIGHT_FIELDS,
)
from .jobs import wait_for_job

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Below this page size a "reduce the amount of data" error is not worth halving further.
MIN_PAGE = 10


def _days_between(since: str, until: str) -> int:
    return (date.fromisoformat(until) - date.fromisoformat(since)).days + 1


class FacebookAdsConnector(HttpSource):
    """One Facebook ad account: rate limited, paced by usage headers, circuit broken."""

    platform = "facebook"

    def __init__(
        self,
        account_id: str,
        access_token: str | Secret,
        rate_limit: float = 200.0,
        *,
        config: FacebookConfig | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or FacebookConfig()
        super().__init__(
            account_id.removeprefix("act_"), rate_limit, self.config,
            session=session, metrics=metrics, clock=clock,
        )
        self._token = access_token if isinstance(access_token, Secret) else Secret(
            access_token, "argument"
        )
        self.base_url = (base_url or self.config.base_url or FACEBOOK_DEFAULT_BASE_URL).rstrip("/")
        self._origin = URL(self.base_url).origin()
        self._account_info: AccountInfo | None = None

    @classmethod
    def from_config(cls, acc: AccountConfig, loaded: LoadedConfig,
                    session: aiohttp.ClientSession, metrics: Metrics) -> Self:
        """The connector of ``acc`` as the config says; ConfigError if a secret is missing."""
        secret = require(loaded.secret_for(acc.platform, acc.account_id),
                         f"accounts: facebook/{acc.account_id} access_token")
        return cls(
            acc.account_id, secret, acc.rate_limit, config=loaded.config.platforms.facebook,
            session=session, metrics=metrics,
        )

    def __repr__(self) -> str:
        return f"FacebookAdsConnector(account_id={self.account_id!r}, base_url={self.base_url!r})"

    def begin_run(self) -> None:
        super().begin_run()
        self._account_info = None  # re-read name, currency and time zone once per run

    # -- platform hooks ------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        # In a header, not the query: URLs end up in logs, error texts and paging.next.
        return {"Authorization": f"OAuth {self._token.reveal()}"}

    def read_usage(self, headers: Mapping[str, str]) -> UsageReading | None:
        return read_usage_headers(headers)

    def classify(self, status: int, body: bytes, usage: UsageReading | None) -> SourceError:
        return classify_error(
            status, body, account_id=self.account_id,
            regain_seconds=usage.regain_seconds if usage else 0.0,
            throttle_pause=self.settings.throttle_pause_seconds,
        )

    def error_answer(self, body: bytes, usage: UsageReading | None) -> SourceError | None:
        # Graph may answer 200 with an error object in place of the page.
        if error_object(body) is not None:
            return self.classify(400, body, usage)
        return None

    # -- low level -----------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def _get(self, path: str, params: Mapping[str, str], endpoint: str,
                   answer: Answer[T]) -> T:
        return await self.request("GET", self._url(path), endpoint=endpoint, answer=answer,
                                  params=params)

    async def pages(
        self, path: str, params: Mapping[str, str], *, endpoint: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield ``data`` of each page, following ``paging.next`` until it is absent."""
        url = self._url(path)
        query: dict[str, str] = dict(params)
        while True:
            try:
                page = await self.request("GET", url, endpoint=endpoint, answer=PAGE,
                                          params=query)
            except ReduceDataError:
                limit = int(query.get("limit", "25"))
                if limit <= MIN_PAGE:
                    raise
                query["limit"] = str(max(MIN_PAGE, limit // 2))
                log.warning("%s: platform asked for less data; page size %s -> %s",
                            endpoint, limit, query["limit"])
                continue
            yield page.data
            nxt = page.paging.next if page.paging is not None else None
            if not nxt:
                return
            nurl = URL(nxt)
            if nurl.origin() != self._origin:
                raise TransientError(
                    f"{endpoint}: paging.next points to another host ({nurl.host})",
                    platform=self.platform, account_id=self.account_id,
                )
            # Keep the cursor and the platform's params, but our page size; a token in the
            # link is dropped (ours travels in the Authorization header).
            page_size = query.get("limit")
            query = {k: v for k, v in nurl.query.items() if k != "access_token"}
            if page_size is not None:
                query["limit"] = page_size
            url = str(nurl.with_query(None))

    # -- account -------------------------------------------------------------------------
    async def get_account_info(self) -> AccountInfo:
        """Name, currency and time zone of the ad account (cached for the connector)."""
        if self._account_info is None:
            obj = await self._get(
                f"act_{self.account_id}",
                {"fields": "account_id,name,currency,timezone_name,account_status"},
                "account", ACCOUNT,
            )
            self._account_info = AccountInfo(
                account_id=str(obj.account_id or self.account_id),
                name=obj.name, currency=obj.currency, timezone=obj.timezone_name,
                details={"account_status": obj.account_status},
            )
        return self._account_info

    async def token_expiry(self) -> float | None:
        """Unix time the access token expires (0: never), from ``/debug_token``.

        Meta lets a token inspect itself when both belong to the same app. ``None`` when
        the platform would not say; this never fails a run. The one call whose URL carries
        the token: ``/debug_token`` takes it only as ``input_token``; log lines redact it
        (every configured secret is registered with the logging filter).
        """
        try:
            obj = await self._get("debug_token", {"input_token": self._token.reveal()},
                                  "debug_token", DEBUG_TOKEN)
        except SourceError as exc:  # an answer of another shape included
            log.info("token expiry unknown: %s", exc)
            return None
        return float(obj.data.expires_at or 0)

    # -- ads -----------------------------------------------------------------------------
    async def iter_ads(
        self, fields: str = AD_FIELDS, limit: int | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of ads with their creatives."""
        async for page in self.pages(
            f"act_{self.account_id}/ads",
            {"fields": fields, "limit": str(limit or self.config.page_size),
             "filtering": ALL_ADS_FILTER},
            endpoint="ads",
        ):
            yield page

    def get_ads(
        self,
        date_range: tuple[str, str] | None = None,
        fields: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The seed's call for scripts: :meth:`aget_ads` run to completion."""
        return self.run_blocking(lambda: self.aget_ads(date_range, fields, limit), "get_ads")

    async def aget_ads(
        self,
        date_range: tuple[str, str] | None = None,
        fields: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The seed's call: every ad; with ``insights`` in ``fields``, its daily rows too."""
        wanted = list(fields or ["id", "name", "status", "creative", "insights"])
        want_insights = "insights" in wanted
        plain = [f for f in wanted if f not in ("creative", "insights")]
        parts = plain or ["id"]
        if "id" not in parts:
            parts.insert(0, "id")
        if "creative" in wanted:
            parts.append(AD_FIELDS[AD_FIELDS.index("creative{"):AD_FIELDS.index(",adset{")])
        ads: list[dict[str, Any]] = []
        async for page in self.iter_ads(",".join(parts), limit):
            ads.extend(page)
        if want_insights:
            if date_range is None:
                raise ValueError("insights need a date_range")
            by_ad: dict[str, list[dict[str, Any]]] = {}
            async for rows in self.iter_insights(date_range, limit=limit):
                for row in rows:
                    by_ad.setdefault(str(row.get("ad_id")), []).append(row)
            for ad in ads:
                ad["insights"] = by_ad.get(str(ad.get("id")), [])
        return ads

    # -- insights ------------------------------------------------------------------------
    def _insight_params(
        self, since: str, until: str, level: str, fields: str, limit: int | None
    ) -> dict[str, str]:
        params = {
            "level": level,
            "fields": fields,
            "time_range": msgspec.json.encode({"since": since, "until": until}).decode(),
            "time_increment": "1",
            "limit": str(limit or self.config.page_size),
        }
        if level == "ad":
            # Only ad rows: at account level the filter would drop removed ads' spend
            # from the totals the ad rows are checked against.
            params["filtering"] = ALL_ADS_FILTER
        return params

    def iter_insights(
        self,
        date_range: tuple[str, str],
        *,
        level: str = "ad",
        fields: str | None = None,
        limit: int | None = None,
        use_async: bool | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of daily insights rows for ``date_range`` (inclusive), sync or async."""
        since, until = date_range
        if use_async is None:
            use_async = _days_between(since, until) > self.config.async_after_days
        f = fields or (INSIGHT_FIELDS if level == "ad" else ACCOUNT_INSIGHT_FIELDS)
        params = self._insight_params(since, until, level, f, limit)
        if use_async:
            return self._async_insights(params)
        return self.pages(f"act_{self.account_id}/insights", params, endpoint="insights")

    def iter_audience(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of daily ad rows split by age band and gender for ``date_range``.

        Rows carry ``ad_id, impressions, clicks, spend, actions, date_start, date_stop, age,
        gender`` (numbers as Graph strings); long ranges go through an async report job.
        """
        since, until = date_range
        if use_async is None:
            use_async = _days_between(since, until) > self.config.async_after_days
        params = self._insight_params(since, until, "ad", AUDIENCE_FIELDS, None)
        params["breakdowns"] = AUDIENCE_BREAKDOWNS
        if use_async:
            return self._async_insights(params)
        return self.pages(f"act_{self.account_id}/insights", params, endpoint="insights")

    async def _async_insights(
        self, params: dict[str, str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        attempts = 0
        while True:
            try:
                run_id = await self.run_report_job(params)
                break
            except TransientError:
                # A failed, stalled or overrunning job is re-created once before the
                # window fails.
                attempts += 1
                if attempts > 1:
                    raise
                log.warning("async insights job failed; creating it again")
        async for page in self.pages(
            f"{run_id}/insights", {"limit": params["limit"]}, endpoint="job_results"
        ):
            yield page

    async def run_report_job(self, params: Mapping[str, str]) -> str:
        """Create an async insights job and poll it to completion; return its id."""
        created = await self.request(
            "POST", self._url(f"act_{self.account_id}/insights"), endpoint="job_create",
            answer=JOB_CREATED, data=params,
        )
        run_id = str(created.report_run_id)
        if not run_id:
            raise TransientError("job_create: no report_run_id in the answer",
                                 platform=self.platform, account_id=self.account_id)
        await wait_for_job(
            run_id,
            lambda rid: self._get(
                rid, {"fields": "id,async_status,async_percent_completion"}, "job_status",
                JOB_STATUS),
            clock=self.clock, poll_interval=self.config.poll_interval_seconds,
            stall_seconds=self.config.stall_seconds,
            budget_seconds=self.config.job_budget_seconds,
            platform=self.platform, account_id=self.account_id,
        )
        return run_id

    def iter_ad_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        return self.iter_insights(date_range, level="ad", use_async=use_async)

    def iter_account_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        return self.iter_insights(date_range, level="account", use_async=use_async)

    async def active_counts(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> dict[str, tuple[int | None, int | None]]:
        """Per day, the campaigns and ads that delivered (impressions > 0)."""
        camps: dict[str, set[str]] = {}
        ads: dict[str, set[str]] = {}
        async for rows in self.iter_insights(
            date_range, level="ad", fields="ad_id,campaign_id,impressions", use_async=use_async
        ):
            for r in rows:
                try:
                    if int(r.get("impressions") or 0) <= 0:
                        continue
                except (TypeError, ValueError):
                    continue
                d = str(r.get("date_start"))
                camps.setdefault(d, set()).add(str(r.get("campaign_id")))
                ads.setdefault(d, set()).add(str(r.get("ad_id")))
        return {d: (len(camps[d]), len(ads[d])) for d in camps}

    def get_account_stats(
        self,
        date_range: tuple[str, str],
        metrics: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The seed's call for scripts: :meth:`aget_account_stats` run to completion."""
        return self.run_blocking(lambda: self.aget_account_stats(date_range, metrics),
                                 "get_account_stats")

    async def aget_account_stats(
        self,
        date_range: tuple[str, str],
        metrics: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The seed's call: daily account-level insights rows for ``date_range``."""
        wanted = set(metrics or ["spend", "impressions", "clicks", "conversions"])
        fields = ["account_id", "account_currency"]
        for m in ("spend", "impressions", "clicks", "reach"):
            if m in wanted:
                fields.append(m)
        if wanted & {"conversions", "revenue", "roas"}:
            fields += ["actions", "action_values"]
        rows: list[dict[str, Any]] = []
        async for page in self.iter_insights(date_range, level="account", fields=",".join(fields)):
            rows.extend(page)
        return rows


__all__ = [
    "ACCOUNT_INSIGHT_FIELDS", "AD_FIELDS", "AD_STATUSES", "ALL_ADS_FILTER",
    "AUDIENCE_BREAKDOWNS", "AUDIENCE_FIELDS", "INSIGHT_FIELDS", "AuthError",
    "FacebookAdsConnector",
]
