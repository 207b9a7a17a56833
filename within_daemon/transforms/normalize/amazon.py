"""Amazon Ads report rows -> normalized ad-day and account-day records (pure functions).

Ad rows are ``spAdvertisedProduct`` DAILY rows (docs/api-reference.md §3.3): ids are JSON numbers
and
become strings, ``cost`` and ``salesNd`` are decimals in the profile currency, counts are
integers. Account rows are the connector's per-day sums of the ``spCampaigns`` report in
the same column names (plus ``campaigns``). The attribution window (``1d``/``7d``/``14d``/
``30d``) comes from the account info (``attribution_window``, the connector's config) and
picks ``purchasesNd`` as conversions and ``salesNd`` as revenue; a row without that column
gets ``None``, not 0, because Amazon always sends the columns it was asked for.

Sponsored Brands (``sbAds``) and Display (``sdAdvertisedProduct``) rows carry bare
``purchases``/``sales`` (14 days; ``attribution_window`` 14d on their records). Sponsored
Products and Display ads have no creative text; a Sponsored Brands ad gets its headline and
landing page from the connector's ``/sb/v4/ads/list`` (the ``ads`` mapping). Status and
start/end dates stay ``None`` (not in these reports).
Values that do not parse stay raw for the validator, exactly as for Facebook.
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

WINDOWS = ("1d", "7d", "14d", "30d")
DEFAULT_WINDOW = "7d"
#: Sponsored Brands and Display report their conversions over 14 days.
OTHER_WINDOW = "14d"


def attribution_window(account: AccountInfo) -> str:
    """The account's window, or the default when missing or not one Amazon offers."""
    w = account.attribution_window
    return w if w in WINDOWS else DEFAULT_WINDOW


def _id(v: Any) -> Any:
    """Ids arrive as JSON numbers; records carry them as strings (other types stay raw)."""
    cls = v.__class__
    if cls is int:
        return str(v)
    if cls is float and v.is_integer():
        return str(int(v))
    return v


def _money(v: Any) -> Any:
    """Decimal amount as float (ints too); None stays None, anything else stays raw."""
    return None if v is None else as_float(v)


def _derived(imp: Any, clk: Any, spend: Any, conv: Any, rev: Any) -> dict[str, Any]:
    """The shared ratio rules, by name."""
    ctr, cvr, cpa, roas = derived_ratios(imp, clk, spend, conv, rev)
    return {"ctr": ctr, "conversion_rate": cvr, "cpa": cpa, "roas": roas}


def amazon_ads(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    ads: Mapping[str, Any] | None = None,
    account: AccountInfo,
) -> list[AdDay]:
    """One ad-day record per report row, in input order."""
    window = attribution_window(account)
    p_col, s_col = f"purchases{window}", f"sales{window}"
    acct_id, acct_currency = _id(account.account_id), account.currency
    ads = ads or {}
    out: list[AdDay] = []
    for row in data:
        if row.__class__ is not dict:
            row = {}
        imp = as_int(row.get("impressions"))
        clk = as_int(row.get("clicks"))
        spend = _money(row.get("cost"))
        # Sponsored Brands / Display rows carry bare purchases/sales (their 14 days).
        other = "purchases" in row or "sales" in row
        pc, sc = ("purchases", "sales") if other else (p_col, s_col)
        conv = None if row.get(pc) is None else as_conversions(row[pc])
        rev = _money(row.get(sc))
        ratio = _derived(imp, clk, spend, conv, rev)
        creative, page = _sb_creative(ads.get(str(_id(row.get("adId")))))
        out.append(AdDay(
            ad_id=_id(row.get("adId")),
            platform="amazon",
            account_id=acct_id,
            campaign_id=_id(row.get("campaignId")),
            ad_group_id=_id(row.get("adGroupId")),
            headline=creative.get("headline"),
            description=None,
            cta=None,
            image_url=None,
            video_url=None,
            landing_page_url=page.get("url"),
            start_date=None,
            end_date=None,
            status=None,
            impressions=imp,
            clicks=clk,
            ctr=ratio["ctr"],
            spend=spend,
            conversions=conv,
            conversion_rate=ratio["conversion_rate"],
            cpa=ratio["cpa"],
            roas=ratio["roas"],
            relevance_score=None,
            quality_score=None,
            date=row.get("date"),
            currency=row.get("campaignBudgetCurrencyCode") or acct_currency,
            revenue=rev,
            attribution_window=OTHER_WINDOW if other else window,
            link_clicks=None,  # every Amazon click is a click to the product page
        ))
    return out


def _sb_creative(ad: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(creative, landingPage) of a Sponsored Brands ad from ``/sb/v4/ads/list``."""
    if ad.__class__ is not dict:
        return {}, {}
    creative, page = ad.get("creative"), ad.get("landingPage")
    return (creative if creative.__class__ is dict else {},
            page if page.__class__ is dict else {})


def amazon_accounts(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    account: AccountInfo,
    counts: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> list[AccountDay]:
    """One account-day record per day-total row, in input order."""
    window = attribution_window(account)
    p_col, s_col = f"purchases{window}", f"sales{window}"
    counts = counts or {}
    out: list[AccountDay] = []
    for row in data:
        if row.__class__ is not dict:
            row = {}
        day = row.get("date")
        spend = _money(row.get("cost"))
        rev = _money(row.get(s_col))
        campaigns, n_ads = counts.get(day, (None, None)) if day.__class__ is str else (None, None)
        out.append(AccountDay(
            account_id=_id(account.account_id),
            platform="amazon",
            account_name=account.name,
            currency=row.get("campaignBudgetCurrencyCode") or account.currency,
            timezone=account.timezone,
            date=day,
            daily_spend=spend,
            daily_impressions=as_int(row.get("impressions")),
            daily_clicks=as_int(row.get("clicks")),
            daily_conversions=(None if row.get(p_col) is None
                                  else as_conversions(row[p_col])),
            daily_revenue=rev,
            daily_roas=_derived(None, None, spend, None, rev)["roas"],
            campaign_count=campaigns if campaigns is not None else row.get("campaigns"),
            ad_count=n_ads,
        ))
    return out
