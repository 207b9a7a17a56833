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
that overruns its budget is created again. The paging, the jobs, the token and the usage
pacing are the connector's base, :class:`~.api.FacebookApi`; this module says what is
asked for (ads, insights, audience breakdowns, the seed's calls) and with which fields.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any, Self

import aiohttp
import msgspec

from ...config import AccountConfig, LoadedConfig
from ...errors import AuthError, SourceError
from ...observability.metrics import Metrics
from ...schema import AccountInfo
from ..secrets import require
from .answers import ACCOUNT, DEBUG_TOKEN
from .api import FacebookApi
from .fields import (
    ACCOUNT_INSIGHT_FIELDS,
    AD_FIELDS,
    AD_STATUSES,
    ALL_ADS_FILTER,
    AUDIENCE_BREAKDOWNS,
    AUDIENCE_FIELDS,
    INSIGHT_FIELDS,
)

log = logging.getLogger(__name__)


def _days_between(since: str, until: str) -> int:
    return (date.fromisoformat(until) - date.fromisoformat(since)).days + 1


class FacebookAdsConnector(FacebookApi):
    """One Facebook ad account: rate limited, paced by usage headers, circuit broken."""

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
