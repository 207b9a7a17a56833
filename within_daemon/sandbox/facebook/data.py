"""Deterministic fake ad accounts for the Facebook emulator: entities, creatives and metrics.

Everything here is a pure function of ``(seed, account, index, day)``: two emulators built
with the same accounts and seed serve byte-identical data, so tests can compute the exact
rows and totals a correct pull must load (``AccountData.ad_day`` is the single oracle).
Metrics come from one 64-bit integer mix per (ad, day) and integer arithmetic only, because
the emulator must generate rows far faster than the daemon can load them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from within_daemon.sandbox.numbers import mix64

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

#: Tuple layout of one metrics sample (ad-day or a sum of them).
#: ``WEB_PURCHASES`` / ``WEB_VALUE_CENTS`` are the website part of the purchases (the rest
#: happen on Meta), kept per ad-day so that every level's website purchases are exact sums.
(IMPRESSIONS, CLICKS, SPEND_CENTS, REACH, LINK_CLICKS, PURCHASES, VALUE_CENTS, LEADS,
 WEB_PURCHASES, WEB_VALUE_CENTS) = range(10)
N_METRICS = 10
Metrics = tuple[int, int, int, int, int, int, int, int, int, int]
ZERO: Metrics = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

# Weekends get more impressions, as consumer-retail accounts usually do (index: ordinal % 7,
# so index 0 is Sunday and 6 is Saturday).
_WEEKDAY_FACTOR = (105, 95, 92, 94, 98, 112, 118)

_PRODUCTS = (
    "running shoes", "yoga mats", "wireless earbuds", "coffee beans", "skincare sets",
    "hiking backpacks", "standing desks", "water bottles", "rain jackets", "protein bars",
    "desk lamps", "pet beds", "smart watches", "linen sheets", "trail socks", "chef knives",
)
_HEADLINES = (
    "Summer Sale: {pct}% off {product}",
    "New arrivals: {product} for every day",
    "Free shipping on all {product}",
    "{Product} that last all season",
    "Last chance: {pct}% off {product}",
    "Meet the {product} everyone talks about",
    "Upgrade your routine with our {product}",
    "Bestselling {product}, back in stock",
)
_BODIES = (
    "Rated 4.8/5 by over 10,000 customers. Order today and try them for 30 days.",
    "Designed in-house, made to last. Free returns on every order.",
    "Our most popular picks are back. Limited quantities, ships in 24 hours.",
    "Join thousands of happy customers. Members save an extra 10%.",
    "Better materials, fair prices, no middlemen. See the full range.",
)
# Short ad-name angles, one per headline template (same index).
_ANGLES = (
    "Summer Sale", "New Arrivals", "Free Shipping", "Evergreen", "Last Chance", "Social Proof",
    "Routine", "Back in Stock",
)
_CTAS = ("SHOP_NOW", "LEARN_MORE", "SIGN_UP", "SHOP_NOW", "GET_OFFER", "ORDER_NOW", "SUBSCRIBE")
_OBJECTIVES = ("OUTCOME_SALES", "OUTCOME_TRAFFIC", "OUTCOME_LEADS", "OUTCOME_SALES")
GOALS = {
    "OUTCOME_SALES": "OFFSITE_CONVERSIONS",
    "OUTCOME_TRAFFIC": "LINK_CLICKS",
    "OUTCOME_LEADS": "LEAD_GENERATION",
}
#: Ad set attribution settings, by ad set index. Since 10 June 2025 insights report each ad
#: set's own setting (the ``attribution_setting`` field), as Ads Manager does, and ignore
#: ``action_attribution_windows`` (reference §0; Meta insights best practices).
ATTRIBUTION_SETTINGS = ("7d_click_1d_view", "1d_click", "7d_click_1d_view", "7d_click")
_SPEC_EVENT = {"click": "CLICK_THROUGH", "view": "VIEW_THROUGH"}
_SPEC_PARTS = {
    "7d_click_1d_view": ("7d_click", "1d_view"), "1d_click": ("1d_click",),
    "7d_click": ("7d_click",),
}
_AUDIENCES = (
    "US 18-34 | Broad", "US 25-54 | Lookalike 1%", "US 35-65 | Interests", "Retargeting 30d",
)


class SandboxAccount(msgspec.Struct, frozen=True):
    """One fake ad account; the ad count is campaigns x adsets x ads, capped by ``max_ads``."""

    account_id: str
    name: str
    currency: str = "USD"
    timezone_name: str = "America/Los_Angeles"
    n_campaigns: int = 3
    adsets_per_campaign: int = 2
    ads_per_adset: int = 3
    active_from: str = "2020-01-01"
    active_to: str | None = None
    max_ads: int | None = None
    #: Default percentage reported in the usage headers.
    usage_pct: float = 5.0
    #: The last ``deleted_ads`` ads are DELETED and the ``archived_ads`` before them
    #: ARCHIVED (removed after the days they delivered on): Graph hides them from ad-level
    #: insights and the ads edge unless asked, while account totals still count them.
    deleted_ads: int = 0
    archived_ads: int = 0

    def __post_init__(self) -> None:
        if not self.account_id.isdigit():
            raise ValueError(f"account_id must be digits without 'act_': {self.account_id!r}")
        dt.date.fromisoformat(self.active_from)
        if self.active_to is not None:
            dt.date.fromisoformat(self.active_to)

    @property
    def n_ads(self) -> int:
        full = self.n_campaigns * self.adsets_per_campaign * self.ads_per_adset
        return full if self.max_ads is None else min(full, self.max_ads)

    @classmethod
    def with_ads(cls, account_id: str, name: str, n_ads: int, **kw: Any) -> SandboxAccount:
        """An account with exactly ``n_ads`` ads (4 adsets of 5 ads per campaign)."""
        per_campaign = 20
        return cls(
            account_id, name, n_campaigns=max(1, -(-n_ads // per_campaign)),
            adsets_per_campaign=4, ads_per_adset=5, max_ads=n_ads, **kw,
        )


def default_accounts() -> list[SandboxAccount]:
    """Three small accounts: two long-running, one that started in 2024."""
    return [
        SandboxAccount("1000000001", "Acme Outdoor (sandbox)"),
        SandboxAccount("1000000002", "Blue Kettle Coffee (sandbox)", n_campaigns=2,
                       deleted_ads=1, archived_ads=1),
        SandboxAccount(
            "1000000003", "Northwind Skincare (sandbox)",
            timezone_name="America/New_York", active_from="2024-03-01",
        ),
    ]


#: Days after which Meta stops changing a day's insights.
SETTLE_DAYS = 28


def seen_share(age: int) -> int:
    """Percent of a day's final purchases reported when the day is ``age`` days old."""
    return 100 if age >= SETTLE_DAYS else 70 + max(age, 0)


def as_metrics(acc: list[int]) -> Metrics:
    """A list of ``N_METRICS`` sums as a ``Metrics`` tuple."""
    a, b, c, d, e, f, g, h, i, j = acc
    return (a, b, c, d, e, f, g, h, i, j)


def graph_time(day: dt.date, seconds: int, tz: dt.tzinfo) -> str:
    """Graph timestamp such as ``2023-03-17T08:04:31-0700`` (local time with offset)."""
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=tz) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A host without tzdata still gets plausible timestamps rather than a crash.
        return dt.timezone(dt.timedelta(hours=-7))


@dataclass(frozen=True, slots=True)
class Entity:
    """A campaign, ad set or ad: ids, names and the Graph object the ``/ads`` edge serves."""

    index: int
    id: str
    name: str
    parent: int  # campaign index for ad sets, ad set index for ads, -1 for campaigns
    graph: dict[str, Any]


class AccountData:
    """The generated entities and the per-(ad, day) metric oracle of one account."""

    def __init__(self, account: SandboxAccount, seed: int,
                 image_base: str = "https://cdn.example.test") -> None:
        self.account = account
        self.seed = seed
        #: Where creative images live; the demo points it at its local image server.
        self.image_base = image_base.rstrip("/")
        self.tz = _zone(account.timezone_name)
        self.active_from = dt.date.fromisoformat(account.active_from).toordinal()
        self.active_to = (
            dt.date.fromisoformat(account.active_to).toordinal() if account.active_to else None
        )
        acct_num = int(account.account_id)
        # Ids: same length within an account, so string order == numeric order == index
        # order, which keeps "sorted by ad id" trivially consistent.
        self._id_base = 23850000000000000 + (acct_num % 10_000_000) * 100_000_000
        self._acct_key = mix64((seed & _MASK) ^ mix64(acct_num))
        self.campaigns: list[Entity] = []
        self.adsets: list[Entity] = []
        self.ads: list[Entity] = []
        self._build()
        self._profiles = [self._profile(ad.index) for ad in self.ads]
        #: Scratch space for derived per-account caches (see ``InsightsTable``).
        self.memo: dict[Any, Any] = {}
        #: With a day ordinal, purchases are served as seen on that day: Meta keeps
        #: crediting conversions to past days until they are 28 days old (reference §0,
        #: "insights stop changing after 28 days"), so a young day shows only part of its
        #: final purchases. None (the default) serves every day settled.
        self.as_of: int | None = None

    # -- entities ---------------------------------------------------------------------------

    def _id(self, kind: int, index: int) -> str:
        return str(self._id_base + kind * 10_000_000 + index)

    def _build(self) -> None:
        acct = self.account
        start = dt.date.fromordinal(self.active_from)
        for c in range(acct.n_campaigns):
            if len(self.ads) >= acct.n_ads:
                break
            h = mix64(self._acct_key + c * _GOLDEN)
            product = _PRODUCTS[h % len(_PRODUCTS)]
            objective = _OBJECTIVES[c % len(_OBJECTIVES)]
            cstatus = "PAUSED" if c % 5 == 4 else "ACTIVE"
            camp = Entity(c, self._id(1, c), f"{objective.title()[8:]} | {product.title()}", -1, {
                "id": self._id(1, c), "name": "", "objective": objective, "status": cstatus,
            })
            camp.graph["name"] = camp.name
            self.campaigns.append(camp)
            for _ in range(acct.adsets_per_campaign):
                if len(self.ads) >= acct.n_ads:
                    break
                self._add_adset(camp, product, start)

    def _add_adset(self, camp: Entity, product: str, start: dt.date) -> None:
        acct = self.account
        a = len(self.adsets)
        h = mix64(self._acct_key ^ (a + 1) * _GOLDEN)
        aset_id = self._id(2, a)
        # Ad sets start shortly before the account's first active day, so every metric day
        # falls inside an ad set's life; some have a scheduled end.
        begin = start - dt.timedelta(days=1 + h % 30)
        graph: dict[str, Any] = {
            "id": aset_id,
            "name": f"{_AUDIENCES[a % len(_AUDIENCES)]} | {product}",
            "campaign_id": camp.id,
            "status": "PAUSED" if a % 7 == 6 else "ACTIVE",
            "optimization_goal": GOALS[camp.graph["objective"]],
            "start_time": graph_time(begin, (h >> 8) % 86400, self.tz),
            "daily_budget": str(2000 + (h >> 20) % 50 * 500),
        }
        setting = ATTRIBUTION_SETTINGS[a % len(ATTRIBUTION_SETTINGS)]
        graph["attribution_spec"] = [
            {"event_type": _SPEC_EVENT[kind], "window_days": int(days[:-1])}
            for days, kind in (part.split("_") for part in _SPEC_PARTS[setting])
        ]
        if a % 4 == 3:
            graph["end_time"] = graph_time(begin + dt.timedelta(days=400 + a * 13), 0, self.tz)
        aset = Entity(a, aset_id, graph["name"], camp.index, graph)
        self.adsets.append(aset)
        for _ in range(acct.ads_per_adset):
            if len(self.ads) >= acct.n_ads:
                break
            self._add_ad(camp, aset, product, begin)

    def _add_ad(self, camp: Entity, aset: Entity, product: str, begin: dt.date) -> None:
        i = len(self.ads)
        h = mix64(self._acct_key + (i + 1) * 0xD1B54A32D192ED03)
        ad_id = self._id(3, i)
        pct = (10, 15, 20, 25, 30, 40)[(h >> 4) % 6]
        template = h % len(_HEADLINES)
        headline = _HEADLINES[template].format(
            pct=pct, product=product, Product=product.capitalize()
        )
        body = _BODIES[(h >> 12) % len(_BODIES)]
        cta = _CTAS[(h >> 16) % len(_CTAS)]
        slug = product.replace(" ", "-")
        link = f"https://shop.example.test/{slug}?utm_source=facebook&utm_campaign={camp.id}"
        image = f"{self.image_base}/img/{ad_id}.jpg"
        page_id = str(100_000_000_000_000 + int(self.account.account_id) % 10_000_000)
        cta_obj = {"type": cta, "value": {"link": link}}
        creative: dict[str, Any] = {
            "id": self._id(4, i), "name": f"{headline} - creative", "title": headline,
            "body": body, "call_to_action_type": cta, "image_url": image,
            "thumbnail_url": f"https://cdn.example.test/thumb/{ad_id}.jpg", "link_url": link,
        }
        if (h >> 24) % 4 == 0:
            # Video ads describe themselves with video_data, as real video creatives do.
            video_id = str(500_000_000_000_000 + (self._id_base // 1000) % 10**12 + i)
            creative["video_id"] = video_id
            creative["object_story_spec"] = {"page_id": page_id, "video_data": {
                "video_id": video_id, "image_url": image, "title": headline,
                "message": body, "call_to_action": cta_obj,
            }}
        else:
            creative["object_story_spec"] = {"page_id": page_id, "link_data": {
                "link": link, "message": body, "name": headline, "picture": image,
                "call_to_action": cta_obj,
            }}
        status = "PAUSED" if (h >> 28) % 8 == 0 else "ACTIVE"
        effective = status
        if status == "ACTIVE" and aset.graph["status"] == "PAUSED":
            effective = "ADSET_PAUSED"
        if status == "ACTIVE" and camp.graph["status"] == "PAUSED":
            effective = "CAMPAIGN_PAUSED"
        removed_from = self.account.n_ads - self.account.deleted_ads
        if i >= removed_from:
            status = effective = "DELETED"
        elif i >= removed_from - self.account.archived_ads:
            status = effective = "ARCHIVED"
        created = graph_time(begin, 3600 + (h >> 32) % 70000, self.tz)
        name = f"{product.title()} | {_ANGLES[template]} | v{i % 3 + 1}"
        graph = {
            "id": ad_id, "name": name, "account_id": self.account.account_id,
            "campaign_id": camp.id, "adset_id": aset.id, "status": status,
            "effective_status": effective, "bid_type": "ABSOLUTE_OCPM",
            "created_time": created, "updated_time": created,
            "creative": creative, "adset": aset.graph, "campaign": camp.graph,
        }
        self.ads.append(Entity(i, ad_id, name, aset.index, graph))

    # -- metrics ----------------------------------------------------------------------------

    def _profile(self, i: int) -> tuple[int, int, int, int, int, int, int]:
        """Per-ad constants: (hash key, base impressions, ctr bp, cpm cents, cvr bp, aov, lead)."""
        key = mix64(self._acct_key ^ mix64(i + 0x51ED))
        p = mix64(key)
        campaign = self.campaigns[self.adsets[self.ads[i].parent].parent]
        lead = 1 if campaign.graph["objective"] == "OUTCOME_LEADS" else 0
        return (
            key,
            300 + p % 5700,  # impressions per day before noise
            30 + (p >> 16) % 220,  # ctr in basis points: 0.3 % .. 2.5 %
            400 + (p >> 28) % 2100,  # cpm: $4 .. $25
            (p >> 40) % 800,  # purchases per link click, basis points
            2000 + (p >> 50) % 13000,  # average order value in cents
            lead,
        )

    def is_active(self, ordinal: int) -> bool:
        return ordinal >= self.active_from and (self.active_to is None or ordinal <= self.active_to)

    def active_span(self, since: int, until: int) -> tuple[int, int]:
        """The part of ``[since, until]`` (ordinals) inside the active period; may be empty."""
        lo = max(since, self.active_from)
        hi = until if self.active_to is None else min(until, self.active_to)
        return lo, hi

    def ad_day(self, i: int, ordinal: int) -> Metrics:
        """Metrics of ad ``i`` on day ``ordinal``; the oracle every level is summed from."""
        key, base, ctr_bp, cpm, cvr_bp, aov, lead = self._profiles[i]
        h = mix64((key + ordinal * _GOLDEN) & _MASK)
        impressions = base * (60 + (h & 0xFF) % 81) * _WEEKDAY_FACTOR[ordinal % 7] // 10_000
        clicks = impressions * ctr_bp * (50 + (h >> 8 & 0xFF) % 101) // 1_000_000
        spend = impressions * cpm * (80 + (h >> 16 & 0xFF) % 41) // 100_000
        reach = max(1, impressions * (55 + (h >> 24 & 0xFF) % 40) // 100)
        link_clicks = clicks * (70 + (h >> 32 & 0xFF) % 31) // 100
        # Probabilistic rounding keeps small daily counts realistic (mostly 0, 1 or 2).
        purchases = (link_clicks * cvr_bp + (h >> 40 & 0xFFFF) % 10_000) // 10_000
        value = purchases * aov * (80 + (h >> 56) % 41) // 100
        leads = (link_clicks * 600 + (h >> 40 & 0xFFFF) % 10_000) // 10_000 if lead else 0
        # About a fifth of the purchases happen on Meta (shops), the rest on the website.
        web = purchases - (purchases + (h >> 20 & 0xF) % 5) // 5
        web_value = value * web // purchases if purchases else 0
        if self.as_of is not None and self.as_of - ordinal < SETTLE_DAYS:
            share = seen_share(self.as_of - ordinal)
            purchases, value = purchases * share // 100, value * share // 100
            web, web_value = web * share // 100, web_value * share // 100
        return (impressions, clicks, spend, reach, link_clicks, purchases, value, leads, web,
                web_value)

    def sum_days(self, ads: range | list[int], lo: int, hi: int) -> Metrics:
        """Sum of ``ad_day`` over the given ads and days ``lo..hi`` (ordinals, inclusive)."""
        acc = [0] * N_METRICS
        ad_day = self.ad_day
        for o in range(lo, hi + 1):
            for i in ads:
                m = ad_day(i, o)
                for k in range(N_METRICS):
                    acc[k] += m[k]
        return as_metrics(acc)
