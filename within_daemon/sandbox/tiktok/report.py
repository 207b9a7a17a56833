"""The TikTok emulator's BASIC and AUDIENCE reports: checks, paging and row faults.

``report_page`` checks a ``/report/integrated/get/`` request as the API does (report type,
data level and its dimensions, metrics, a date range of at most ``MAX_DAYS``) and serves one
page of it; ``row_faults`` applies the value-encoding faults (mixed types, null metrics,
ids as numbers) to a page, each to the whole page when it fires.
"""

from __future__ import annotations

from typing import Any

from within_daemon.sandbox.faults import FaultPlan
from within_daemon.sandbox.tiktok.audience import audience_report, check_audience
from within_daemon.sandbox.tiktok.data import (
    AD_ATTRIBUTES,
    VALUE_METRICS,
    AdvertiserData,
    api_error,
    bad_param,
    ids_as_numbers,
    include_deleted,
    mix_types,
    page_info,
    report_row,
)
from within_daemon.sandbox.tiktok.params import MAX_PAGE_SIZE, day_param, int_param, json_list

#: Longest date range of a daily report (Airbyte steps daily reports by 30 days).
MAX_DAYS = 30


def report_page(faults: FaultPlan, data: AdvertiserData, params: dict[str, str],
                ctx: dict[str, Any], today: int) -> dict[str, Any]:
    """One page of ``/report/integrated/get/``, checked as the API does, faults applied."""
    audience = params.get("report_type") == "AUDIENCE"  # see audience.py
    if params.get("report_type") != "BASIC" and not audience:
        raise bad_param("report_type: the sandbox serves BASIC and AUDIENCE reports only.")
    level = params.get("data_level", "AUCTION_AD")
    dims = json_list(params, "dimensions") or []
    metrics = json_list(params, "metrics") or ["spend", "impressions"]
    if audience:
        check_audience(level, dims, metrics)
        allowed = VALUE_METRICS
    elif level == "AUCTION_AD":
        if sorted(dims) != ["ad_id", "stat_time_day"]:
            raise bad_param("dimensions: AUCTION_AD needs ad_id and stat_time_day.")
        allowed = VALUE_METRICS | AD_ATTRIBUTES
    elif level == "AUCTION_ADVERTISER":
        if sorted(dims) not in (["stat_time_day"], ["advertiser_id", "stat_time_day"]):
            raise bad_param("dimensions: AUCTION_ADVERTISER needs stat_time_day.")
        allowed = VALUE_METRICS
    else:
        raise bad_param(f"data_level: {level} is not served by the sandbox.")
    unknown = [m for m in metrics if m not in allowed]
    if unknown:
        raise bad_param(f"metrics: Invalid metric(s) {unknown} for {level}.")
    since, until = day_param(params, "start_date"), day_param(params, "end_date")
    if until < since:
        raise bad_param("end_date: must not be before start_date.")
    span = until - since + 1
    if span > MAX_DAYS or faults.take(
        "query_too_large", ctx["account"], "report",
        when=lambda f: span > f.param("max_days", 1),
    ):
        raise api_error(40067)
    page = int_param(params, "page", 1, 10**9)
    size = int_param(params, "page_size", 10, MAX_PAGE_SIZE)
    lo, hi = data.span(since, until, today)
    if audience:
        return audience_report(data, dims, metrics, json_list(params, "filtering"), lo,
                               hi, page, size)
    days = max(0, hi - lo + 1)
    if level == "AUCTION_AD":
        # Deleted ads are left out unless the ad_status filter asks for STATUS_ALL.
        filtering = json_list(params, "filtering")
        ads = [a for a in data.ads if not a.deleted or include_deleted(filtering)]
        total = days * len(ads)
    else:
        ads, total = [], days
    start, stop = (page - 1) * size, min(page * size, total)
    rows = [report_row(data, level, dims, metrics, ads, lo, p) for p in range(start, stop)]
    row_faults(faults, ctx, rows, start)
    info = page_info(page, size, total)
    if rows and page < info["total_page"] and (
        f := faults.take("drop_rows", ctx["account"], "report")
    ):
        del rows[-f.param("n", 1):]  # a short page the client must notice
    return {"list": rows, "page_info": info}

def row_faults(faults: FaultPlan, ctx: dict[str, Any], rows: list[dict[str, Any]],
               start: int) -> None:
    """Value-encoding faults, each applied to a whole page when it fires."""
    acct = ctx["account"]
    if f := faults.take("mixed_types", acct, "report"):
        every = f.param("every", 1)
        for k, r in enumerate(rows):
            if (start + k) % every == 0:
                mix_types(r["metrics"], start + k)
    if f := faults.take("null_metrics", acct, "report"):
        names = str(f.params.get("fields", "conversion")).split(",")
        every = f.param("every", 2)
        for k, r in enumerate(rows):
            if (start + k) % every == 0:
                for name in names:
                    if name in r["metrics"]:
                        r["metrics"][name] = None
    if faults.take("ids_as_numbers", ctx["account"], ctx["kind"]) is not None:
        for r in rows:
            ids_as_numbers(r["dimensions"])
            ids_as_numbers(r["metrics"])
