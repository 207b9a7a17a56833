"""Deterministic fake TikTok advertisers for the TikTok emulator: ads and daily metrics.

Everything is a pure function of ``(seed, advertiser, ad index, day)`` through the same
SplitMix64 hash as the Facebook sandbox, so the rows a complete pull must load, their
totals and the per-day active counts can be computed exactly (``AdvertiserData.ad_day``
is the single oracle; advertiser-level rows are sums of it). Report rows are addressed
by position, ``(day, ad)`` in that order, so a page costs only the rows it contains. The
error codes and messages the emulator answers with live here too (ad-apis.md §4.4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from within_daemon.sandbox.numbers import mix64, money

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

#: Layout of one metrics sample: (impressions, clicks, spend in cents, conversions, purchase
#: value in cents). Conversions are complete payments here (web-conversion advertisers).
Sample = tuple[int, int, int, int, int]
ZERO: Sample = (0, 0, 0, 0, 0)

_PRODUCTS = (
    "sneakers", "phone cases", "lip tint", "gaming chairs", "matcha", "tote bags",
    "air fryers", "hair clips", "protein shakes", "desk plants", "sunglasses", "candles",
)
_TEXTS = (
    "POV: you finally found {product} that work",
    "{pct}% off {product} this week only",
    "Why everyone is switching to our {product}",
    "3 ways to style {product}",
    "Unboxing the {product} that sold out twice",
    "Our {product}, rated 4.9 by 20k buyers",
)
_CTAS = ("SHOP_NOW", "LEARN_MORE", "ORDER_NOW", "SIGN_UP", "DOWNLOAD", "GET_QUOTE")
_OBJECTIVES = ("WEB_CONVERSIONS", "TRAFFIC", "REACH", "WEB_CONVERSIONS")
#: Ad group attribution settings by ad group index: (click_attribution_window,
#: view_attribution_window). Each ad group counts conversions with its own windows
#: (TikTok ad group fields; enum values as in bububa/tiktok-business adgroup model and
#: TikTok's "Attribution window and event count" page); 7-day click + 1-day view is the
#: web-conversion default.
ATTRIBUTION = (("SEVEN_DAYS", "ONE_DAY"), ("SEVEN_DAYS", "ONE_DAY"), ("ONE_DAY", "OFF"),
               ("TWENTY_EIGHT_DAYS", "SEVEN_DAYS"))
#: ``secondary_status`` of a deleted ad; the report hides such ads unless asked not to.
DELETED = "AD_STATUS_DELETE"


class TikTokAdvertiser(msgspec.Struct, frozen=True):
    """One fake advertiser; the ad count is campaigns x ad groups x ads, capped by max_ads."""

    advertiser_id: str
    name: str
    currency: str = "USD"
    timezone: str = "America/Los_Angeles"
    n_campaigns: int = 2
    adgroups_per_campaign: int = 2
    ads_per_adgroup: int = 3
    active_from: str = "2020-01-01"
    active_to: str | None = None
    max_ads: int | None = None

    def __post_init__(self) -> None:
        if not self.advertiser_id.isdigit():
            raise ValueError(f"advertiser_id must be digits: {self.advertiser_id!r}")
        dt.date.fromisoformat(self.active_from)
        if self.active_to is not None:
            dt.date.fromisoformat(self.active_to)

    @property
    def n_ads(self) -> int:
        full = self.n_campaigns * self.adgroups_per_campaign * self.ads_per_adgroup
        return full if self.max_ads is None else min(full, self.max_ads)

    @classmethod
    def with_ads(cls, advertiser_id: str, name: str, n_ads: int, **kw: Any) -> TikTokAdvertiser:
        """An advertiser with exactly ``n_ads`` ads (3 ad groups of 4 ads per campaign)."""
        return cls(
            advertiser_id, name, n_campaigns=max(1, -(-n_ads // 12)), adgroups_per_campaign=3,
            ads_per_adgroup=4, max_ads=n_ads, **kw,
        )


def default_advertisers() -> list[TikTokAdvertiser]:
    """Two small advertisers: one in Los Angeles (USD), one in Berlin (EUR) from 2024."""
    return [
        TikTokAdvertiser("7100000000000000001", "Glow Street Beauty (sandbox)"),
        TikTokAdvertiser(
            "7100000000000000002", "Kraftwerk Kitchen (sandbox)", currency="EUR",
            timezone="Europe/Berlin", n_campaigns=3, active_from="2024-01-01",
        ),
    ]


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def stamp(day: dt.date, seconds: int = 0) -> str:
    """TikTok's ``"YYYY-MM-DD HH:MM:SS"`` (advertiser time zone, no offset)."""
    moment = dt.datetime(day.year, day.month, day.day) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class Ad:
    """One ad with its parents' ids and names, and the ``/ad/get/`` object it serves."""

    index: int
    id: str
    name: str
    text: str
    campaign: int
    adgroup: int
    deleted: bool
    obj: dict[str, Any]


class AdvertiserData:
    """Generated campaigns, ad groups and ads of one advertiser, and its metric oracle."""

    def __init__(self, adv: TikTokAdvertiser, seed: int) -> None:
        self.adv = adv
        self.tz = zone(adv.timezone)
        self.active_from = dt.date.fromisoformat(adv.active_from).toordinal()
        self.active_to = dt.date.fromisoformat(adv.active_to).toordinal() if adv.active_to \
            else None
        num = int(adv.advertiser_id)
        # 19-digit ids like TikTok's; same length within an advertiser.
        self._id_base = 1_800_000_000_000_000_000 + (num % 1_000_000) * 1_000_000_000
        self._key = mix64((seed & _MASK) ^ mix64(num))
        self.campaigns: list[tuple[str, str]] = []  # (id, name)
        self.adgroups: list[tuple[str, str, int]] = []  # (id, name, campaign index)
        self.ads: list[Ad] = []
        self._build()
        self._profiles = [self._profile(i) for i in range(len(self.ads))]

    def _id(self, kind: int, index: int) -> str:
        return str(self._id_base + kind * 10_000_000 + index)

    def _build(self) -> None:
        adv = self.adv
        start = dt.date.fromordinal(self.active_from) - dt.timedelta(days=3)
        for c in range(adv.n_campaigns):
            if len(self.ads) >= adv.n_ads:
                break
            product = _PRODUCTS[mix64(self._key + c * _GOLDEN) % len(_PRODUCTS)]
            objective = _OBJECTIVES[c % len(_OBJECTIVES)]
            self.campaigns.append((self._id(1, c), f"{objective.title()} | {product.title()}"))
            for _ in range(adv.adgroups_per_campaign):
                if len(self.ads) >= adv.n_ads:
                    break
                g = len(self.adgroups)
                self.adgroups.append((self._id(2, g), f"Ad group {g + 1} | {product}", c))
                for _ in range(adv.ads_per_adgroup):
                    if len(self.ads) >= adv.n_ads:
                        break
                    self._add_ad(c, g, product, start)

    def _add_ad(self, c: int, g: int, product: str, start: dt.date) -> None:
        i = len(self.ads)
        h = mix64(self._key + (i + 1) * 0xD1B54A32D192ED03)
        ad_id = self._id(3, i)
        text = _TEXTS[h % len(_TEXTS)].format(
            pct=(10, 20, 30)[(h >> 8) % 3], product=product,
        )
        text = text[0].upper() + text[1:]
        deleted = i % 7 == 5
        disabled = not deleted and (h >> 20) % 6 == 0
        name = f"{product.title()} | v{i % 4 + 1} | {ad_id[-4:]}"
        slug = product.replace(" ", "-")
        created = stamp(start, 3600 + (h >> 32) % 70_000)
        obj: dict[str, Any] = {
            "advertiser_id": self.adv.advertiser_id,
            "campaign_id": self.campaigns[c][0], "campaign_name": self.campaigns[c][1],
            "adgroup_id": self.adgroups[g][0], "adgroup_name": self.adgroups[g][1],
            "ad_id": ad_id, "ad_name": name, "ad_text": text,
            "call_to_action": _CTAS[(h >> 12) % len(_CTAS)],
            "landing_page_url": f"https://shop.example.test/{slug}?utm_source=tiktok&ad={ad_id}",
            "display_name": self.adv.name.removesuffix(" (sandbox)"),
            "ad_format": "SINGLE_VIDEO",
            "video_id": f"v10044g50000{h % 10**12:012d}",
            "image_ids": [f"ad-site-i18n-sg/{h % 10**16:016d}"],
            "operation_status": "DISABLE" if disabled else "ENABLE",
            "secondary_status": DELETED if deleted else
            "AD_STATUS_DISABLE" if disabled else "AD_STATUS_DELIVERY_OK",
            "create_time": created, "modify_time": created,
        }
        self.ads.append(Ad(i, ad_id, name, text, c, g, deleted, obj))

    def _profile(self, i: int) -> tuple[int, int, int, int, int]:
        """Per-ad constants: (hash key, base impressions, ctr bp, cpm cents, cvr bp)."""
        key = mix64(self._key ^ mix64(i + 0x7E1))
        p = mix64(key)
        return (key, 400 + p % 9600, 40 + (p >> 16) % 260, 300 + (p >> 28) % 1200,
                (p >> 40) % 900)

    # -- metrics ---------------------------------------------------------------------------

    def span(self, since: int, until: int, today: int) -> tuple[int, int]:
        """The days of ``[since, until]`` with data: active and not in the future."""
        hi = min(until, today) if self.active_to is None else min(until, today, self.active_to)
        return max(since, self.active_from), hi

    def ad_day(self, i: int, ordinal: int) -> Sample:
        """Metrics of ad ``i`` on day ``ordinal``; every total is summed from this."""
        key, base, ctr_bp, cpm, cvr_bp = self._profiles[i]
        h = mix64((key + ordinal * _GOLDEN) & _MASK)
        if h % 11 == 0:
            return ZERO  # some ad-days do not deliver at all
        impressions = base * (50 + (h >> 4 & 0xFF) % 101) // 100
        clicks = impressions * ctr_bp * (50 + (h >> 12 & 0xFF) % 101) // 1_000_000
        spend = impressions * cpm * (80 + (h >> 20 & 0xFF) % 41) // 100_000
        conversions = (clicks * cvr_bp + (h >> 28 & 0xFFFF) % 10_000) // 10_000
        value = conversions * (1500 + (h >> 44 & 0xFFF) % 6000)  # order value $15 .. $75
        return impressions, clicks, spend, conversions, value

    def day_total(self, ordinal: int) -> Sample:
        acc = [0, 0, 0, 0, 0]
        for i in range(len(self.ads)):
            m = self.ad_day(i, ordinal)
            for k in range(5):
                acc[k] += m[k]
        return acc[0], acc[1], acc[2], acc[3], acc[4]


#: Metrics a report row can carry (values computed from a Sample) and the attribute
#: metrics that only exist on ad rows.
#: ``complete_payment`` counts purchases, ``total_complete_payment_rate`` is their VALUE
#: despite its name, and ``complete_payment_roas`` = value / spend (reference §0 "Metric
#: definitions"; practitioner connectors request the same three).
VALUE_METRICS = frozenset({
    "spend", "impressions", "clicks", "conversion", "ctr", "cpc", "cpm",
    "cost_per_conversion", "conversion_rate", "complete_payment",
    "total_complete_payment_rate", "complete_payment_roas",
})
AD_ATTRIBUTES = frozenset({
    "campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name", "ad_text",
})


def _ratio(num: int, den: int, scale: int = 1) -> str:
    return f"{num * scale / den:.2f}" if den else "0.00"


def metric_value(name: str, m: Sample) -> str:
    """A metric as TikTok sends it by default: a decimal string (ctr in percent)."""
    imp, clk, cents, conv, value = m
    if name == "total_complete_payment_rate":
        return money(value)
    if name == "complete_payment_roas":
        return f"{value / cents:.2f}" if cents else "0.00"
    if name == "complete_payment":
        return str(conv)
    if name == "spend":
        return money(cents)
    if name == "impressions":
        return str(imp)
    if name == "clicks":
        return str(clk)
    if name == "conversion":
        return str(conv)
    if name == "ctr":
        return _ratio(clk, imp, 100)
    if name == "cpc":
        return f"{cents / 100 / clk:.2f}" if clk else "0.00"
    if name == "cpm":
        return f"{cents * 10 / imp:.2f}" if imp else "0.00"
    if name == "cost_per_conversion":
        return f"{cents / 100 / conv:.2f}" if conv else "0.00"
    return _ratio(conv, clk, 100)  # conversion_rate


def ad_attribute(name: str, data: AdvertiserData, ad: Ad) -> str:
    if name == "campaign_id":
        return data.campaigns[ad.campaign][0]
    if name == "campaign_name":
        return data.campaigns[ad.campaign][1]
    if name == "adgroup_id":
        return data.adgroups[ad.adgroup][0]
    if name == "adgroup_name":
        return data.adgroups[ad.adgroup][1]
    return ad.name if name == "ad_name" else ad.text


# -- report rows ---------------------------------------------------------------------------

_COUNTS = ("impressions", "clicks", "conversion", "complete_payment")
_ID_KEYS = ("ad_id", "advertiser_id", "campaign_id", "adgroup_id")


def include_deleted(filtering: Any) -> bool:
    """``ad_status IN ["STATUS_ALL"]`` in a report filter (filter_value as string or list)."""
    if not isinstance(filtering, list):
        return False
    for f in filtering:
        if isinstance(f, dict) and f.get("field_name") == "ad_status":
            value = f.get("filter_value")
            if isinstance(value, str):
                try:
                    value = msgspec.json.decode(value)
                except msgspec.DecodeError:
                    value = [value]
            if isinstance(value, list) and "STATUS_ALL" in value:
                return True
    return False


def report_row(
    data: AdvertiserData, level: str, dims: list[Any], metrics: list[Any], ads: list[Ad],
    lo: int, pos: int,
) -> dict[str, Any]:
    """Row ``pos`` of a daily report: rows run day by day, ads in index order within a day."""
    d: dict[str, Any]
    if level == "AUCTION_AD":
        day, ad = lo + pos // len(ads), ads[pos % len(ads)]
        sample = data.ad_day(ad.index, day)
        d = {"ad_id": ad.id}
        m = {k: ad_attribute(k, data, ad) if k in AD_ATTRIBUTES else metric_value(k, sample)
             for k in metrics}
    else:
        day = lo + pos
        sample = data.day_total(day)
        d = {"advertiser_id": data.adv.advertiser_id} if "advertiser_id" in dims else {}
        m = {k: metric_value(k, sample) for k in metrics}
    d["stat_time_day"] = stamp(dt.date.fromordinal(day))
    return {"dimensions": d, "metrics": m}


def mix_types(metrics: dict[str, Any], pos: int) -> None:
    """Numbers instead of strings (pos % 3 == 0) or v1.2-style ``"5830.0"`` (pos % 3 == 1)."""
    mode = pos % 3
    for k, v in list(metrics.items()):
        if not isinstance(v, str) or k in AD_ATTRIBUTES:
            continue
        if mode == 0:
            num = float(v)
            metrics[k] = int(num) if k in _COUNTS else num
        elif mode == 1 and k in _COUNTS:
            metrics[k] = f"{v}.0"


def ids_as_numbers(obj: dict[str, Any]) -> None:
    """Turn the id fields of one object into JSON numbers, as older API versions sent them."""
    for k in _ID_KEYS:
        v = obj.get(k)
        if isinstance(v, str) and v.isdigit():
            obj[k] = int(v)


def page_info(page: int, size: int, total: int) -> dict[str, int]:
    return {"page": page, "page_size": size, "total_number": total,
            "total_page": -(-total // size)}


# -- errors ------------------------------------------------------------------------------

MESSAGES = {
    40001: "No permission to operate advertiser {id}.",
    40002: "{detail}",
    40016: "Requests made too frequently. Please try again later.",
    40067: "Your query is too large, please reduce the query size (e.g. fewer metrics or "
           "time range) and retry after a while.",
    40100: "Due to too many requests, requests from App [7000000000000000000] are "
           "temporarily restricted.",
    40102: "Access token has expired.",
    40104: "Access token is null, you should set it in http header with key Access-Token.",
    40105: "Access token is incorrect or has been revoked.",
    40133: "Advertiser ({id})'s QPS (21) reaches QPS limit 20 for current path, request is "
           "temporarily restricted.",
    50000: "System error.",
    50002: "Error occurred when processing the request. Please try again later.",
}


class TikTokError(Exception):
    """An application error: HTTP 200 with a non-zero ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def api_error(code: int, **fmt: str) -> TikTokError:
    return TikTokError(code, MESSAGES.get(code, "Error {code}.").format(code=code, **fmt))


def bad_param(detail: str) -> TikTokError:
    return TikTokError(40002, detail)
