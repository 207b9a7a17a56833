"""Platform connectors: one per platform, sharing the HTTP path in ``http``."""

from __future__ import annotations

from .amazon.connector import AmazonAdsConnector
from .facebook.connector import FacebookAdsConnector
from .google.connector import GoogleAdsConnector
from .http.client import HttpSource
from .registry import build_connector
from .tiktok.connector import TikTokAdsConnector

__all__ = [
    "AmazonAdsConnector", "FacebookAdsConnector", "GoogleAdsConnector", "HttpSource",
    "TikTokAdsConnector", "build_connector",
]
