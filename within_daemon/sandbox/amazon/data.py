"""Deterministic Amazon Ads (Sponsored Products) profiles for the emulator: entities, metrics, rows.

Everything is a pure function of ``(seed, profile, index, day)``, so tests compute the exact
rows and totals a complete pull must return (``ProfileData.ad_day`` is the single oracle,
campaign rows are sums of it). Reports follow reporting v3 typing (docs/api-reference.md §3.3): ids
are JSON numbers, counts integers, ``cost`` / ``salesNd`` decimals in the profile currency,
and a report lists only entities with activity, so ad-days without impressions have no row.
Purchases, sales and units grow with the attribution window (1d <= 7d <= 14d <= 30d).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from within_daemon.sandbox.amazon.brands import Entity, OtherProducts, base36
from within_daemon.sandbox.numbers import mix64

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
#: Attribution windows in column-suffix form, in the order of the metric tuple.
WINDOWS: tuple[str, ...] = ("1d", "7d", "14d", "30d")
#: Metric tuple layout: impressions, clicks, cost cents, then purchases, sales cents and
#: units sold for each window of ``WINDOWS``.
IMPRESSIONS, CLICKS, COST_CENTS = 0, 1, 2
PURCHASES, SALES_CENTS, UNITS = 3, 7, 11
N_METRICS = 15
Metrics = tuple[int, ...]
ZERO: Metrics = (0,) * N_METRICS
# Index: ordinal % 7 (0 is Sunday): shoppers buy more at weekends.
_WEEKDAY = (108, 96, 93, 95, 99, 110, 116)
_PRODUCTS = (
    "stainless water bottle", "yoga mat", "usb-c charger", "cold brew coffee", "face serum",
    "trail backpack", "desk lamp", "dog chew toy", "rain jacket", "protein powder",
)

#: Advertising API region of each marketplace country (docs/api-reference.md §0/§3.1: NA
#: advertising-api.amazon.com, EU advertising-api-eu.amazon.com, FE
#: advertising-api-fe.amazon.com; the same grouping as Amazon's SP-API endpoints page,
#: developer-docs.amazon.com/sp-api/docs/sp-api-endpoints). A profile lives on one host only.
REGION_OF_COUNTRY: dict[str, str] = {
    **dict.fromkeys(("US", "CA", "MX", "BR"), "NA"),
    **dict.fromkeys(("UK", "GB", "IE", "ES", "FR", "BE", "NL", "DE", "IT", "SE", "ZA", "PL",
                     "SA", "EG", "TR", "AE", "IN"), "EU"),
    **dict.fromkeys(("SG", "AU", "JP"), "FE"),
}

#: Columns each supported (reportTypeId, level) may ask for (reporting v3 base metrics).
_METRIC_COLUMNS = frozenset(
    {"impressions", "clicks", "cost", "spend", "costPerClick", "clickThroughRate",
     "campaignBudgetCurrencyCode"}
    | {f"{m}{w}" for m in ("purchases", "sales", "unitsSoldClicks") for w in WINDOWS}
)
_TIME_COLUMNS = frozenset({"date", "startDate", "endDate"})
REPORT_COLUMNS: dict[str, frozenset[str]] = {
    "ad": _METRIC_COLUMNS | _TIME_COLUMNS | {
        "campaignId", "campaignName", "adGroupId", "adGroupName", "adId", "advertisedAsin",
        "advertisedSku", "campaignStatus"},
    "adGroup": _METRIC_COLUMNS | _TIME_COLUMNS | {
        "campaignId", "campaignName", "adGroupId", "adGroupName", "adStatus"},
    "campaign": _METRIC_COLUMNS | _TIME_COLUMNS | {
        "campaignId", "campaignName", "campaignStatus", "campaignBudgetAmount"},
}
#: Sponsored Brands and Sponsored Display campaign reports (``sbCampaigns`` /
#: ``sdCampaigns``, groupBy campaign): their conversions carry no window suffix
#: (``purchases``, ``sales``: 14 days, views included for SD), and they are part of the
#: console's account totals (reference §0; public v3 clients request these columns).
_OTHER_COLUMNS = frozenset({
    "impressions", "clicks", "cost", "purchases", "sales", "unitsSold", "purchasesClicks",
    "salesClicks", "campaignBudgetCurrencyCode", "campaignId", "campaignName",
    "campaignStatus"}) | _TIME_COLUMNS
REPORT_COLUMNS["sbCampaign"] = REPORT_COLUMNS["sdCampaign"] = _OTHER_COLUMNS
#: Ad-level reports: ``sbAds`` (groupBy ``ads``) and ``sdAdvertisedProduct`` (groupBy
#: ``advertiser``), bare conversion names as above (public v3 clients).
REPORT_COLUMNS["sbAd"] = _OTHER_COLUMNS | {"adGroupId", "adId"}
REPORT_COLUMNS["sdAd"] = _OTHER_COLUMNS | {"adGroupId", "adId", "promotedAsin"}
#: groupBy values per report type and the entity level each one reports.
GROUP_LEVELS: dict[str, dict[str, str]] = {
    "spAdvertisedProduct": {"advertiser": "ad"},
    "spCampaigns": {"campaign": "campaign", "adGroup": "adGroup"},
    "sbCampaigns": {"campaign": "sbCampaign"},
    "sdCampaigns": {"campaign": "sdCampaign"},
    "sbAds": {"ads": "sbAd"},
    "sdAdvertisedProduct": {"advertiser": "sdAd"},
}
#: The adProduct each report type belongs to.
AD_PRODUCTS = {"sp": "SPONSORED_PRODUCTS", "sb": "SPONSORED_BRANDS", "sd": "SPONSORED_DISPLAY"}


class AmazonProfile(msgspec.Struct, frozen=True):
    """One advertiser profile (the Scope header); ads = campaigns x ad groups x ads."""

    profile_id: str
    name: str
    country_code: str = "US"
    currency: str = "USD"
    timezone: str = "America/Los_Angeles"
    marketplace_id: str = "ATVPDKIKX0DER"
    account_type: str = "seller"
    n_campaigns: int = 3
    ad_groups_per_campaign: int = 2
    ads_per_ad_group: int = 2
    active_from: str = "2020-01-01"
    #: Sponsored Brands and Sponsored Display campaigns beside the Sponsored Products ones.
    sb_campaigns: int = 1
    sd_campaigns: int = 1

    def __post_init__(self) -> None:
        if not self.profile_id.isdigit():
            raise ValueError(f"profile_id must be digits: {self.profile_id!r}")
        dt.date.fromisoformat(self.active_from)

    @property
    def region(self) -> str:
        """The API region whose host serves this profile (NA, EU or FE)."""
        return REGION_OF_COUNTRY.get(self.country_code, "NA")

    def as_api(self) -> dict[str, Any]:
        """The ``GET /v2/profiles`` item (profileId is a JSON number, as documented)."""
        return {
            "profileId": int(self.profile_id), "countryCode": self.country_code,
            "currencyCode": self.currency, "dailyBudget": 999999999.0,
            "timezone": self.timezone,
            "accountInfo": {"marketplaceStringId": self.marketplace_id,
                            "id": f"ENTITY{int(self.profile_id):X}", "type": self.account_type,
                            "name": self.name, "validPaymentMethod": True},
        }


def default_profiles() -> list[AmazonProfile]:
    """Three North-America profiles: US, Canada (CAD) and a vendor in Mexico (MXN)."""
    return [
        AmazonProfile("3000000001", "Acme Outdoor US (sandbox)"),
        AmazonProfile("3000000002", "Acme Outdoor CA (sandbox)", country_code="CA",
                      currency="CAD", timezone="America/Toronto",
                      marketplace_id="A2EUQ1WTGCTBG2", n_campaigns=2),
        AmazonProfile("3000000003", "Northwind MX (sandbox)", country_code="MX",
                      currency="MXN", timezone="America/Mexico_City",
                      marketplace_id="A1AM78C64UM0Y8", account_type="vendor"),
    ]


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


class ProfileData(OtherProducts):
    """Generated campaigns, ad groups and ads of one profile and the per-(ad, day) oracle."""

    def __init__(self, profile: AmazonProfile, seed: int) -> None:
        self.profile = profile
        self.tz = zone(profile.timezone)
        self.active_from = dt.date.fromisoformat(profile.active_from).toordinal()
        pid = int(profile.profile_id)
        self._id_base = 100_000_000_000_000 + (pid % 1_000_000) * 100_000_000
        self._key = mix64((seed & _MASK) ^ mix64(pid))
        self.campaigns: list[Entity] = []
        self.ad_groups: list[Entity] = []
        self.ads: list[Entity] = []
        for c in range(profile.n_campaigns):
            product = _PRODUCTS[mix64(self._key + c * _GOLDEN) % len(_PRODUCTS)]
            name = f"SP | {product.title()} | Auto"
            self.campaigns.append(Entity(c, self._id(1, c), name, c, -1))
            for _ in range(profile.ad_groups_per_campaign):
                g = len(self.ad_groups)
                self.ad_groups.append(Entity(g, self._id(2, g), f"{product} | group {g + 1}", c, g))
                for _ in range(profile.ads_per_ad_group):
                    i = len(self.ads)
                    h = mix64(self._key ^ (i + 1) * 0xD1B54A32D192ED03)
                    asin = "B0" + base36(h, 8)
                    self.ads.append(Entity(i, self._id(3, i), product, c, g, asin,
                                           f"SKU-{product.replace(' ', '-')}-{i + 1}"))
        self._profiles = [self._ad_profile(i) for i in range(len(self.ads))]
        self._build_others(profile)

    def _id(self, kind: int, index: int) -> int:
        return self._id_base + kind * 10_000_000 + index

    def _ad_profile(self, i: int) -> tuple[int, int, int, int, int, int]:
        """Per-ad constants: (hash key, impressions, ctr bp, cpc cents, cvr bp, price cents)."""
        key = mix64(self._key ^ mix64(i + 0xA3A2))
        p = mix64(key)
        return (key, 200 + p % 4800, 20 + (p >> 16) % 180, 35 + (p >> 28) % 190,
                300 + (p >> 40) % 1500, 999 + (p >> 50) % 6000)

    def today(self) -> int:
        """Today's ordinal in the profile's time zone (reports hold nothing later)."""
        return dt.datetime.now(self.tz).date().toordinal()

    def span(self, since: int, until: int) -> range:
        """Days of ``since..until`` (ordinals) that can have data."""
        return range(max(since, self.active_from), min(until, self.today()) + 1)

    def ad_day(self, i: int, ordinal: int) -> Metrics:
        """Metrics of ad ``i`` on day ``ordinal``; one ad-day in ten has no activity."""
        if ordinal < self.active_from:
            return ZERO
        key, base, ctr_bp, cpc, cvr_bp, price = self._profiles[i]
        h = mix64((key + ordinal * _GOLDEN) & _MASK)
        if h % 10 == 0:
            return ZERO
        imp = base * (60 + (h >> 4 & 0xFF) % 81) * _WEEKDAY[ordinal % 7] // 10_000
        clicks = imp * ctr_bp * (50 + (h >> 12 & 0xFF) % 101) // 1_000_000
        cost = clicks * cpc * (80 + (h >> 20 & 0xFF) % 41) // 100
        p1 = (clicks * cvr_bp + (h >> 28 & 0xFFFF) % 10_000) // 10_000
        more = (h >> 44 & 3, h >> 46 & 1, h >> 47 & 1) if clicks else (0, 0, 0)
        purchases = (p1, p1 + more[0], p1 + more[0] + more[1], p1 + sum(more))
        sales = tuple(p * price * (90 + (h >> 48 & 0xFF) % 21) // 100 for p in purchases)
        units = tuple(p + p * (h >> 56 & 1) for p in purchases)
        return (imp, clicks, cost, *purchases, *sales, *units)

    def sum_days(self, ads: list[int] | range, days: range) -> Metrics:
        acc = [0] * N_METRICS
        for o in days:
            for i in ads:
                for k, v in enumerate(self.ad_day(i, o)):
                    acc[k] += v
        return tuple(acc)

    def ads_of(self, level: str, entity: Entity) -> list[int]:
        if level == "ad":
            return [entity.index]
        if level == "adGroup":
            return [a.index for a in self.ads if a.ad_group == entity.index]
        return [a.index for a in self.ads if a.campaign == entity.index]

    def entities(self, level: str) -> list[Entity]:
        return self.ads if level == "ad" else self.ad_groups if level == "adGroup" else \
            self.campaigns

    def rows(
        self, level: str, since: int, until: int, columns: list[str], daily: bool
    ) -> Iterator[dict[str, Any]]:
        """Report rows (only entities with impressions), by date then entity."""
        if level[:2] in self.other_ads:
            yield from self.other_rows(level, since, until, columns, daily)
            return
        days = self.span(since, until)
        members = [(e, self.ads_of(level, e)) for e in self.entities(level)]
        slices = [range(o, o + 1) for o in days] if daily else [days]
        for d in slices:
            for ent, ads in members:
                m = self.sum_days(ads, d)
                if m[IMPRESSIONS] > 0:
                    yield self._row(ent, level, m, d, since, until, columns)

    def _row(
        self, ent: Entity, level: str, m: Metrics, days: range, since: int, until: int,
        columns: list[str],
    ) -> dict[str, Any]:
        camp = self.campaigns[ent.campaign]
        group = self.ad_groups[ent.ad_group] if ent.ad_group >= 0 else None
        values: dict[str, Any] = {
            "date": dt.date.fromordinal(days.start).isoformat(),
            "startDate": dt.date.fromordinal(since).isoformat(),
            "endDate": dt.date.fromordinal(until).isoformat(),
            "campaignId": camp.id, "campaignName": camp.name, "campaignStatus": "ENABLED",
            "campaignBudgetAmount": 50.0, "campaignBudgetCurrencyCode": self.profile.currency,
            "impressions": m[IMPRESSIONS], "clicks": m[CLICKS],
            "cost": m[COST_CENTS] / 100, "spend": m[COST_CENTS] / 100,
            "costPerClick": round(m[COST_CENTS] / 100 / m[CLICKS], 2) if m[CLICKS] else 0.0,
            "clickThroughRate": round(m[CLICKS] / m[IMPRESSIONS], 4),
        }
        if group is not None:
            values.update(adGroupId=group.id, adGroupName=group.name, adStatus="ENABLED")
        if level == "ad":
            values.update(adId=ent.id, advertisedAsin=ent.asin, advertisedSku=ent.sku)
        for k, w in enumerate(WINDOWS):
            values[f"purchases{w}"] = m[PURCHASES + k]
            values[f"sales{w}"] = m[SALES_CENTS + k] / 100
            values[f"unitsSoldClicks{w}"] = m[UNITS + k]
        return {c: values[c] for c in columns}

    def totals(self, since: int, until: int, window: str = "7d") -> dict[str, Any]:
        """Sums over every ad and day of the range, money in cents and rounded units."""
        m = self.sum_days(range(len(self.ads)), self.span(since, until))
        k = WINDOWS.index(window)
        return {
            "impressions": m[IMPRESSIONS], "clicks": m[CLICKS],
            "spend": round(m[COST_CENTS] / 100, 2), "spend_cents": m[COST_CENTS],
            "purchases": m[PURCHASES + k], "sales": round(m[SALES_CENTS + k] / 100, 2),
            "sales_cents": m[SALES_CENTS + k], "units": m[UNITS + k],
        }
