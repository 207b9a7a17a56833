"""Google Ads GoogleAdsRows -> normalized ad-day and account-day records (pure functions).

Rows arrive in the REST JSON mapping (docs/api-reference.md §2.4): nested lowerCamelCase objects,
int64 values (ids, impressions, clicks, ``costMicros``) as strings, doubles
(``conversions``, ``conversionsValue``) as numbers, and zero metrics left out entirely —
an absent metric is 0, not unknown. Money is ``costMicros / 1e6`` in the customer's
currency. Conversions are fractional in Google (data-driven attribution splits them;
``metrics.conversions`` is a double): the fraction is kept as it came, so ad rows add up to
the customer's total and cpa / conversion_rate use the exact count (an ``int`` when whole).
Revenue keeps ``conversionsValue`` as is. A value that does not parse is passed through
raw so the validator quarantines the record.

Performance Max campaigns have no ads: their rows come from ``FROM campaign`` (no
``adGroupAd``, ``campaign.advertisingChannelType = PERFORMANCE_MAX``) and become campaign-level
ad-day records, ``ad_id = "campaign:<id>"`` (``schema.CAMPAIGN_LEVEL_PREFIX``), with no ad
group and no creative, so ad rows add up to the customer's totals.

Ad text comes from the ``iter_ads`` rows (keyed by ad id): the first responsive search ad
headline (a headline pinned to HEADLINE_1 wins) and description, and the first final URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from within_daemon.records import AccountDay, AdDay
from within_daemon.schema import CAMPAIGN_LEVEL_PREFIX, AccountInfo
from within_daemon.transforms.normalize.values import (
    NormalizerSettings,
    as_conversions,
    as_float,
    as_int,
    derived_ratios,
)

_STATUS = {"ENABLED": "active", "PAUSED": "paused", "REMOVED": "deleted"}
_NO_TEXT: tuple[Any, Any, Any, Any] = (None, None, None, None)


def _d(v: Any) -> dict[str, Any]:
    return v if v.__class__ is dict else {}


def _id(v: Any) -> Any:
    """Ids as strings even when a client or proxy turned the int64 into a JSON number."""
    if v.__class__ is int:
        return str(v)
    return v if v != "" else None


def _count(v: Any) -> Any:
    return 0 if v is None else as_int(v)


def _micros(v: Any) -> Any:
    """``costMicros`` -> money; absent is 0.0, unparsable stays raw for the validator."""
    if v is None:
        return 0.0
    n = as_int(v)
    return n / 1_000_000 if n.__class__ is int else v


def _conversions(v: Any) -> Any:
    """Conversions as the API served them, fraction included; absent is 0."""
    return 0 if v is None else as_conversions(v)


def _value(v: Any) -> Any:
    return 0.0 if v is None else as_float(v)


def _pick(assets: Any, pinned: str) -> Any:
    """Text of the asset pinned to ``pinned``, else of the first asset."""
    if assets.__class__ is not list or not assets:
        return None
    for a in assets:
        if a.__class__ is dict and a.get("pinnedField") == pinned and a.get("text"):
            return a["text"]
    first = assets[0]
    return first.get("text") if first.__class__ is dict else None


def _ad_text(ad_row: Any) -> tuple[Any, Any, Any, Any]:
    """(headline, description, landing page, status) of one ``iter_ads`` row."""
    if ad_row.__class__ is not dict:
        return _NO_TEXT
    aga = _d(ad_row.get("adGroupAd"))
    ad = _d(aga.get("ad"))
    rsa = _d(ad.get("responsiveSearchAd"))
    eta = _d(ad.get("expandedTextAd"))
    urls = ad.get("finalUrls")
    return (
        _pick(rsa.get("headlines"), "HEADLINE_1") or eta.get("headlinePart1") or ad.get("name"),
        _pick(rsa.get("descriptions"), "DESCRIPTION_1") or eta.get("description"),
        urls[0] if urls.__class__ is list and urls else None,
        aga.get("status"),
    )


def _status(v: Any) -> Any:
    return _STATUS.get(v, "other") if v.__class__ is str else None


def google_ads(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    ads: Mapping[str, Any] | None = None,
    account: AccountInfo,
) -> list[AdDay]:
    ads = ads or {}
    texts: dict[str, tuple[Any, Any, Any, Any]] = {}
    out: list[AdDay] = []
    for row in data:
        if row.__class__ is not dict:
            row = {}
        aga = _d(row.get("adGroupAd"))
        ad = _d(aga.get("ad"))
        ad_id = _id(ad.get("id"))
        camp = _d(row.get("campaign"))
        info = _NO_TEXT
        pmax = "adGroupAd" not in row and camp.get("advertisingChannelType") == "PERFORMANCE_MAX"
        if pmax:
            cid = _id(camp.get("id"))
            ad_id = f"{CAMPAIGN_LEVEL_PREFIX}{cid}" if cid.__class__ is str else None
            info = (None, None, None, camp.get("status"))
        elif ad_id.__class__ is str:
            cached = texts.get(ad_id)
            if cached is None:
                # The row itself may carry the ad text when a caller selected it there.
                cached = texts[ad_id] = _ad_text(ads.get(ad_id) or row)
            info = cached
        m = _d(row.get("metrics"))
        cust = _d(row.get("customer"))
        imp = _count(m.get("impressions"))
        clk = _count(m.get("clicks"))
        spend = _micros(m.get("costMicros"))
        conv = _conversions(m.get("conversions"))
        rev = _value(m.get("conversionsValue"))
        ctr, cvr, cpa, roas = derived_ratios(imp, clk, spend, conv, rev)
        out.append(AdDay(
            ad_id=ad_id,
            platform="google",
            account_id=_id(cust.get("id")) or _id(account.account_id),
            campaign_id=_id(_d(row.get("campaign")).get("id")),
            ad_group_id=_id(_d(row.get("adGroup")).get("id")),
            headline=info[0],
            description=info[1],
            cta=None,  # search ads have no call-to-action button
            image_url=None,
            video_url=None,
            landing_page_url=info[2],
            start_date=None,
            end_date=None,
            status=_status(aga.get("status") or info[3]),
            impressions=imp,
            clicks=clk,
            ctr=ctr,
            spend=spend,
            conversions=conv,
            conversion_rate=cvr,
            cpa=cpa,
            roas=roas,
            relevance_score=None,
            quality_score=None,  # Google scores keywords, not ads
            date=_d(row.get("segments")).get("date"),
            currency=cust.get("currencyCode") or account.currency,
            revenue=rev,
        ))
    return out


def google_accounts(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    account: AccountInfo,
    counts: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> list[AccountDay]:
    counts = counts or {}
    out: list[AccountDay] = []
    for row in data:
        if row.__class__ is not dict:
            row = {}
        m = _d(row.get("metrics"))
        cust = _d(row.get("customer"))
        day = _d(row.get("segments")).get("date")
        spend = _micros(m.get("costMicros"))
        rev = _value(m.get("conversionsValue"))
        campaigns, ad_count = (
            counts.get(day, (None, None)) if day.__class__ is str else (None, None)
        )
        out.append(AccountDay(
            account_id=_id(cust.get("id")) or _id(account.account_id),
            platform="google",
            account_name=account.name or cust.get("descriptiveName"),
            currency=cust.get("currencyCode") or account.currency,
            timezone=cust.get("timeZone") or account.timezone,
            date=day,
            daily_spend=spend,
            daily_impressions=_count(m.get("impressions")),
            daily_clicks=_count(m.get("clicks")),
            daily_conversions=_conversions(m.get("conversions")),
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
