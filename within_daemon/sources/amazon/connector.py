"""Amazon Ads (Sponsored Products) connector: Login with Amazon, profiles, reporting v3.

``AmazonAdsConnector`` is one advertiser profile (the config's ``account_id`` is the
profile id sent as ``Amazon-Advertising-API-Scope``). Its HTTP side is its base,
:class:`~.api.AmazonApi`: access tokens from the refresh token through ``OAuthClient`` (a
401 invalidates the token and the call is sent once more with a fresh one before it counts
as an ``AuthError``), and the async reports all data comes from (create, poll with a stall
detector, re-create once on failure, stream the gzip JSON download under the
``max_report_bytes`` cap, download again from a fresh URL when it breaks, never yielding a
row twice). This module says which reports a window needs and hands their rows on.

``iter_ads`` lists the Sponsored Brands ads (``/sb/v4/ads/list``) for their headline
creatives; Sponsored Products and Display product ads carry no creative text. Ad rows are
the SP ``spAdvertisedProduct`` report plus, per ``ad_products``, ``sbAds`` and
``sdAdvertisedProduct`` (bare ``purchases``/``sales``: 14-day), so ad sums reach the
console's totals.
Account rows are the ``spCampaigns`` report summed per day (Amazon has no account-level
report); ``active_counts`` runs an ad-level report next to it and caches the day totals
for the ``iter_account_rows`` call that follows, so both reports generate concurrently.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Self

import aiohttp
import msgspec

from ...config import AccountConfig, LoadedConfig
from ...errors import AuthError, PermanentSourceError
from ...observability.metrics import Metrics
from ...schema import AccountInfo
from ..secrets import require
from .answers import PROFILES, SB_ADS, ProfileAccount
from .api import MAX_POLL_SECONDS, POLL_AUTH_RETRIES, AmazonApi, hosts_for
from .reports import (
    add_active,
    as_window_columns,
    both,
    chunks,
    daily_totals,
    report_body,
)

# The API's knobs and host lookup are re-exported: tests and the regions check read them here.
__all__ = ["MAX_POLL_SECONDS", "POLL_AUTH_RETRIES", "AmazonAdsConnector", "hosts_for",
           "window_for"]

log = logging.getLogger(__name__)


def window_for(account_type: Any) -> str:
    """The console's window for an account type (seller 7d, vendor 14d).

    Sponsored Products "Orders"/"Sales" are the 7-day columns for sellers and the 14-day
    ones for vendors (reference §0 "Metric definitions").
    """
    return "14d" if account_type == "vendor" else "7d"


class AmazonAdsConnector(AmazonApi):
    """One Amazon Ads profile: rate limited, circuit broken, OAuth refreshed (see AmazonApi)."""

    @classmethod
    def from_config(cls, acc: AccountConfig, loaded: LoadedConfig,
                    session: aiohttp.ClientSession, metrics: Metrics) -> Self:
        """The connector of ``acc`` as the config says; ConfigError if a secret is missing."""
        client_id = require(loaded.platform_secret("amazon", "client_id"),
                            "platforms.amazon.client_id")
        client_secret = require(loaded.platform_secret("amazon", "client_secret"),
                                "platforms.amazon.client_secret")
        refresh = require(loaded.account_secret("amazon", acc.account_id, "refresh_token"),
                          f"accounts: amazon/{acc.account_id} refresh_token")
        return cls(
            acc.account_id, client_id=client_id, client_secret=client_secret,
            refresh_token=refresh, rate_limit=acc.rate_limit, region=acc.region,
            base_url=acc.base_url, token_url=acc.token_url,
            config=loaded.config.platforms.amazon, session=session, metrics=metrics,
        )

    def __repr__(self) -> str:
        return f"AmazonAdsConnector(account_id={self.account_id!r}, base_url={self.base_url!r})"

    def begin_run(self) -> None:
        super().begin_run()
        self._account_info = None
        self._account_rows.clear()

    # -- account -------------------------------------------------------------------------
    async def get_account_info(self) -> AccountInfo:
        """The profile's name, currency, time zone and our attribution window (cached)."""
        if self._account_info is None:
            profiles = await self.request("GET", self._url("/v2/profiles"), endpoint="profiles",
                                          answer=PROFILES)
            mine = [p for p in profiles if str(p.profile_id) == self.account_id]
            if not mine:
                raise PermanentSourceError(
                    f"profile {self.account_id} is not among the {len(profiles)} profiles this "
                    f"token sees at {self.base_url} (region {self.region or 'not set'}: set the "
                    "account's region = NA/EU/FE, or no access?)",
                    platform=self.platform, account_id=self.account_id)
            p = mine[0]
            info = p.account_info or ProfileAccount()
            self._account_info = AccountInfo(
                account_id=self.account_id, name=info.name,
                currency=p.currency_code, timezone=p.timezone,
                # The normalizer reads it to pick purchasesNd / salesNd; rows record it.
                attribution_window=self.window or window_for(info.type),
                details={"country_code": p.country_code,
                         "marketplace_id": info.marketplace_string_id,
                         "account_type": info.type},
            )
        return self._account_info

    async def _window(self) -> str:
        """The window the report columns are asked for: the account info's."""
        return str((await self.get_account_info()).attribution_window)

    async def token_expiry(self) -> float | None:
        """0: LwA refresh tokens do not expire (access tokens are refreshed hourly)."""
        return 0.0

    # -- the interface the source actor uses ---------------------------------------------
    async def iter_ad_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw ``spAdvertisedProduct`` DAILY rows (always an async report on Amazon)."""
        window = await self._window()
        kinds = ["ad", *(f"{k}_ad" for k in self.config.ad_products if k != "sp")]
        for since, until in chunks(*date_range):
            for kind in kinds:
                async for page in self.report_rows(report_body(kind, since, until, window)):
                    yield page

    async def iter_ads(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Sponsored Brands ads with their creative (headline, brand) and landing page."""
        if "sb" not in self.config.ad_products:
            return
        token: str | None = None
        while True:
            body: dict[str, Any] = {"maxResults": 100}
            if token:
                body["nextToken"] = token
            try:
                page = await self.request(
                    "POST", self._url("/sb/v4/ads/list"), endpoint="sb_ads", answer=SB_ADS,
                    data={"json": msgspec.json.encode(body).decode()})
            except (AuthError, PermanentSourceError) as exc:
                # Headlines are optional: a profile without Sponsored Brands access still
                # loads its rows (a token problem shows on the reports anyway).
                log.warning("Sponsored Brands ads list refused (%s): no SB headlines this "
                            "run; drop \"sb\" from [platforms.amazon] ad_products if the "
                            "profile has no Sponsored Brands", exc)
                return
            ads = page.ads
            out = [{**a, "id": str(a["adId"])} for a in ads or [] if a.get("adId") is not None]
            if out:
                yield out
            token = page.next_token
            if not token or not ads:
                return

    async def iter_account_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """One row per day: the ``spCampaigns`` rows summed (Amazon has no account report)."""
        for since, until in chunks(*date_range):
            rows = self._account_rows.pop((since, until), None)
            if rows is None:
                rows = await self._day_totals(since, until)
            if rows:
                yield rows

    async def _day_totals(self, since: str, until: str) -> list[dict[str, Any]]:
        """Sponsored Products campaign rows plus the configured SB/SD ones, summed per day."""
        rows: list[dict[str, Any]] = []
        window = await self._window()
        async for page in self.report_rows(report_body("campaign", since, until, window)):
            rows.extend(page)
        for kind in self.config.ad_products:
            if kind == "sp":
                continue
            async for page in self.report_rows(report_body(kind, since, until, window)):
                rows.extend(as_window_columns(page, window))
        return daily_totals(rows, window)

    async def active_counts(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> dict[str, tuple[int | None, int | None]]:
        """Per day, campaigns and ads with impressions (the day totals are fetched alongside)."""
        out: dict[str, tuple[int | None, int | None]] = {}
        for since, until in chunks(*date_range):
            await both(self._counts_into(since, until, out),
                       self._cache_day_totals(since, until))
        return out

    async def _cache_day_totals(self, since: str, until: str) -> None:
        self._account_rows[(since, until)] = await self._day_totals(since, until)

    async def _counts_into(
        self, since: str, until: str, out: dict[str, tuple[int | None, int | None]]
    ) -> None:
        seen: dict[str, tuple[set[Any], set[Any]]] = {}
        window = await self._window()
        async for page in self.report_rows(report_body("counts", since, until, window)):
            add_active(page, seen)
        out.update({d: (len(c), len(a)) for d, (c, a) in seen.items()})
