"""The GAQL subset the Google emulator runs: which fields a resource has, and the rows.

``run_query`` answers a query parsed by ``gaql`` over ``customer``, ``campaign``,
``ad_group_ad`` or ``conversion_action`` (and ``age_range_view`` / ``gender_view``, see
``audience``), grouping by day only when ``segments.date`` is selected.
Rows are GoogleAdsRows in REST JSON (``project``): nested camelCase, int64 as strings,
default values left out as proto3 JSON does (docs/api-reference.md §2.4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from within_daemon.sandbox.google.audience import FIELDS as AUDIENCE_FIELDS
from within_daemon.sandbox.google.audience import audience_rows, metric_values
from within_daemon.sandbox.google.data import (
    ZERO,
    CustomerData,
    Metrics,
    SandboxCustomer,
    sum_days,
)
from within_daemon.sandbox.google.gaql import GaqlError, Query, camel, date_range, holds

_CUSTOMER_FIELDS = frozenset({"customer.id", "customer.descriptive_name",
                              "customer.currency_code", "customer.time_zone",
                              "customer.resource_name"})
_METRIC_FIELDS = frozenset({"metrics.impressions", "metrics.clicks", "metrics.cost_micros",
                            "metrics.conversions", "metrics.conversions_value", "metrics.ctr"})
_CAMPAIGN_FIELDS = frozenset({"campaign.id", "campaign.name", "campaign.status",
                              "campaign.resource_name", "campaign.advertising_channel_type"})
_AD_FIELDS = _CAMPAIGN_FIELDS | frozenset({
    "ad_group.id", "ad_group.name",
    "ad_group.status", "ad_group_ad.status", "ad_group_ad.resource_name", "ad_group_ad.ad.id",
    "ad_group_ad.ad.name", "ad_group_ad.ad.type", "ad_group_ad.ad.final_urls",
    "ad_group_ad.ad.responsive_search_ad.headlines",
    "ad_group_ad.ad.responsive_search_ad.descriptions",
    "ad_group_ad.ad.responsive_search_ad.path1", "ad_group_ad.ad.responsive_search_ad.path2",
})
_CONVERSION_ACTION_FIELDS = frozenset({
    "conversion_action.id", "conversion_action.name", "conversion_action.status",
    "conversion_action.category", "conversion_action.primary_for_goal",
    "conversion_action.include_in_conversions_metric",
    "conversion_action.click_through_lookback_window_days",
    "conversion_action.view_through_lookback_window_days",
})
#: Fields each FROM resource may select or filter on.
FIELDS: dict[str, frozenset[str]] = {
    "conversion_action": _CONVERSION_ACTION_FIELDS,
    "customer": _CUSTOMER_FIELDS | _METRIC_FIELDS | {"segments.date"},
    "campaign": _CUSTOMER_FIELDS | _METRIC_FIELDS | _CAMPAIGN_FIELDS | {"segments.date"},
    "ad_group_ad": _CUSTOMER_FIELDS | _METRIC_FIELDS | _AD_FIELDS | {"segments.date"},
}
#: Resource objects of a row that carry a ``resourceName`` (JSON key -> flat field).
_RESOURCE_NAMES = {"customer": "customer.resource_name", "campaign": "campaign.resource_name",
                   "adGroup": "ad_group.resource_name", "adGroupAd": "ad_group_ad.resource_name"}


def conversion_actions(customer: SandboxCustomer) -> list[dict[str, Any]]:
    """The customer's conversion actions as flat rows.

    One primary purchase action with the customer's window (counted in
    ``metrics.conversions``), a secondary action with a longer window (not counted) and a
    removed one. ``include_in_conversions_metric`` is
    the API's read-only flag for "counts in the Conversions column" (Google Ads API
    ConversionAction reference); windows are int64, so REST JSON carries them as strings.
    """
    cid = int(customer.customer_id)
    base = cid % 1000 * 1000
    return [
        {"conversion_action.id": base + 1, "conversion_action.name": "Purchase",
         "conversion_action.status": "ENABLED", "conversion_action.category": "PURCHASE",
         "conversion_action.primary_for_goal": True,
         "conversion_action.include_in_conversions_metric": True,
         "conversion_action.click_through_lookback_window_days":
             customer.conversion_window_days,
         "conversion_action.view_through_lookback_window_days": 1},
        {"conversion_action.id": base + 2, "conversion_action.name": "Newsletter signup",
         "conversion_action.status": "ENABLED", "conversion_action.category": "SIGNUP",
         "conversion_action.primary_for_goal": False,
         "conversion_action.include_in_conversions_metric": False,
         "conversion_action.click_through_lookback_window_days": 90,
         "conversion_action.view_through_lookback_window_days": 30},
        {"conversion_action.id": base + 3, "conversion_action.name": "Old purchase tag",
         "conversion_action.status": "REMOVED", "conversion_action.category": "PURCHASE",
         "conversion_action.primary_for_goal": True,
         "conversion_action.include_in_conversions_metric": False,
         "conversion_action.click_through_lookback_window_days": 7,
         "conversion_action.view_through_lookback_window_days": 1},
    ]


def project(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A GoogleAdsRow in REST JSON: nested camelCase, int64 as strings, defaults left out."""
    out: dict[str, Any] = {}
    for f in fields:
        v = row.get(f)
        if v is None or v == 0 or v == "" or v == []:
            continue  # proto3 JSON omits default values
        node = out
        parts = camel(f).split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
    for key, flat in _RESOURCE_NAMES.items():
        if key in out and row.get(flat):
            out[key]["resourceName"] = row[flat]
    ad = out.get("adGroupAd", {}).get("ad")
    if isinstance(ad, dict) and row.get("ad_group_ad.ad.id"):
        ad["resourceName"] = f"customers/{row['customer.id']}/ads/{row['ad_group_ad.ad.id']}"
    return out


def run_query(data: CustomerData, q: Query) -> list[dict[str, Any]]:
    """Rows (already projected) a query returns for one customer, in (day, ad) order."""
    allowed = FIELDS.get(q.resource) or AUDIENCE_FIELDS.get(q.resource)
    if allowed is None:
        raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                        f"Resource '{q.resource}' is not supported by the sandbox.")
    for f in (*q.fields, *(c.field for c in q.conditions)):
        if f not in allowed:
            raise GaqlError("UNRECOGNIZED_FIELD",
                            f"Field '{f}' cannot be used with resource '{q.resource}'.")
    if q.resource == "conversion_action":
        return [project(row, q.fields) for row in conversion_actions(data.customer)
                if all(holds(c, row) for c in q.conditions)]
    today = data.today()
    lo, hi = date_range(q, today)
    by_day = "segments.date" in q.fields
    if by_day and (lo is None or hi is None):
        raise GaqlError("EXPECTED_FILTERS_ON_DATE_RANGE",
                        "A finite date range filter on segments.date is required.")
    with_metrics = by_day or any(f.startswith("metrics.") for f in q.fields)
    others = [c for c in q.conditions if c.field != "segments.date"]
    if q.resource in AUDIENCE_FIELDS:  # age_range_view, gender_view: see google_audience
        if not by_day:
            raise GaqlError("PROHIBITED_FIELD_IN_SELECT_WHERE_CLAUSE",
                            "The sandbox serves audience views by segments.date only.")
        found = [project(r, q.fields) for r in audience_rows(
                     data, q.resource, data.span(lo or data.active_from, hi or today))
                 if all(holds(c, r) for c in others)]
        return found[: q.limit] if q.limit is not None else found
    # Entities and the metric profiles each one sums: an ad its own, a campaign its ads (or
    # itself, for PMax), the customer everything (PMax included: it is in the totals).
    ents: list[tuple[dict[str, Any], tuple[int, ...]]] = (
        [(a, (i,)) for i, a in enumerate(data.attrs)] if q.resource == "ad_group_ad"
        else data.campaigns if q.resource == "campaign"
        else [(data.customer_attrs, tuple(range(data.n_profiles)))])
    days = data.span(lo or data.active_from, hi or today)

    cells: Iterable[tuple[dict[str, Any], int | None, Metrics | None]] = (
        ((a, o, sum_days(data, ix, range(o, o + 1))) for o in days for a, ix in ents) if by_day
        else ((a, None, sum_days(data, ix, days)) for a, ix in ents) if with_metrics
        else ((a, None, None) for a, _ in ents)
    )
    out: list[dict[str, Any]] = []
    for attrs, o, m in cells:
        if m == ZERO:
            continue  # no activity: Google returns no row
        row = dict(attrs)
        if m is not None:
            row.update(metric_values(m))
        if o is not None:
            row["segments.date"] = dt.date.fromordinal(o).isoformat()
        if all(holds(c, row) for c in others):
            out.append(project(row, q.fields))
            if q.limit is not None and len(out) >= q.limit:
                break
    return out
