"""Platform connectors: one per platform, sharing the HTTP path in ``base``."""

from __future__ import annotations

from .amazon import AmazonAdsConnector
from .base import HttpSource
from .facebook import FacebookAdsConnector
from .google import GoogleAdsConnector
from .registry import build_connector
from .tiktok import TikTokAdsConnector

__all__ = [
    "AmazonAdsConnector", "FacebookAdsConnector", "GoogleAdsConnector", "HttpSource",
    "TikTokAdsConnector", "build_connector",
]
