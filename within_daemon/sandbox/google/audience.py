"""Google Ads ``age_range_view`` and ``gender_view`` for the emulator (pure).

Google reports demographics per ad group criterion, not per ad, and never age and gender
crossed: "All statistics are aggregated at the ad group level" and "the Google Ads API
does not support segmenting metrics by both age range and gender simultaneously in a
single query" (Google Ads API reference, AgeRangeView,
https://developers.google.com/google-ads/api/reference/rpc/v20/AgeRangeView; GenderView
alike). So a query ``FROM age_range_view`` returns one row per ad group, age range
criterion and day, with ``ad_group_criterion.age_range.type`` (``AGE_RANGE_18_24`` …
``AGE_RANGE_65_UP``, ``AGE_RANGE_UNDETERMINED``) and the fixed criterion ids Google uses
for them (503001 … 503006, 503999); ``FROM gender_view`` one per ad group, gender
(``MALE``, ``FEMALE``, ``UNDETERMINED``; criteria 10, 11, 20) and day. The segments of an
ad group-day add up exactly to the sum of its ads' metrics on ``ad_group_ad``. The ids are
the enum numbers of ``AgeRangeTypeEnum`` and ``GenderTypeEnum`` in Google's generated client
code (googleapis google-ads-python, ``enums/types/age_range_type.py`` and
``gender_type.py``: 503001 … 503006, 503999; 10, 11, 20), which are also the criterion ids
of the demographic criteria; checked 2026-12-05.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from within_daemon.sandbox.audience_split import split, weights

AGE_RANGES: tuple[tuple[str, int], ...] = (
    ("AGE_RANGE_18_24", 503001), ("AGE_RANGE_25_34", 503002), ("AGE_RANGE_35_44", 503003),
    ("AGE_RANGE_45_54", 503004), ("AGE_RANGE_55_64", 503005), ("AGE_RANGE_65_UP", 503006),
    ("AGE_RANGE_UNDETERMINED", 503999),
)
GENDERS: tuple[tuple[str, int], ...] = (("MALE", 10), ("FEMALE", 11), ("UNDETERMINED", 20))
#: FROM resource -> (segments, the criterion field naming the segment).
VIEWS: dict[str, tuple[tuple[tuple[str, int], ...], str]] = {
    "age_range_view": (AGE_RANGES, "ad_group_criterion.age_range.type"),
    "gender_view": (GENDERS, "ad_group_criterion.gender.type"),
}
_COMMON = frozenset({
    "customer.id", "campaign.id", "ad_group.id", "ad_group.name",
    "ad_group_criterion.criterion_id", "segments.date", "metrics.impressions",
    "metrics.clicks", "metrics.cost_micros", "metrics.conversions",
    "metrics.conversions_value", "metrics.ctr",
})
FIELDS: dict[str, frozenset[str]] = {
    view: _COMMON | {type_field, f"{view}.resource_name"}
    for view, (_, type_field) in VIEWS.items()
}


def metric_values(m: tuple[int, int, int, int, int]) -> dict[str, Any]:
    """The ``metrics.*`` fields of one sample (int64 as int, doubles as float)."""
    return {"metrics.impressions": m[0], "metrics.clicks": m[1], "metrics.cost_micros": m[2],
            "metrics.conversions": m[3] / 100, "metrics.conversions_value": m[4] / 100,
            "metrics.ctr": m[1] / m[0] if m[0] else 0.0}


def audience_rows(data: Any, resource: str, days: range) -> list[dict[str, Any]]:
    """Flat rows (field -> value) of ``resource`` over ``days``, ad group by ad group.

    ``data`` is a ``data.CustomerData``; ad groups without delivery on a day and
    segments without impressions have no row, as in the real API.
    """
    segments, type_field = VIEWS[resource]
    groups: dict[int, list[int]] = {}
    for i, attrs in enumerate(data.attrs):
        groups.setdefault(int(attrs["ad_group.id"]), []).append(i)
    cid = data.customer_attrs["customer.id"]
    out: list[dict[str, Any]] = []
    for o in days:
        for group_id, ads in groups.items():
            total = [0, 0, 0, 0, 0]
            for i in ads:
                for k, v in enumerate(data.ad_day(i, o)):
                    total[k] += v
            if total[0] == 0:
                continue
            w = weights(group_id, [s for s, _ in segments], salt=len(resource))
            parts = [split(v, w) for v in total]
            first = data.attrs[ads[0]]
            for s, (name, crit) in enumerate(segments):
                m = (parts[0][s], parts[1][s], parts[2][s], parts[3][s], parts[4][s])
                if m[0] == 0:
                    continue
                out.append({
                    "customer.id": cid, "campaign.id": first["campaign.id"],
                    "ad_group.id": group_id, "ad_group.name": first.get("ad_group.name"),
                    "ad_group_criterion.criterion_id": crit, type_field: name,
                    f"{resource}.resource_name":
                        f"customers/{cid}/{_plural(resource)}/{group_id}~{crit}",
                    "segments.date": dt.date.fromordinal(o).isoformat(),
                    **metric_values(m),
                })
    return out


def _plural(resource: str) -> str:
    return "ageRangeViews" if resource == "age_range_view" else "genderViews"
