"""Google Ads demographics: ``age_range_view`` and ``gender_view`` rows for one customer.

Google reports age and gender per ad group criterion, each on its own view and never
crossed ("the Google Ads API does not support segmenting metrics by both age range and
gender simultaneously", AgeRangeView reference), so ``iter_google_audience`` runs two GAQL
queries over the range and tags each row with the view it came from (``_view``).
``transforms.enrichment.audience.normalize_google_audience`` turns them into
``audience_data`` rows at ad group level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

_METRICS = "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions"
AUDIENCE_QUERIES: dict[str, str] = {
    view: (f"SELECT campaign.id, ad_group.id, ad_group_criterion.criterion_id, "
           f"ad_group_criterion.{crit}.type, segments.date, {_METRICS} FROM {view} "
           "WHERE segments.date BETWEEN '{since}' AND '{until}'")
    for view, crit in (("age_range_view", "age_range"), ("gender_view", "gender"))
}


async def iter_google_audience(
    conn: Any, date_range: tuple[str, str]
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of GoogleAdsRows of both views, each row with ``_view`` set to its view."""
    # Parsed, not pasted: a date is the only caller input that reaches the GAQL string.
    since, until = (date.fromisoformat(d).isoformat() for d in date_range)
    for view, query in AUDIENCE_QUERIES.items():
        async for rows in conn.gaql(query.format(since=since, until=until),
                                    endpoint=f"audience_{view}"):
            yield [{**r, "_view": view} for r in rows if isinstance(r, dict)]
