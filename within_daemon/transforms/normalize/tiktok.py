"""TikTok report rows -> normalized ad-day and account-day records (pure functions).

A TikTok report row is ``{"dimensions": {"ad_id", "stat_time_day"}, "metrics": {...}}``
(docs/api-reference.md §4.2). Metric values are usually decimal strings but may be
JSON numbers, ``"116.0"``-style strings or ``null``; ids are strings or numbers;
``stat_time_day`` is ``"YYYY-MM-DD 00:00:00"``. Money is in the advertiser's currency.

Mapping choices (TikTok has no field for some of ours):

* ``headline`` is the ad's ``ad_text`` (the caption shown with the video); TikTok ads have
  no separate description, image URL or video URL (only ids), so those stay ``None``.
* ``cta`` is ``call_to_action``; ``landing_page_url`` the ad's (or its first of
  ``landing_page_urls``); ``start_date`` the date of ``create_time``.
* ``status`` from ``secondary_status`` / ``operation_status``: deleted, paused (any
  ``*_DISABLE``), active (delivering or enabled), else other.
* ``conversions`` is TikTok's ``conversion`` (the "Conversions" column: each ad group's own
  optimization event; ``null`` stays ``None``). ``revenue`` is ``total_complete_payment_rate``,
  the purchase VALUE despite its name, and ``roas`` = revenue / spend, which is TikTok's
  ``complete_payment_roas`` (reference §0 "Metric definitions"); ``cpa`` = spend /
  conversions, ``conversion_rate`` = conversions / clicks.
* ``ctr`` is recomputed as clicks / impressions (TikTok's own ``ctr`` is a percentage).
* ``attribution_window`` is the ad's ad group setting, e.g. ``7d_click_1d_view`` from
  ``click_attribution_window`` SEVEN_DAYS and ``view_attribution_window`` ONE_DAY (the
  connector copies them onto each ad); OFF parts are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from within_daemon.records import AccountDay, AdDay
from within_daemon.schema import AccountInfo
from within_daemon.transforms.normalize.values import (
    NormalizerSettings,
    as_conversions,
    as_float,
    as_int,
    derived_ratios,
)

_NO_AD: tuple[Any, ...] = (None,) * 9
_WINDOW_DAYS = {"ONE_DAY": 1, "SEVEN_DAYS": 7, "FOURTEEN_DAYS": 14, "TWENTY_EIGHT_DAYS": 28,
                "THIRTY_DAYS": 30}


def attribution_window(ad: Mapping[str, Any]) -> str | None:
    """``7d_click_1d_view`` from an ad group's window enums; None when none is known."""
    parts = []
    for key, kind in (("click_attribution_window", "click"),
                      ("engaged_view_attribution_window", "engaged_view"),
                      ("view_attribution_window", "view")):
        days = _WINDOW_DAYS.get(str(ad.get(key)))
        if days:
            parts.append(f"{days}d_{kind}")
    return "_".join(parts) or None
#: Report metrics each normalizer needs; the connector's requests must include them (a
#: field read but never requested would be silently empty; tests check the two agree).
AD_METRICS_READ = ("spend", "impressions", "clicks", "conversion",
                   "total_complete_payment_rate", "campaign_id", "adgroup_id")
ACCOUNT_METRICS_READ = ("spend", "impressions", "clicks", "conversion",
                        "total_complete_payment_rate")
#: The purchase value metric (see the module docstring).
REVENUE = "total_complete_payment_rate"


def _id(v: Any) -> Any:
    """Ids as strings; integral numbers (TikTok's int64 ids) become their digits."""
    if v.__class__ is int:
        return str(v)
    if v.__class__ is float and v.is_integer():
        return str(int(v))
    return v


def _day(v: Any) -> Any:
    """``"2024-01-01 00:00:00"`` or ``"2024-01-01"`` -> ``"2024-01-01"``; else unchanged."""
    if v.__class__ is str and len(v) >= 10 and v[4] == "-" and v[7] == "-":
        if len(v) == 10 or v[10] in " T":
            return v[:10]
    return v


def _count(v: Any) -> Any:
    return None if v is None else as_int(v)


def _conversions(v: Any) -> Any:
    """Conversions are real numbers on every platform (a fraction is kept, not rejected)."""
    return None if v is None else as_conversions(v)


def _money(v: Any) -> Any:
    return None if v is None else as_float(v)


def _status(ad: Mapping[str, Any]) -> str | None:
    sec, op = ad.get("secondary_status"), ad.get("operation_status")
    sec = sec.upper() if sec.__class__ is str else ""
    op = op.upper() if op.__class__ is str else ""
    if not sec and not op:
        return None
    if "DELETE" in sec:
        return "deleted"
    if "DISABLE" in sec or op == "DISABLE":
        return "paused"
    if "DELIVERY_OK" in sec or (op == "ENABLE" and not sec):
        return "active"
    return "other"


def _ad_info(ad: Any) -> tuple[Any, ...]:
    """Per-ad fields: campaign, ad group, text, cta, landing page, start, status, name, window."""
    if ad.__class__ is not dict:
        return _NO_AD
    urls = ad.get("landing_page_urls")
    first_url = urls[0] if urls.__class__ is list and urls else None
    return (
        _id(ad.get("campaign_id")),
        _id(ad.get("adgroup_id")),
        ad.get("ad_text") or None,
        ad.get("call_to_action") or None,
        ad.get("landing_page_url") or first_url,
        _day(ad.get("create_time")) if ad.get("create_time") else None,
        _status(ad),
        ad.get("ad_name"),
        attribution_window(ad),
    )


def _parts(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if row.__class__ is not dict:
        return {}, {}
    dims, mets = row.get("dimensions"), row.get("metrics")
    return (dims if dims.__class__ is dict else {}), (mets if mets.__class__ is dict else {})


def tiktok_ads(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    ads: Mapping[str, Any] | None = None,
    account: AccountInfo,
) -> list[AdDay]:
    acct_id = _id(account.account_id)
    currency = account.currency
    ads = ads or {}
    infos: dict[Any, tuple[Any, ...]] = {}
    out: list[AdDay] = []
    for row in data:
        dims, mets = _parts(row)
        ad_id = _id(dims.get("ad_id"))
        info = infos.get(ad_id)
        if info is None:
            info = infos[ad_id] = _ad_info(ads.get(ad_id)) if ad_id.__class__ is str else _NO_AD
        imp = _count(mets.get("impressions"))
        clk = _count(mets.get("clicks"))
        spend = _money(mets.get("spend"))
        conv = _conversions(mets.get("conversion"))
        rev = _money(mets.get(REVENUE))
        ctr, cvr, cpa, roas = derived_ratios(imp, clk, spend, conv, rev)
        out.append(AdDay(
            ad_id=ad_id,
            platform="tiktok",
            account_id=acct_id or _id(dims.get("advertiser_id")),
            campaign_id=_id(mets.get("campaign_id")) or info[0],
            ad_group_id=_id(mets.get("adgroup_id")) or info[1],
            headline=info[2] or mets.get("ad_text") or None,
            description=None,
            cta=info[3],
            image_url=None,
            video_url=None,
            landing_page_url=info[4],
            start_date=info[5],
            end_date=None,
            status=info[6],
            impressions=imp,
            clicks=clk,
            ctr=ctr,
            spend=spend,
            conversions=conv,
            conversion_rate=cvr,
            cpa=cpa,
            roas=roas,
            relevance_score=None,
            quality_score=None,
            date=_day(dims.get("stat_time_day")),
            currency=mets.get("currency") or currency,
            revenue=rev,
            attribution_window=info[8],
            link_clicks=None,  # TikTok reports destination clicks only (``clicks``)
        ))
    return out


def tiktok_accounts(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    account: AccountInfo,
    counts: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> list[AccountDay]:
    acct_id = _id(account.account_id)
    out: list[AccountDay] = []
    for row in data:
        dims, mets = _parts(row)
        day = _day(dims.get("stat_time_day"))
        spend, rev = _money(mets.get("spend")), _money(mets.get(REVENUE))
        # With counts from the same window, a day they do not list had no delivery.
        n_camp, n_ads = (None, None) if counts is None or day.__class__ is not str \
            else counts.get(day, (0, 0))
        out.append(AccountDay(
            account_id=acct_id or _id(dims.get("advertiser_id")),
            platform="tiktok",
            account_name=account.name,
            currency=mets.get("currency") or account.currency,
            timezone=account.timezone,
            date=day,
            daily_spend=spend,
            daily_impressions=_count(mets.get("impressions")),
            daily_clicks=_count(mets.get("clicks")),
            daily_conversions=_conversions(mets.get("conversion")),
            daily_revenue=rev,
            daily_roas=derived_ratios(None, None, spend, None, rev)[3],
            campaign_count=n_camp,
            ad_count=n_ads,
        ))
    return out
