"""TikTok demographics: ``report_type=AUDIENCE`` rows by ad, day, age and gender.

The audience report takes the BASIC report's parameters with ``report_type=AUDIENCE``
and the ``age`` and ``gender`` dimensions (TikTok "Audience reports" guide, Doc ID
1738864928947201; Airbyte's source-tiktok-marketing asks the same). Like daily BASIC
reports it covers at most 30 days per request, so the range is chunked the same way.
Audience data lags 10 to 12 hours behind (same guide): the next run pulls the days again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .connector import ALL_AD_STATUSES, MAX_DAYS, day_chunks, query_json

AUDIENCE_DIMENSIONS = ("ad_id", "stat_time_day", "age", "gender")
AUDIENCE_METRICS = ("spend", "impressions", "clicks", "conversion")


async def iter_tiktok_audience(
    conn: Any, date_range: tuple[str, str]
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of raw audience report rows (``dimensions`` and ``metrics``) over the range."""
    for since, until in day_chunks(*date_range, min(MAX_DAYS, conn.config.window_days)):
        params = {
            "advertiser_id": conn.account_id, "service_type": "AUCTION",
            "report_type": "AUDIENCE", "data_level": "AUCTION_AD",
            "dimensions": query_json(list(AUDIENCE_DIMENSIONS)),
            "metrics": query_json(list(AUDIENCE_METRICS)),
            "filtering": query_json(ALL_AD_STATUSES), "start_date": since, "end_date": until,
        }
        async for rows in conn.pages("report/integrated/get", params, endpoint="audience"):
            yield rows
