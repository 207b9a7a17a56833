"""The Facebook Marketing API connector.

``connector`` holds ``FacebookAdsConnector``; beside it: ``errors`` (classify), ``fields``
(field lists), ``jobs`` (async report jobs).
"""

from __future__ import annotations

# The names ``within_daemon.sources.facebook`` offered when it was one module.
from .connector import (
    ACCOUNT_INSIGHT_FIELDS,
    AD_FIELDS,
    AD_STATUSES,
    ALL_ADS_FILTER,
    AUDIENCE_BREAKDOWNS,
    AUDIENCE_FIELDS,
    INSIGHT_FIELDS,
    AuthError,
    FacebookAdsConnector,
)

__all__ = [
    "ACCOUNT_INSIGHT_FIELDS", "AD_FIELDS", "AD_STATUSES", "ALL_ADS_FILTER",
    "AUDIENCE_BREAKDOWNS", "AUDIENCE_FIELDS", "INSIGHT_FIELDS", "AuthError",
    "FacebookAdsConnector",
]
