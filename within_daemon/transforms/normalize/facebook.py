"""Facebook insights rows (and ad objects) -> normalized ad-day and account-day records.

Rows are Graph API insights rows (docs/api-reference.md §1): numbers as strings, conversions and
revenue as ``actions`` / ``action_values`` lists summed over the configured action types
(``facebook_actions.ActionPlan``). Creative, landing page, dates and status come from the
ad objects (the ``ads`` mapping, by ad id), computed once per ad per run.

``quality_ranking`` -> ``quality_score`` uses the middle of the percentile band each label
stands for: BELOW_AVERAGE_10 (bottom 10 %) 0.05, BELOW_AVERAGE_20 0.15, BELOW_AVERAGE_35
0.275, AVERAGE 0.5, ABOVE_AVERAGE 0.8; UNKNOWN or absent -> None. ``relevance_score`` stays
None (Facebook retired it in 2019).
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

FB_WATCH_URL = "https://www.facebook.com/watch/?v={}"

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


def facebook_ads(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    ads: Mapping[str, Any] | None = None,
    account: AccountInfo,
) -> list[AdDay]:
    conv_total = cfg.conversion_plan.total
    rev_total = cfg.revenue_plan.total
    acct_id = _strip_act(account.account_id)
    acct_currency = account.currency
    infos: dict[str, _AdInfo] = cfg.ad_infos(ads)
    ads = ads or {}
    quality = _FB_QUALITY
    out: list[AdDay] = []
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
        imp = as_int(row.get("impressions"))
        clk = as_int(row.get("clicks"))
        spend = as_float(row.get("spend"))
        conv = conv_total(row.get("actions"), as_conversions)
        rev = rev_total(row.get("action_values"), as_float)
        if rev.__class__ is int:
            rev = float(rev)
        ctr, cvr, cpa, roas = derived_ratios(imp, clk, spend, conv, rev)
        append(AdDay(
            ad_id=ad_id,
            platform="facebook",
            account_id=_strip_act(row.get("account_id")) or acct_id,
            campaign_id=row.get("campaign_id") or info[0],
            ad_group_id=row.get("adset_id") or info[1],
            headline=info[2],
            description=info[3],
            cta=info[4],
            image_url=info[5],
            video_url=info[6],
            landing_page_url=info[7],
            start_date=info[8],
            end_date=info[9],
            status=info[10],
            impressions=imp,
            clicks=clk,
            ctr=ctr,
            spend=spend,
            conversions=conv,
            conversion_rate=cvr,
            cpa=cpa,
            roas=roas,
            relevance_score=None,
            quality_score=(
                quality.get(qr) if (qr := row.get("quality_ranking")).__class__ is str else None
            ),
            date=row.get("date_start"),
            currency=row.get("account_currency") or acct_currency,
            revenue=rev,
            # Beside the seed's fields (loaded into columns of the same name): "Link clicks"
            # next to "Clicks (all)", and the ad set's own attribution setting, which
            # insights report since June 2025 (reference §0).
            attribution_window=row.get("attribution_setting"),
            link_clicks=as_int(lc) if (lc := row.get("inline_link_clicks")) is not None
            else None,
        ))
    return out


def facebook_accounts(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    account: AccountInfo,
    counts: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> list[AccountDay]:
    acct_id = _strip_act(account.account_id)
    acct_name = account.name
    counts = counts or {}
    out: list[AccountDay] = []
    for row in data:
        if row.__class__ is not dict:
            row = {}
        day = row.get("date_start")
        spend = as_float(row.get("spend"))
        rev = cfg.revenue_plan.total(row.get("action_values"), as_float)
        if rev.__class__ is int:
            rev = float(rev)
        campaigns, ad_count = (
            counts.get(day, (None, None)) if day.__class__ is str else (None, None)
        )
        out.append(AccountDay(
            account_id=_strip_act(row.get("account_id")) or acct_id,
            platform="facebook",
            account_name=acct_name or row.get("account_name"),
            currency=row.get("account_currency") or account.currency,
            timezone=account.timezone,
            date=day,
            daily_spend=spend,
            daily_impressions=as_int(row.get("impressions")),
            daily_clicks=as_int(row.get("clicks")),
            daily_conversions=cfg.conversion_plan.total(row.get("actions"), as_conversions),
            daily_revenue=rev,
            daily_roas=(
                rev / spend
                if spend.__class__ is float and spend and rev.__class__ is float
                else None
            ),
            campaign_count=campaigns,
            ad_count=ad_count,
        ))
    return out

