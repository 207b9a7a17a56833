"""Deterministic Google Ads customers for the sandbox: entities, metrics and the oracle.

A ``SandboxCustomer`` expands into campaigns, ad groups and responsive search ads whose
daily metrics come from one integer hash per (ad, day) (``mix64``, shared with the Facebook
sandbox), so a test can ask the oracle (``expected_rows`` / ``expected_totals`` /
``expected_active``) what a complete pull must return without storing any rows.

Money is generated in cents and served as ``costMicros`` (cents x 10,000), conversions in
hundredths (served as doubles such as ``2.57``), so sums are exact. ``metrics.conversions``
is a double in the real API: data-driven attribution credits fractions of a conversion to
each ad ("Conversions" metric reference, developers.google.com/google-ads/api/fields/
latest/metrics#conversions: type DOUBLE; docs/api-reference.md §0), and the customer total is the
sum
of those fractions, so the oracle's totals are the exact fractional sums. Ad-days without
impressions have no row at all, and zero metrics are left out of a row, as proto3 JSON does
(docs/api-reference.md §2.4).

Performance Max: a customer has ``pmax_campaigns`` (one by default) whose spend counts in the
``customer`` and ``campaign`` totals but which has no ``ad_group_ad`` rows at all, as Google
documents: PMax campaigns "don't have standard AdGroup and AdGroupAd entities ...
querying resources such as ad_group or ad_group_ad won't return any data for your
Performance Max campaigns"
(developers.google.com/google-ads/api/performance-max/reporting;
docs/api-reference.md §0). Their metrics are at ``campaign`` level
(``campaign.advertising_channel_type = 'PERFORMANCE_MAX'``). ``expected_totals`` sums ads
and PMax, as the customer row does.

The GAQL subset the emulator runs over these customers is in ``search``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from within_daemon.sandbox.google.gaql import parse_gaql as parse_gaql  # kept importable here
from within_daemon.sandbox.numbers import mix64

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
#: One ad-day: impressions, clicks, cost in micros, conversions x 100, value in cents.
Metrics = tuple[int, int, int, int, int]
ZERO: Metrics = (0, 0, 0, 0, 0)

_PRODUCTS = ("trail shoes", "espresso beans", "rain jackets", "yoga mats", "desk lamps",
             "wool socks", "tea sets", "bike lights")
_HEADLINES = ("Shop {P} Online", "{P} On Sale Today", "Free Delivery On {P}",
              "Top Rated {P}", "New {P} Range", "{P} From $19")
_DESCRIPTIONS = ("Order today and get free returns on every {p} order.",
                 "Hand-picked {p}, shipped in 24 hours. Rated 4.8 by customers.",
                 "Save up to 30% on {p} this week only. Limited stock.")


class SandboxCustomer(msgspec.Struct, frozen=True):
    """One fake Google Ads customer; ``manager_id`` makes it reachable only via that MCC."""

    customer_id: str
    name: str
    currency: str = "USD"
    time_zone: str = "America/New_York"
    n_campaigns: int = 2
    ad_groups_per_campaign: int = 2
    ads_per_ad_group: int = 3
    active_from: str = "2024-01-01"
    active_to: str | None = None
    manager_id: str | None = None
    #: Performance Max campaigns: campaign-level metrics only, no ad_group_ad rows.
    pmax_campaigns: int = 1
    #: Click-through window (days) of the customer's primary purchase action; 30 is Google's
    #: default, up to 90 (reference §0 "Metric definitions").
    conversion_window_days: int = 30

    def __post_init__(self) -> None:
        if not (self.customer_id.isdigit() and len(self.customer_id) == 10):
            raise ValueError(f"customer_id must be 10 digits: {self.customer_id!r}")
        dt.date.fromisoformat(self.active_from)


def default_customers() -> list[SandboxCustomer]:
    """Two customers: one direct, one under a manager account (login-customer-id needed)."""
    return [
        SandboxCustomer("5550000001", "Pinecrest Outfitters (sandbox)"),
        SandboxCustomer("5550000002", "Harbor Roasters (sandbox)", currency="EUR",
                        time_zone="Europe/Berlin", manager_id="5559999999"),
    ]


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


class CustomerData:
    """Entities and the per-(ad, day) metric oracle of one customer."""

    def __init__(self, customer: SandboxCustomer, seed: int) -> None:
        self.customer = customer
        self.tz = _zone(customer.time_zone)
        self.active_from = dt.date.fromisoformat(customer.active_from).toordinal()
        self.active_to = (dt.date.fromisoformat(customer.active_to).toordinal()
                          if customer.active_to else None)
        cid = int(customer.customer_id)
        self._key = mix64((seed & _MASK) ^ mix64(cid))
        self.attrs: list[dict[str, Any]] = []
        self._profiles: list[tuple[int, int, int, int, int, int]] = []
        self.campaign_of: list[int] = []
        cust = {"customer.id": cid, "customer.descriptive_name": customer.name,
                "customer.currency_code": customer.currency,
                "customer.time_zone": customer.time_zone,
                "customer.resource_name": f"customers/{cid}"}
        self.customer_attrs = cust
        base = (cid % 1000) * 1_000_000
        #: Campaign rows: attributes and the metric profiles they sum (search: their ads).
        self.campaigns: list[tuple[dict[str, Any], tuple[int, ...]]] = []
        for c in range(customer.n_campaigns):
            camp_id = 21_000_000_000 + base + c
            product = _PRODUCTS[mix64(self._key + c) % len(_PRODUCTS)]
            first = len(self.attrs)
            for g in range(customer.ad_groups_per_campaign):
                gi = c * customer.ad_groups_per_campaign + g
                group_id = 140_000_000_000 + base + gi
                for _ in range(customer.ads_per_ad_group):
                    self._add_ad(cust, c, camp_id, group_id, product)
            self.campaigns.append((_campaign(cust, camp_id, f"Search | {product.title()}",
                                             "SEARCH"), tuple(range(first, len(self.attrs)))))
        for k in range(customer.pmax_campaigns):
            camp_id = 21_000_000_000 + base + 900 + k
            self.campaigns.append((_campaign(cust, camp_id, f"PMax | All products {k + 1}",
                                             "PERFORMANCE_MAX"), (len(self._profiles),)))
            self._profiles.append(self._profile(len(self._profiles), scale=4))
        self.pmax_campaign_ids = [int(a["campaign.id"]) for a, _ in self.campaigns
                                  if a["campaign.advertising_channel_type"] == "PERFORMANCE_MAX"]

    def _add_ad(self, cust: dict[str, Any], c: int, camp_id: int, group_id: int,
                product: str) -> None:
        i = len(self.attrs)
        h = mix64(self._key + (i + 1) * 0xD1B54A32D192ED03)
        ad_id = 670_000_000_000 + (int(self.customer.customer_id) % 1000) * 1_000_000 + i
        cid = cust["customer.id"]
        heads = [{"text": _HEADLINES[(h + k) % len(_HEADLINES)].format(P=product.title())}
                 for k in range(3 + h % 3)]
        heads[0]["pinnedField"] = "HEADLINE_1"
        descs = [{"text": _DESCRIPTIONS[(h // 7 + k) % len(_DESCRIPTIONS)].format(p=product)}
                 for k in range(2)]
        slug = product.replace(" ", "-")
        status = "REMOVED" if h % 16 == 5 else "PAUSED" if h % 8 == 3 else "ENABLED"
        self.attrs.append({
            **cust,
            "campaign.id": camp_id, "campaign.name": f"Search | {product.title()}",
            "campaign.status": "ENABLED", "campaign.resource_name":
                f"customers/{cid}/campaigns/{camp_id}",
            "ad_group.id": group_id, "ad_group.name": f"{product.title()} | exact",
            "ad_group.status": "ENABLED",
            "ad_group.resource_name": f"customers/{cid}/adGroups/{group_id}",
            "ad_group_ad.status": status, "ad_group_ad.ad.id": ad_id,
            "ad_group_ad.resource_name": f"customers/{cid}/adGroupAds/{group_id}~{ad_id}",
            "ad_group_ad.ad.type": "RESPONSIVE_SEARCH_AD",
            "ad_group_ad.ad.final_urls": [f"https://shop.example.test/{slug}?gad={ad_id}"],
            "ad_group_ad.ad.responsive_search_ad.headlines": heads,
            "ad_group_ad.ad.responsive_search_ad.descriptions": descs,
            "ad_group_ad.ad.responsive_search_ad.path1": slug[:15],
        })
        self.campaign_of.append(c)
        self._profiles.append(self._profile(i))

    def _profile(self, i: int, scale: int = 1) -> tuple[int, int, int, int, int, int]:
        """The metric profile of entity ``i`` (an ad, or a PMax campaign after the ads)."""
        p = mix64(mix64(self._key + (i + 1) * 0xD1B54A32D192ED03))
        return (
            mix64(self._key ^ mix64(i + 0x6A09)),
            (20 + p % 1500) * scale,  # impressions per day before noise
            50 + (p >> 16) % 750,  # ctr in basis points: 0.5 % .. 8 %
            30 + (p >> 28) % 270,  # cost per click in cents
            (p >> 40) % 1500,  # conversions per click, basis points
            1500 + (p >> 52) % 9000,  # value per conversion in cents
        )

    @property
    def n_ads(self) -> int:
        return len(self.attrs)

    @property
    def n_profiles(self) -> int:
        """Ads and PMax campaigns: every entity with metrics of its own."""
        return len(self._profiles)

    def ad_day(self, i: int, ordinal: int) -> Metrics:
        """Metrics of ad ``i`` on day ``ordinal``: the oracle every query sums from."""
        if ordinal < self.active_from or (self.active_to is not None and ordinal > self.active_to):
            return ZERO
        key, base, ctr_bp, cpc, cvr_bp, aov = self._profiles[i]
        h = mix64((key + ordinal * _GOLDEN) & _MASK)
        if h % 13 == 0:
            return ZERO  # no delivery that day: no row
        imp = base * (50 + (h >> 8) % 101) // 100
        clicks = imp * ctr_bp * (50 + (h >> 16 & 0xFF) % 101) // 1_000_000
        if (h >> 56) % 9 == 0:
            clicks = 0  # seen but not clicked: cost and conversions are left out
        cost_cents = clicks * cpc * (70 + (h >> 24 & 0xFF) % 61) // 100
        conv = (clicks * cvr_bp + (h >> 32 & 0xFFFF) % 10_000) // 100 if clicks else 0
        value = conv * aov * (80 + (h >> 48 & 0xFF) % 41) // 10_000
        return (imp, clicks, cost_cents * 10_000, conv, value)

    def today(self) -> int:
        return dt.datetime.now(self.tz).date().toordinal()

    def span(self, lo: int, hi: int) -> range:
        """Days of ``lo..hi`` that can have data (inside the active period, not after today)."""
        top = min(hi, self.today())
        if self.active_to is not None:
            top = min(top, self.active_to)
        return range(max(lo, self.active_from), top + 1)


def _campaign(cust: dict[str, Any], camp_id: int, name: str, channel: str) -> dict[str, Any]:
    return {**cust, "campaign.id": camp_id, "campaign.name": name, "campaign.status": "ENABLED",
            "campaign.resource_name": f"customers/{cust['customer.id']}/campaigns/{camp_id}",
            "campaign.advertising_channel_type": channel}


def sum_days(data: CustomerData, ads: range | tuple[int, ...], days: range) -> Metrics:
    acc = [0, 0, 0, 0, 0]
    for o in days:
        for i in ads:
            m = data.ad_day(i, o)
            for k in range(5):
                acc[k] += m[k]
    return (acc[0], acc[1], acc[2], acc[3], acc[4])


def expected_totals(data: CustomerData, since: str, until: str) -> dict[str, Any]:
    """Sums over a range: what a complete pull's rows (ads and PMax campaigns) add up to.

    The sums are the customer's own totals. ``rows`` counts every row loaded: ``ad_rows``
    ad-days plus ``pmax_rows`` PMax campaign-days; ``active`` is, per day, the campaigns
    (PMax included) and the ads with impressions.
    """
    days = data.span(dt.date.fromisoformat(since).toordinal(),
                     dt.date.fromisoformat(until).toordinal())
    tot = sum_days(data, range(data.n_profiles), days)
    ad_rows = pmax_rows = 0
    active: dict[str, tuple[int, int]] = {}
    for o in days:
        camps: set[int] = set()
        n_ads = 0
        for i in range(data.n_profiles):
            if data.ad_day(i, o)[0] <= 0:
                continue
            if i < data.n_ads:
                ad_rows += 1
                n_ads += 1
                camps.add(data.campaign_of[i])
            else:
                pmax_rows += 1
                camps.add(-1 - i)
        if camps:
            active[dt.date.fromordinal(o).isoformat()] = (len(camps), n_ads)
    return {
        "rows": ad_rows + pmax_rows, "ad_rows": ad_rows, "pmax_rows": pmax_rows,
        "impressions": tot[0], "clicks": tot[1], "cost_micros": tot[2],
        "spend": round(tot[2] / 1_000_000, 2), "conversions": tot[3] / 100,
        "conversions_value": round(tot[4] / 100, 2), "days": len(active), "active": active,
    }
