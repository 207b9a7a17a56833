"""The Amazon Ads API connector.

``connector`` holds ``AmazonAdsConnector``; beside it: ``api`` (its base: hosts, LwA token,
request hooks, the report lifecycle), ``errors`` (classify), ``reports`` (async report
downloads).
"""

from __future__ import annotations

from .connector import AmazonAdsConnector

__all__ = ["AmazonAdsConnector"]
