"""TikTok audience reports for the emulator: ``report_type=AUDIENCE`` by age and gender.

``/report/integrated/get/`` with ``report_type=AUDIENCE``, ``data_level=AUCTION_AD`` and
``dimensions`` ``["ad_id", "stat_time_day", "age", "gender"]`` (or only one of age and
gender) splits each ad-day of the BASIC report into segments whose metrics add up to it.
Real clients ask for exactly these dimensions (Airbyte's source-tiktok-marketing audience
streams: ``["advertiser_id"|"ad_id", "stat_time_day", "gender", "age"]``; TikTok's
"Audience reports" guide, Doc ID 1738864928947201). Values as TikTok sends them: ``age``
``AGE_13_17`` … ``AGE_55_100``, ``gender`` ``MALE``, ``FEMALE`` or ``NONE``; segments
without impressions have no row. Audience reports have no CHUNK mode and no lifetime
metrics (same guide); the sandbox pages them like BASIC reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from within_daemon.sandbox.audience_split import split, weights
from within_daemon.sandbox.tiktok.data import (
    VALUE_METRICS,
    AdvertiserData,
    bad_param,
    include_deleted,
    metric_value,
    page_info,
    stamp,
)

AGES: tuple[str, ...] = ("AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54",
                         "AGE_55_100")
GENDERS: tuple[str, ...] = ("MALE", "FEMALE", "NONE")
_SEGMENT_DIMS = frozenset({"age", "gender"})


def segments(dims: set[str]) -> list[tuple[str | None, str | None]]:
    """(age, gender) pairs a report splits by; None where the dimension is not asked for."""
    ages: tuple[str | None, ...] = AGES if "age" in dims else (None,)
    genders: tuple[str | None, ...] = GENDERS if "gender" in dims else (None,)
    return [(a, g) for a in ages for g in genders]


def check_audience(level: str, dims: list[Any], metrics: list[Any]) -> None:
    """Refuse what the sandbox does not serve, as TikTok refuses a bad parameter."""
    wanted = set(dims)
    if level != "AUCTION_AD" or not (
            {"ad_id", "stat_time_day"} <= wanted and wanted & _SEGMENT_DIMS
            and wanted <= {"ad_id", "stat_time_day"} | _SEGMENT_DIMS):
        raise bad_param("dimensions: the sandbox serves AUCTION_AD audience reports by "
                        "ad_id, stat_time_day and age and/or gender.")
    unknown = [m for m in metrics if m not in VALUE_METRICS]
    if unknown:
        raise bad_param(f"metrics: Invalid metric(s) {unknown} for audience reports.")


def audience_report(data: AdvertiserData, dims: list[Any], metrics: list[Any],
                    filtering: Any, lo: int, hi: int, page: int,
                    size: int) -> dict[str, Any]:
    """One page of an AUCTION_AD audience report over days ``lo..hi`` (already clipped)."""
    ads = [a for a in data.ads if not a.deleted or include_deleted(filtering)]
    segs = segments(set(dims))
    rows: list[dict[str, Any]] = []
    for day in range(lo, hi + 1):
        for ad in ads:
            sample = data.ad_day(ad.index, day)
            if sample[0] == 0:
                continue
            w = weights(int(ad.id), [f"{a}/{g}" for a, g in segs])
            parts = [split(v, w) for v in sample]
            for k, (age, gender) in enumerate(segs):
                m = (parts[0][k], parts[1][k], parts[2][k], parts[3][k], parts[4][k])
                if m[0] == 0:
                    continue
                d: dict[str, Any] = {"ad_id": ad.id,
                                     "stat_time_day": stamp(dt.date.fromordinal(day))}
                if age is not None:
                    d["age"] = age
                if gender is not None:
                    d["gender"] = gender
                rows.append({"dimensions": d,
                             "metrics": {n: metric_value(n, m) for n in metrics}})
    start = (page - 1) * size
    return {"list": rows[start:start + size], "page_info": page_info(page, size, len(rows))}
