"""Platform rows -> normalized ad-day / account-day records (pure functions, no I/O).

A normalized record is a plain dict with exactly the keys of ``schema.AD_FIELDS`` or
``schema.ACCOUNT_FIELDS``: counts are ``int``, money and ratios ``float``, dates ISO
``"YYYY-MM-DD"`` strings, ``None`` where the platform did not say.

The normalizer never rejects anything itself. A value it cannot parse (``"abc"`` for
impressions) is passed through as the raw value, so the validator refuses the record with
a message naming the field and the pipeline quarantines it; one bad row never aborts a
batch.

Platforms are looked up in ``AD_NORMALIZERS`` / ``ACCOUNT_NORMALIZERS`` so that Google,
Amazon and TikTok can be added with ``register_normalizer`` without touching callers.

Facebook ``quality_ranking`` -> ``quality_score`` uses the middle of the percentile band
each label stands for: BELOW_AVERAGE_10 (bottom 10 %) 0.05, BELOW_AVERAGE_20 0.15,
BELOW_AVERAGE_35 0.275, AVERAGE 0.5, ABOVE_AVERAGE 0.8; UNKNOWN or absent -> None.
``relevance_score`` stays None (Facebook retired it in 2019).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from within_daemon.schema import AD_KEY
from within_daemon.transforms.currency import FxTable
from within_daemon.transforms.normalize.facebook_actions import ActionPlan

Record = dict[str, Any]
AdNormalizeFn = Callable[..., list[Record]]

#: platform -> function(normalizer, data, *, ads, account) -> ad-day records
AD_NORMALIZERS: dict[str, AdNormalizeFn] = {}
#: platform -> function(normalizer, data, *, account, counts) -> account-day records
ACCOUNT_NORMALIZERS: dict[str, AdNormalizeFn] = {}

#: ``ads`` mappings whose per-ad metadata is kept (one per account in flight).
AD_INFO_CACHES = 16

FB_WATCH_URL = "https://www.facebook.com/watch/?v={}"

#: Ads Manager's default "Purchases" column: website, app, offline and on-Meta purchases
#: (reference §0 "Metric definitions"). "Website purchases" is the pixel type.
DEFAULT_CONVERSION_ACTION_TYPES: tuple[str, ...] = ("omni_purchase",)

_FB_STATUS: dict[str, str] = {
    "active": "active",
    "paused": "paused",
    "adset_paused": "paused",
    "campaign_paused": "paused",
    "archived": "archived",
    "deleted": "deleted",
}

_FB_QUALITY: dict[str, float] = {
    "ABOVE_AVERAGE": 0.8,
    "AVERAGE": 0.5,
    "BELOW_AVERAGE_35": 0.275,
    "BELOW_AVERAGE_20": 0.15,
    "BELOW_AVERAGE_10": 0.05,
}

# campaign_id, adset_id, headline, description, cta, image_url, video_url,
# landing_page_url, start_date, end_date, status
_AdInfo = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]
_NO_AD: _AdInfo = (None,) * 11


class DataNormalizer:
    """Turns raw platform rows into normalized records; see the module docstring."""

    def __init__(
        self,
        *,
        conversion_action_types: Sequence[str] = DEFAULT_CONVERSION_ACTION_TYPES,
        revenue_action_types: Sequence[str] | None = None,
    ) -> None:
        self.conversion_plan = ActionPlan(conversion_action_types, "conversion_action_types")
        self.revenue_plan = (
            self.conversion_plan
            if revenue_action_types is None
            else ActionPlan(revenue_action_types, "revenue_action_types")
        )
        self.conversion_action_types = self.conversion_plan.types
        self.revenue_action_types = self.revenue_plan.types
        #: Per-ad metadata by the identity of the ``ads`` mapping it came from: the
        #: pipeline passes one mapping per (run, account) with every page, and a page lists
        #: up to 500 different ads, so a per-page cache recomputed it for nearly every row.
        #: Holding the mapping keeps its id from being reused; the newest few are kept.
        self._ad_infos: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = {}

    def ad_infos(self, ads: Mapping[str, Any] | None) -> dict[str, Any]:
        """The per-ad metadata cache of ``ads`` (an empty one for ``None``)."""
        if ads is None:
            return {}
        hit = self._ad_infos.get(id(ads))
        if hit is not None and hit[0] is ads:
            return hit[1]
        if len(self._ad_infos) >= AD_INFO_CACHES:
            del self._ad_infos[next(iter(self._ad_infos))]
        cache: dict[str, Any] = {}
        self._ad_infos[id(ads)] = (ads, cache)
        return cache

    def forget_ads(self, ads: Mapping[str, Any] | None) -> None:
        """Drop the metadata cache of ``ads`` (its run is over): frees the ads it holds."""
        hit = self._ad_infos.get(id(ads))
        if hit is not None and hit[0] is ads:
            del self._ad_infos[id(ads)]

    def normalize_ad_data(
        self,
        data: Iterable[Any],
        platform: str,
        *,
        ads: Mapping[str, Any] | None = None,
        account: Mapping[str, Any] | None = None,
    ) -> list[Record]:
        """Raw ad-level daily rows -> ad-day records with exactly ``AD_FIELDS``.

        One record per input row, in input order, so ``errors[i]["index"]`` from the
        validator also points at the raw row (the pipeline quarantines the raw row).
        """
        fn = AD_NORMALIZERS.get(platform)
        if fn is None:
            raise ValueError(f"no normalizer for platform {platform!r}")
        if ads is None and platform == "facebook":
            data, ads = split_ad_objects(data)
        return fn(self, data, ads=ads, account=account)

    def normalize_account_data(
        self,
        data: Iterable[Any],
        platform: str,
        *,
        account: Mapping[str, Any] | None = None,
        counts: Mapping[str, tuple[int | None, int | None]] | None = None,
    ) -> list[Record]:
        """Raw account-level daily rows -> account-day records with exactly ``ACCOUNT_FIELDS``."""
        fn = ACCOUNT_NORMALIZERS.get(platform)
        if fn is None:
            raise ValueError(f"no normalizer for platform {platform!r}")
        return fn(self, data, account=account, counts=counts)


def split_ad_objects(data: Iterable[Any]) -> tuple[list[Any], dict[str, Any] | None]:
    """``FacebookAdsConnector.get_ads`` output -> its insights rows and the ads by id.

    The seed passes ``get_ads(fields=[..., "insights"])`` (ads, each with its daily rows
    under ``insights``, a list or Graph's ``{"data": [...]}``) straight to
    ``normalize_ad_data``; rows that are already insights rows pass through unchanged.
    """
    rows = list(data)
    if not any(r.__class__ is dict and "insights" in r and "ad_id" not in r for r in rows):
        return rows, None
    out: list[Any] = []
    ads: dict[str, Any] = {}
    for r in rows:
        if r.__class__ is not dict or "insights" not in r or "ad_id" in r:
            out.append(r)
            continue
        ad_id = str(r.get("id"))
        ads[ad_id] = r
        nested = r["insights"]
        if nested.__class__ is dict:
            nested = nested.get("data") or []
        for row in nested or ():
            if row.__class__ is dict and not row.get("ad_id"):
                row = {**row, "ad_id": ad_id}
            out.append(row)
    return out, ads


def register_normalizer(
    platform: str, *, ad: AdNormalizeFn | None = None, account: AdNormalizeFn | None = None
) -> None:
    """Add (or replace) the normalizer functions for one platform."""
    if ad is not None:
        AD_NORMALIZERS[platform] = ad
    if account is not None:
        ACCOUNT_NORMALIZERS[platform] = account


class CrossPlatformNormalizer:
    """The seed's cross-platform facade: normalize any registered platform, then combine."""

    def __init__(self, normalizer: DataNormalizer | None = None) -> None:
        self.normalizer = normalizer or DataNormalizer()

    def normalize(self, data: Iterable[Any], platform: str, **kw: Any) -> list[Record]:
        return self.normalizer.normalize_ad_data(data, platform, **kw)

    def combine(
        self, parts: Iterable[Iterable[Record]], *, fx: FxTable | None = None
    ) -> list[Record]:
        """Concatenate normalized lists; a repeated ``AD_KEY`` is an error, not a silent merge.

        With ``fx``, money is also given in its reporting currency (originals kept).
        """
        seen: set[tuple[Any, ...]] = set()
        out: list[Record] = []
        for part in parts:
            for rec in part:
                key = tuple(rec.get(f) for f in AD_KEY)
                if key in seen:
                    named = " ".join(f"{f}={v}" for f, v in zip(AD_KEY, key, strict=True))
                    raise ValueError(f"duplicate record key {named}")
                seen.add(key)
                out.append(rec)
        return fx.convert(out) if fx is not None else out


def derived_ratios(
    imp: Any, clk: Any, spend: Any, conv: Any, rev: Any
) -> tuple[float | None, float | None, float | None, float | None]:
    """``(ctr, conversion_rate, cpa, roas)`` from typed counts and money, every platform.

    A ratio is None when its denominator is zero or either side did not parse (an unparsed
    value is a raw string the validator will reject), so a ratio is never made up.
    """
    clk_ok = clk.__class__ is int
    # Conversions are real numbers (attribution splits them; see _as_conversions).
    conv_ok = conv.__class__ is int or conv.__class__ is float
    spend_ok = spend.__class__ is float
    return (
        clk / imp if clk_ok and imp.__class__ is int and imp != 0 else None,
        conv / clk if conv_ok and clk_ok and clk != 0 else None,
        spend / conv if spend_ok and conv_ok and conv != 0 else None,
        rev / spend if spend_ok and spend != 0 and rev.__class__ is float else None,
    )


# --- value parsing: typed value on success, the raw value on failure -------------------


def _as_int(v: Any) -> Any:
    """Count as ``int``; unparsable input is returned unchanged for the validator to name."""
    cls = v.__class__
    if cls is str:
        try:
            return int(v)
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                return v
            return int(f) if f.is_integer() else v
    if cls is float and v.is_integer():
        return int(v)
    return v


def _as_conversions(v: Any) -> Any:
    """Conversions: ``int`` when whole, a finite ``float`` when fractional, else raw.

    Attribution models (Google's data-driven attribution) credit fractions of a conversion
    to each ad, and the account total is the sum of those fractions; rounding per ad-day
    would break sums, CPA and the drift check, so a fraction is kept as it came.
    """
    whole = _as_int(v)
    if whole.__class__ is int:
        return whole
    f = _as_float(v)
    return f if f.__class__ is float and f - f == 0.0 else v


def _as_float(v: Any) -> Any:
    """Money or ratio as a finite ``float``; anything else is returned unchanged."""
    cls = v.__class__
    if cls is str:
        try:
            f = float(v)
        except ValueError:
            return v
        # nan and inf parse but are not amounts; x - x is 0.0 only for finite x
        return f if f - f == 0.0 else v
    if cls is int:
        return float(v)
    return v


def _strip_act(v: Any) -> Any:
    if v.__class__ is str and v.startswith("act_"):
        return v[4:]
    return v


def _ts_date(v: Any) -> Any:
    """``2023-03-17T08:04:31-0700`` -> ``2023-03-17``: the date in the stamp's own offset."""
    if v.__class__ is str and len(v) >= 10 and v[4] == "-" and v[7] == "-":
        if len(v) == 10 or v[10] in "T ":
            return v[:10]
    return v


def _dict(v: Any) -> dict[str, Any]:
    return v if v.__class__ is dict else {}


def _first(*values: Any) -> Any:
    for v in values:
        if v:
            return v
    return None


# --- Facebook ---------------------------------------------------------------------------


def _fb_ad_info(ad: Any) -> _AdInfo:
    """Creative and lifecycle fields of one ad object, computed once per ad per batch."""
    if ad.__class__ is not dict:
        return _NO_AD
    cr = _dict(ad.get("creative"))
    spec = _dict(cr.get("object_story_spec"))
    link = _dict(spec.get("link_data"))
    video = _dict(spec.get("video_data"))
    cta = _dict(link.get("call_to_action")) or _dict(video.get("call_to_action"))
    adset = _dict(ad.get("adset"))
    video_id = cr.get("video_id") or video.get("video_id")
    status = ad.get("effective_status") or ad.get("status")
    return (
        ad.get("campaign_id"),
        ad.get("adset_id"),
        _first(cr.get("title"), link.get("name"), video.get("title")),
        _first(cr.get("body"), link.get("message"), link.get("description"), video.get("message")),
        _first(cr.get("call_to_action_type"), cta.get("type")),
        _first(cr.get("image_url"), cr.get("thumbnail_url"), link.get("picture"),
               video.get("image_url")),
        FB_WATCH_URL.format(video_id) if video_id else None,
        _first(cr.get("link_url"), link.get("link"), _dict(cta.get("value")).get("link")),
        _ts_date(adset.get("start_time") or ad.get("created_time")),
        _ts_date(adset.get("end_time")),
        _FB_STATUS.get(status.lower(), "other") if status.__class__ is str else None,
    )


def _facebook_ads(
    cfg: DataNormalizer,
    data: Iterable[Any],
    *,
    ads: Mapping[str, Any] | None = None,
    account: Mapping[str, Any] | None = None,
) -> list[Record]:
    conv_total = cfg.conversion_plan.total
    rev_total = cfg.revenue_plan.total
    acct = account or {}
    acct_id = _strip_act(acct.get("account_id"))
    acct_currency = acct.get("currency")
    infos: dict[str, _AdInfo] = cfg.ad_infos(ads)
    ads = ads or {}
    quality = _FB_QUALITY
    out: list[Record] = []
    append = out.append
    for row in data:
        if row.__class__ is not dict:
            row = {}
        ad_id = row.get("ad_id")
        info = _NO_AD
        if ad_id.__class__ is str:
            cached = infos.get(ad_id)
            if cached is None:
                cached = infos[ad_id] = _fb_ad_info(ads.get(ad_id))
            info = cached
        imp = _as_int(row.get("impressions"))
        clk = _as_int(row.get("clicks"))
        spend = _as_float(row.get("spend"))
        conv = conv_total(row.get("actions"), _as_conversions)
        rev = rev_total(row.get("action_values"), _as_float)
        if rev.__class__ is int:
            rev = float(rev)
        ctr, cvr, cpa, roas = derived_ratios(imp, clk, spend, conv, rev)
        append({
            "ad_id": ad_id,
            "platform": "facebook",
            "account_id": _strip_act(row.get("account_id")) or acct_id,
            "campaign_id": row.get("campaign_id") or info[0],
            "ad_group_id": row.get("adset_id") or info[1],
            "headline": info[2],
            "description": info[3],
            "cta": info[4],
            "image_url": info[5],
            "video_url": info[6],
            "landing_page_url": info[7],
            "start_date": info[8],
            "end_date": info[9],
            "status": info[10],
            "impressions": imp,
            "clicks": clk,
            "ctr": ctr,
            "spend": spend,
            "conversions": conv,
            "conversion_rate": cvr,
            "cpa": cpa,
            "roas": roas,
            "relevance_score": None,
            "quality_score": (
                quality.get(qr) if (qr := row.get("quality_ranking")).__class__ is str else None
            ),
            "date": row.get("date_start"),
            "currency": row.get("account_currency") or acct_currency,
            "revenue": rev,
            # Beside the seed's fields (loaded into columns of the same name): "Link clicks"
            # next to "Clicks (all)", and the ad set's own attribution setting, which
            # insights report since June 2025 (reference §0).
            "attribution_window": row.get("attribution_setting"),
            "link_clicks": _as_int(lc) if (lc := row.get("inline_link_clicks")) is not None
            else None,
        })
    return out


def _facebook_accounts(
    cfg: DataNormalizer,
    data: Iterable[Any],
    *,
    account: Mapping[str, Any] | None = None,
    counts: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> list[Record]:
    acct = account or {}
    acct_id = _strip_act(acct.get("account_id"))
    acct_name = acct.get("name") or acct.get("account_name")
    counts = counts or {}
    out: list[Record] = []
    for row in data:
        if row.__class__ is not dict:
            row = {}
        day = row.get("date_start")
        spend = _as_float(row.get("spend"))
        rev = cfg.revenue_plan.total(row.get("action_values"), _as_float)
        if rev.__class__ is int:
            rev = float(rev)
        campaigns, ad_count = (
            counts.get(day, (None, None)) if day.__class__ is str else (None, None)
        )
        out.append({
            "account_id": _strip_act(row.get("account_id")) or acct_id,
            "platform": "facebook",
            "account_name": acct_name or row.get("account_name"),
            "currency": row.get("account_currency") or acct.get("currency"),
            "timezone": acct.get("timezone_name"),
            "date": day,
            "daily_spend": spend,
            "daily_impressions": _as_int(row.get("impressions")),
            "daily_clicks": _as_int(row.get("clicks")),
            "daily_conversions": cfg.conversion_plan.total(row.get("actions"), _as_conversions),
            "daily_revenue": rev,
            "daily_roas": (
                rev / spend
                if spend.__class__ is float and spend and rev.__class__ is float
                else None
            ),
            "campaign_count": campaigns,
            "ad_count": ad_count,
        })
    return out


register_normalizer("facebook", ad=_facebook_ads, account=_facebook_accounts)
