"""Google Ads API (REST) connector: GAQL over searchStream or paged search, OAuth2 tokens.

``GoogleAdsConnector(customer_id, refresh_token=…, client_id=…, client_secret=…,
developer_token=…, login_customer_id=…)`` pulls one customer. Every call is a GAQL query
POSTed as JSON to ``customers/{id}/googleAds:searchStream`` (one answer, a JSON array of
batches, decoded as it streams, ``timeout_seconds`` limiting each silence rather than the
whole answer; see ``stream``) or, with ``use_search_stream = false``, to
``…:search`` following ``nextPageToken`` until it is absent. Queries order their rows, so a
stream that breaks is read again from where it stopped. Access tokens come from the
shared ``OAuthClient``; a 401 drops the cached token and the request is sent once more with
a fresh one before it counts as an ``AuthError``.

Quota: the daily ``RESOURCE_EXHAUSTED`` answer carries a retry delay of hours; it becomes
a ThrottledError of that length, so the base parks the account (``AccountPausedError``)
instead of retrying. When its ``rateScope`` is ``DEVELOPER`` the whole developer token is
out, so the pause is shared with every connector using that token and the other accounts
park without spending a request each.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import Any, Self

import aiohttp
import msgspec

from ...config import AccountConfig, LoadedConfig, Secret
from ...errors import ConfigError, SourceError, ThrottledError, TransientError
from ...observability.metrics import Metrics
from ...platform_config import GOOGLE_DEFAULT_BASE_URL, GOOGLE_DEFAULT_TOKEN_URL, GoogleConfig
from ...schema import AccountInfo
from ..http.client import Prepared
from ..http.oauth import OAuthClient
from ..http.pacing import UsageReading
from ..secrets import require
from .answers import SEARCH_PAGE, RpcStatus, SearchPage, StreamBatch
from .errors import classify_error, error_of, quota_info
from .stream import StreamingSource

log = logging.getLogger(__name__)

_METRICS = ("metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
            "metrics.conversions_value")
ACCOUNT_QUERY = ("SELECT customer.id, customer.descriptive_name, customer.currency_code, "
                 "customer.time_zone FROM customer")
#: The click-through windows of the actions counted in ``metrics.conversions`` (the UI's
#: "Conversions" column: primary actions, view-through excluded); Google credits a
#: conversion to the click date for that long (reference §0 "Metric definitions").
CONVERSION_WINDOW_QUERY = (
    "SELECT conversion_action.click_through_lookback_window_days FROM conversion_action "
    "WHERE conversion_action.status = 'ENABLED' "
    "AND conversion_action.include_in_conversions_metric = TRUE")
#: Google's default click-through conversion window, for an account with no action.
DEFAULT_CONVERSION_WINDOW_DAYS = 30
ADS_QUERY = ("SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, ad_group_ad.ad.name, "
             "ad_group_ad.ad.type, ad_group_ad.status, ad_group_ad.ad.final_urls, "
             "ad_group_ad.ad.responsive_search_ad.headlines, "
             "ad_group_ad.ad.responsive_search_ad.descriptions FROM ad_group_ad "
             "ORDER BY ad_group.id, ad_group_ad.ad.id")
AD_ROWS_QUERY = ("SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, ad_group_ad.status, "
                 f"segments.date, {_METRICS} FROM ad_group_ad "
                 "WHERE segments.date BETWEEN '{since}' AND '{until}' "
                 "ORDER BY segments.date, ad_group.id, ad_group_ad.ad.id")
ACCOUNT_ROWS_QUERY = (f"SELECT customer.id, segments.date, {_METRICS} FROM customer "
                      "WHERE segments.date BETWEEN '{since}' AND '{until}' "
                      "ORDER BY segments.date")
#: Performance Max campaigns have no ad_group_ad rows ("querying resources such as ad_group
#: or ad_group_ad won't return any data for your Performance Max campaigns", Google's
#: Performance Max reporting guide), yet their spend is in the customer's totals: their
#: metrics are pulled per campaign and day and loaded as campaign-level rows.
PMAX_ROWS_QUERY = ("SELECT campaign.id, campaign.status, campaign.advertising_channel_type, "
                   f"segments.date, {_METRICS} FROM campaign "
                   "WHERE segments.date BETWEEN '{since}' AND '{until}' "
                   "AND campaign.advertising_channel_type = 'PERFORMANCE_MAX' "
                   "ORDER BY segments.date, campaign.id")
PMAX_ACTIVE_QUERY = ("SELECT campaign.id, segments.date, metrics.impressions FROM campaign "
                     "WHERE segments.date BETWEEN '{since}' AND '{until}' "
                     "AND campaign.advertising_channel_type = 'PERFORMANCE_MAX' "
                     "AND metrics.impressions > 0 ORDER BY segments.date, campaign.id")
ACTIVE_QUERY = ("SELECT campaign.id, ad_group_ad.ad.id, segments.date, metrics.impressions "
                "FROM ad_group_ad WHERE segments.date BETWEEN '{since}' AND '{until}' "
                "AND metrics.impressions > 0 "
                "ORDER BY segments.date, campaign.id, ad_group_ad.ad.id")

#: Developer-token quota pauses shared by all connectors of one token (monotonic deadline),
#: keyed by a hash of base URL and token. Process-wide on purpose: every account of the
#: token is out until Google's quota window turns.
DEVELOPER_PAUSES: dict[str, float] = {}


def _dates(date_range: tuple[str, str]) -> dict[str, str]:
    # Parsed, not pasted: a date is the only caller input that reaches a GAQL string.
    since, until = (date.fromisoformat(d).isoformat() for d in date_range)
    return {"since": since, "until": until}


def _secret(v: str | Secret | None, source: str) -> Secret | None:
    return v if isinstance(v, Secret) or v is None else Secret(v, source)


class GoogleAdsConnector(StreamingSource):
    """One Google Ads customer: rate limited, circuit broken, OAuth refreshed."""

    platform = "google"

    def __init__(
        self,
        account_id: str,
        *,
        refresh_token: str | Secret | None = None,
        access_token: str | Secret | None = None,
        client_id: str | Secret | None = None,
        client_secret: str | Secret | None = None,
        developer_token: str | Secret | None = None,
        login_customer_id: str | None = None,
        rate_limit: float = 200.0,
        config: GoogleConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config or GoogleConfig()
        super().__init__(account_id.replace("-", ""), rate_limit, self.config,
                         session=session, metrics=metrics)
        self.base_url = (self.config.base_url or GOOGLE_DEFAULT_BASE_URL).rstrip("/")
        self.token_url = self.config.token_url or GOOGLE_DEFAULT_TOKEN_URL
        self._refresh = _secret(refresh_token, "argument")
        self._static = _secret(access_token, "argument")
        self._client_id = _secret(client_id, "argument")
        self._client_secret = _secret(client_secret, "argument")
        if self._refresh is None and self._static is None:
            raise ConfigError(f"google/{self.account_id}: a refresh_token or access_token "
                              "is needed")
        if self._refresh is not None and (self._client_id is None or self._client_secret is None):
            raise ConfigError(f"google/{self.account_id}: refreshing a token needs client_id "
                              "and client_secret")
        self._developer = _secret(developer_token, "argument")
        self.login_customer_id = login_customer_id.replace("-", "") if login_customer_id else None
        dev = self._developer.reveal() if self._developer else ""
        self._dev_key = hashlib.sha256(f"{self.base_url}|{dev}".encode()).hexdigest()[:16]
        self._oauth: OAuthClient | None = None
        self._account_info: AccountInfo | None = None
        #: The account's longest conversion window once read (kept across runs): the
        #: engine's settle horizon for this account (pipelines/settling.py).
        self.conversion_window_days: int | None = None

    @classmethod
    def from_config(cls, acc: AccountConfig, loaded: LoadedConfig,
                    session: aiohttp.ClientSession, metrics: Metrics) -> Self:
        """The connector of ``acc`` as the config says; ConfigError if a secret is missing."""
        refresh = loaded.account_secret("google", acc.account_id, "refresh_token")
        access = loaded.secret_for("google", acc.account_id)
        if refresh is None:
            require(access, f"accounts: google/{acc.account_id} refresh_token")
        else:
            require(loaded.platform_secret("google", "client_id"), "platforms.google.client_id")
            require(loaded.platform_secret("google", "client_secret"),
                    "platforms.google.client_secret")
        # Optional: Google's developer-token policy made the header optional (and ignored) in
        # September 2026, quota belonging to the Cloud project; it is sent only when configured.
        developer = loaded.platform_secret("google", "developer_token")
        return cls(
            acc.account_id, refresh_token=refresh, access_token=None if refresh else access,
            client_id=loaded.platform_secret("google", "client_id"),
            client_secret=loaded.platform_secret("google", "client_secret"),
            developer_token=developer, login_customer_id=acc.login_customer_id,
            rate_limit=acc.rate_limit, config=loaded.config.platforms.google,
            session=session, metrics=metrics,
        )

    def __repr__(self) -> str:
        return f"GoogleAdsConnector(account_id={self.account_id!r}, base_url={self.base_url!r})"

    def begin_run(self) -> None:
        super().begin_run()
        self._account_info = None  # re-read name, currency and time zone once per run

    @property
    def oauth(self) -> OAuthClient | None:
        """The token client (built on first use, on the connector's session)."""
        if self._oauth is None and self._refresh is not None:
            assert self._client_id is not None and self._client_secret is not None
            self._oauth = OAuthClient(
                platform=self.platform, account_id=self.account_id, token_url=self.token_url,
                client_id=self._client_id, client_secret=self._client_secret,
                refresh_token=self._refresh, session=self._get_session(),
                timeout=self.settings.timeout_seconds,
            )
        return self._oauth

    # -- platform hooks ------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """Headers besides the bearer token (which ``prepare`` adds per attempt)."""
        h = {"Content-Type": "application/json"}
        if self._developer is not None:
            h["developer-token"] = self._developer.reveal()
        if self.login_customer_id:
            h["login-customer-id"] = self.login_customer_id
        return h

    def classify(self, status: int, body: bytes, usage: UsageReading | None) -> SourceError:
        return self._classify(status, body, None)

    def body_error(self, obj: Any, body: bytes, usage: UsageReading | None) -> SourceError | None:
        """A search page or stream batch that carries an ``error`` is that error."""
        err = obj.error if isinstance(obj, SearchPage | StreamBatch) else None
        if err is None:
            return None
        return self._classify(err.code if isinstance(err.code, int) else 500, body, err)

    def error_answer(self, body: bytes, usage: UsageReading | None) -> SourceError | None:
        err = error_of(body)
        if err is None:
            return None
        return self._classify(err.code if isinstance(err.code, int) else 500, body, err)

    def _classify(self, status: int, body: bytes, err: RpcStatus | None) -> SourceError:
        exc = classify_error(status, body, account_id=self.account_id, err=err,
                             throttle_pause=self.settings.throttle_pause_seconds)
        if isinstance(exc, ThrottledError):
            err = err if err is not None else error_of(body)
            reason, scope, _ = quota_info(err) if err else (None, None, None)
            if scope == "DEVELOPER" and reason == "RESOURCE_EXHAUSTED":
                until = time.monotonic() + exc.retry_after
                DEVELOPER_PAUSES[self._dev_key] = max(
                    until, DEVELOPER_PAUSES.get(self._dev_key, 0.0))
        return exc

    # -- the request path: JSON bodies and the bearer token ------------------------------
    # -- request hooks: a JSON body and a fresh bearer token per attempt -----------------
    def before_request(self, endpoint: str) -> None:
        shared = DEVELOPER_PAUSES.get(self._dev_key, 0.0) - time.monotonic()
        if shared > 0:
            raise ThrottledError(
                f"{endpoint}: developer token quota exhausted (seen on another account); "
                f"{shared:.0f}s left", retry_after=shared, hint=shared, app_wide=True,
                platform=self.platform, account_id=self.account_id)

    async def prepare(
        self, method: str, endpoint: str, params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Prepared:
        oauth = self.oauth
        token = await oauth.token() if oauth is not None else (
            self._static.reveal() if self._static else "")
        headers = {**self.auth_headers(), "Authorization": f"Bearer {token}"}
        return Prepared(params, msgspec.json.encode(dict(data or {})), headers)

    def refresh_credentials(self) -> bool:
        if self.oauth is None:
            return False
        self.oauth.invalidate()
        return True

    # -- GAQL ------------------------------------------------------------------------------
    def _url(self, method: str) -> str:
        return f"{self.base_url}/customers/{self.account_id}/googleAds:{method}"

    def _bad(self, endpoint: str, what: str) -> TransientError:
        return TransientError(f"{endpoint}: {what}", platform=self.platform,
                              account_id=self.account_id)

    async def gaql(self, query: str, *, endpoint: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of GoogleAdsRow dicts: one per stream batch, or one per search page."""
        if self.config.use_search_stream:
            async for batch in self.stream_rows(self._url("searchStream"), query,
                                                endpoint=endpoint):
                yield batch
            return
        token: str | None = None
        seen: set[str] = set()
        while True:
            req = {"query": query} if token is None else {"query": query, "pageToken": token}
            page = await self.request("POST", self._url("search"), endpoint=endpoint,
                                      answer=SEARCH_PAGE, data=req)
            if page.results:
                yield page.results
            nxt = page.next_page_token
            if not nxt:
                return
            if nxt in seen:  # a cursor that repeats would page forever
                raise self._bad(endpoint, "search repeated a nextPageToken")
            seen.add(nxt)
            token = nxt

    # -- the interface the source actor uses ---------------------------------------------
    async def get_account_info(self) -> AccountInfo:
        """Id, name, currency and time zone of the customer (cached for the run)."""
        if self._account_info is None:
            rows = [r async for page in self.gaql(ACCOUNT_QUERY, endpoint="account")
                    for r in page]
            cust = rows[0].get("customer") if rows and isinstance(rows[0], dict) else None
            if not isinstance(cust, dict):
                raise self._bad("account", "no customer row")
            window, longest = await self._conversion_window()
            self._account_info = AccountInfo(
                account_id=str(cust.get("id") or self.account_id),
                name=cust.get("descriptiveName"), currency=cust.get("currencyCode"),
                timezone=cust.get("timeZone"), attribution_window=window,
                details={"conversion_window_days": longest},
            )
        return self._account_info

    async def _conversion_window(self) -> tuple[str, int]:
        """The attribution window (``30d_click``, or ``mixed``) and the longest in days."""
        days: set[int] = set()
        async for page in self.gaql(CONVERSION_WINDOW_QUERY, endpoint="account"):
            for r in page:
                action = r.get("conversionAction") if isinstance(r, dict) else None
                raw = action.get("clickThroughLookbackWindowDays") if isinstance(
                    action, dict) else None
                if isinstance(raw, str | int) and str(raw).isdigit():
                    days.add(int(raw))
        longest = max(days, default=DEFAULT_CONVERSION_WINDOW_DAYS)
        self.conversion_window_days = longest
        return f"{longest}d_click" if len(days) <= 1 else "mixed", longest

    async def iter_ads(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of ads (rows of the ad-text query) keyed by ``id`` = the ad id."""
        async for rows in self.gaql(ADS_QUERY, endpoint="ads"):
            out = []
            for r in rows:
                ad = r.get("adGroupAd", {}).get("ad", {}) if isinstance(r, dict) else {}
                if isinstance(ad, dict) and ad.get("id") is not None:
                    out.append({**r, "id": str(ad["id"])})
            if out:
                yield out

    async def iter_ad_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw ad-day GoogleAdsRows, then Performance Max campaign-day rows.

        PMax campaigns have no ads of their own (see ``PMAX_ROWS_QUERY``). Google has no
        async reports: ``use_async`` is moot.
        """
        dates = _dates(date_range)
        async for rows in self.gaql(AD_ROWS_QUERY.format(**dates), endpoint="ad_rows"):
            yield rows
        async for rows in self.gaql(PMAX_ROWS_QUERY.format(**dates), endpoint="pmax_rows"):
            yield rows

    def iter_account_rows(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw customer-day GoogleAdsRows: the platform's own daily totals."""
        return self.gaql(ACCOUNT_ROWS_QUERY.format(**_dates(date_range)),
                         endpoint="account_rows")

    async def active_counts(
        self, date_range: tuple[str, str], *, use_async: bool | None = None
    ) -> dict[str, tuple[int | None, int | None]]:
        """Per day, the campaigns (Performance Max included) and ads with impressions > 0."""
        camps: dict[str, set[str]] = {}
        ads: dict[str, set[str]] = {}
        dates = _dates(date_range)
        for query, endpoint in ((ACTIVE_QUERY, "active"), (PMAX_ACTIVE_QUERY, "pmax_active")):
            async for rows in self.gaql(query.format(**dates), endpoint=endpoint):
                for r in rows:
                    try:
                        if int(r.get("metrics", {}).get("impressions") or 0) <= 0:
                            continue
                    except (TypeError, ValueError, AttributeError):
                        continue
                    d = str(r.get("segments", {}).get("date"))
                    camps.setdefault(d, set()).add(str(r.get("campaign", {}).get("id")))
                    ad = r.get("adGroupAd", {}).get("ad", {}).get("id")
                    if ad is not None:  # PMax campaigns have no ads
                        ads.setdefault(d, set()).add(str(ad))
        return {d: (len(camps[d]), len(ads.get(d, ()))) for d in sorted(camps)}

    async def token_expiry(self) -> float | None:
        """Unknown: Google publishes no lifetime for refresh tokens (revocation is silent)."""
        return None

