"""Sponsored Brands and Sponsored Display for the Amazon emulator: campaigns, ads, reports.

Each profile has ``sb_campaigns`` / ``sd_campaigns`` campaigns of two ads each, with their
own per-(ad, day) metrics (``other_day``, the oracle), served as ``sbCampaigns`` /
``sdCampaigns`` (groupBy campaign) and ``sbAds`` (groupBy ads) / ``sdAdvertisedProduct``
(groupBy advertiser) report rows whose conversions carry no window suffix (``purchases``,
``sales``: 14 days), and SB ads with their headline creative for ``/sb/v4/ads/list``. They
are part of the console's account totals (``console_totals``; reference §0 "Metric
definitions"; report and column names as public reporting v3 clients send them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from within_daemon.sandbox.numbers import mix64

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_HEADLINE_PRODUCTS = ("water bottles", "yoga mats", "chargers", "cold brew", "serums",
                      "backpacks", "desk lamps", "chew toys", "rain jackets", "protein")


def base36(n: int, width: int) -> str:
    """``width`` base-36 digits of ``n`` (ASINs are ten upper-case letters and digits)."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(out)



@dataclass(frozen=True, slots=True)
class Entity:
    """A campaign, ad group or product ad with the ids a report row shows."""

    index: int
    id: int
    name: str
    campaign: int  # index of the campaign (itself for campaigns)
    ad_group: int  # index of the ad group (-1 for campaigns)
    asin: str = ""
    sku: str = ""


class ProfileFacts(Protocol):
    """What this half reads of ``data.AmazonProfile`` (no import: no cycle)."""

    @property
    def name(self) -> str: ...

    @property
    def currency(self) -> str: ...

    @property
    def sb_campaigns(self) -> int: ...

    @property
    def sd_campaigns(self) -> int: ...


class OtherProducts:
    """The SB/SD half of ``ProfileData``, its base class.

    It uses ``_key``, ``_id``, ``profile``, ``active_from``, ``span`` and ``totals`` of it.
    """

    profile: ProfileFacts
    _key: int
    active_from: int
    other_campaigns: dict[str, list[Entity]]
    other_ads: dict[str, list[Entity]]

    def _id(self, kind: int, index: int) -> int:
        raise NotImplementedError

    def span(self, since: int, until: int) -> range:
        raise NotImplementedError

    def totals(self, since: int, until: int, window: str = "7d") -> dict[str, Any]:
        raise NotImplementedError

    def _build_others(self, profile: ProfileFacts) -> None:
        #: Sponsored Brands ("sb") and Display ("sd") campaigns and their ads (two each);
        #: an ad's ``campaign`` is its campaign's index in the same product's list.
        self.other_campaigns = {}
        self.other_ads = {}
        for product, kind, n in (("sb", 5, profile.sb_campaigns), ("sd", 6, profile.sd_campaigns)):
            camps = [Entity(c, self._id(kind, c), f"{product.upper()} | campaign {c + 1}", c, -1)
                     for c in range(n)]
            ads = [Entity(i, self._id(kind + 2, i), f"{product.upper()} ad {i + 1}", i // 2, -1,
                          "B0" + base36(mix64(self._key ^ (i + 77) * kind), 8))
                   for i in range(2 * n)]
            self.other_campaigns[product], self.other_ads[product] = camps, ads

    def other_day(self, product: str, i: int, ordinal: int) -> tuple[int, int, int, int, int]:
        """An SB/SD ad's day: impressions, clicks, cost cents, purchases, sales cents."""
        if ordinal < self.active_from:
            return (0, 0, 0, 0, 0)
        h = mix64(self._key + (1 if product == "sb" else 2) * 0x9E37 + i * 131
                  + ordinal * _GOLDEN & _MASK)
        imp = 300 + h % 2500
        clicks = imp * (20 + (h >> 12) % 80) // 10_000
        cost = clicks * (60 + (h >> 20) % 140)
        purchases = clicks * (200 + (h >> 28) % 800) // 10_000
        return (imp, clicks, cost, purchases, purchases * (1500 + (h >> 40) % 4000))

    def sb_creative(self, ad: Entity) -> dict[str, Any]:
        """The ``/sb/v4/ads/list`` item of an SB ad: its headline creative and landing page."""
        brand = self.profile.name.split(" (")[0]
        product = _HEADLINE_PRODUCTS[ad.index % len(_HEADLINE_PRODUCTS)]
        return {
            "adId": str(ad.id), "name": ad.name, "state": "ENABLED",
            "campaignId": str(self.other_campaigns["sb"][ad.campaign].id),
            "adGroupId": str(self.other_campaigns["sb"][ad.campaign].id + 5_000_000),
            "creative": {"type": "PRODUCT_COLLECTION", "brandName": brand,
                         "headline": f"{brand}: {product} for every trail",
                         "asins": [ad.asin]},
            "landingPage": {"pageType": "STORE",
                            "url": f"https://www.amazon.com/stores/page/{ad.id}"},
        }

    def other_rows(self, level: str, since: int, until: int, columns: list[str],
                   daily: bool) -> Iterator[dict[str, Any]]:
        """Rows of an SB/SD campaign or ad report (with impressions), by date then entity."""
        product, per_ad = level[:2], level.endswith("Ad")
        days = self.span(since, until)
        ents = self.other_ads[product] if per_ad else self.other_campaigns[product]
        for d in ([range(o, o + 1) for o in days] if daily else [days]):
            for ent in ents:
                members = [ent] if per_ad else [
                    a for a in self.other_ads[product] if a.campaign == ent.index]
                m = [0] * 5
                for a in members:
                    for o in d:
                        for k, v in enumerate(self.other_day(product, a.index, o)):
                            m[k] += v
                if m[0] <= 0:
                    continue
                camp = self.other_campaigns[product][ent.campaign if per_ad else ent.index]
                values: dict[str, Any] = {
                    "date": dt.date.fromordinal(d.start).isoformat(),
                    "startDate": dt.date.fromordinal(since).isoformat(),
                    "endDate": dt.date.fromordinal(until).isoformat(),
                    "campaignId": camp.id, "campaignName": camp.name, "campaignStatus": "ENABLED",
                    "adGroupId": camp.id + 5_000_000, "adId": ent.id, "promotedAsin": ent.asin,
                    "campaignBudgetCurrencyCode": self.profile.currency,
                    "impressions": m[0], "clicks": m[1], "cost": m[2] / 100,
                    "purchases": m[3], "sales": m[4] / 100, "unitsSold": m[3],
                    "purchasesClicks": m[3], "salesClicks": m[4] / 100,
                }
                yield {c: values[c] for c in columns}

    def console_totals(self, since: int, until: int, window: str = "7d") -> dict[str, Any]:
        """What the console's account totals show: SP (``window``) + SB + SD (14 days)."""
        out = self.totals(since, until, window)
        for product, ads in self.other_ads.items():
            for ad in ads:
                for o in self.span(since, until):
                    imp, clk, cost, pur, sales = self.other_day(product, ad.index, o)
                    out["impressions"] += imp
                    out["clicks"] += clk
                    out["spend_cents"] += cost
                    out["purchases"] += pur
                    out["sales_cents"] += sales
        out["spend"] = round(out["spend_cents"] / 100, 2)
        out["sales"] = round(out["sales_cents"] / 100, 2)
        return out


def sb_ads_page(items: list[dict[str, Any]], body: Any) -> dict[str, Any]:
    """One page of ``POST /sb/v4/ads/list``: Sponsored Brands ads with their creative.

    Each ad carries its creative (headline, brand, ASINs) and landing page, ``maxResults``
    per page with ``nextToken`` (Amazon Ads API, Sponsored Brands v4
    "ListSponsoredBrandsAds"; content type ``application/vnd.sbadresource.v4+json``).
    """
    size = int(body.get("maxResults") or 100) if isinstance(body, dict) else 100
    start = int(body.get("nextToken") or 0) if isinstance(body, dict) else 0
    page: dict[str, Any] = {"ads": items[start:start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page
