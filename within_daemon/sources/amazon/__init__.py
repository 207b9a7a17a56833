"""The Amazon Ads API connector.

``connector`` holds ``AmazonAdsConnector``; beside it: ``errors`` (classify), ``reports`` (async
report downloads).
"""

from __future__ import annotations

from .connector import AmazonAdsConnector

__all__ = ["AmazonAdsConnector"]
