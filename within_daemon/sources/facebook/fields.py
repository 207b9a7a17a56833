"""What the Facebook connector asks Graph for: fields per call and the ad status filter.

Graph returns only the fields a request names, and hides some rows unless asked, so these
constants decide what the daemon can ever see. Kept in one place so that a missing field
or filter is a one-line fix, reviewed next to its reason.
"""

from __future__ import annotations

import msgspec

AD_FIELDS = (
    "id,name,status,effective_status,campaign_id,adset_id,created_time,updated_time,"
    "creative{title,body,call_to_action_type,image_url,video_id,thumbnail_url,link_url,"
    "object_story_spec},adset{start_time,end_time}"
)
#: Only what normalization uses: account id and currency come from the account itself,
#: and ctr is recomputed from clicks / impressions, so asking for them would only make
#: every row bigger to download and decode. ``inline_link_clicks`` is "Link clicks" (the
#: clicks most advertisers read; ``clicks`` is "Clicks (all)"); ``attribution_setting`` is
#: the ad set's own attribution setting, which insights use since 10 June 2025 (Meta
#: insights best practices; reference §0 "Metric definitions").
INSIGHT_FIELDS = (
    "ad_id,adset_id,campaign_id,impressions,clicks,inline_link_clicks,spend,actions,"
    "action_values,attribution_setting,quality_ranking,engagement_rate_ranking,"
    "conversion_rate_ranking"
)
#: Every ``effective_status`` an ad can have. Graph leaves DELETED and ARCHIVED ads out of
#: ad-level insights and the ads edge unless the filter names them, while the account row
#: still counts them (Meta, "Manage your ad object's status"; Airbyte sends the same
#: filter), so without it ad sums fall short of the account totals.
AD_STATUSES = (
    "ACTIVE", "ADSET_PAUSED", "ARCHIVED", "CAMPAIGN_PAUSED", "DELETED", "DISAPPROVED",
    "IN_PROCESS", "PAUSED", "PENDING_BILLING_INFO", "PENDING_REVIEW", "PREAPPROVED",
    "WITH_ISSUES",
)
ALL_ADS_FILTER = msgspec.json.encode(
    [{"field": "ad.effective_status", "operator": "IN", "value": list(AD_STATUSES)}]
).decode()
ACCOUNT_INSIGHT_FIELDS = (
    "account_id,account_currency,impressions,clicks,spend,actions,action_values"
)
#: Audience rows: ``date_start`` always comes back, and ``age``/``gender`` come from the
#: ``breakdowns`` parameter (Graph rejects breakdown names in ``fields``).
AUDIENCE_FIELDS = "ad_id,impressions,clicks,spend,actions"
AUDIENCE_BREAKDOWNS = '["age","gender"]'
