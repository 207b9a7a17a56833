"""The TikTok Business API connector.

``connector`` holds ``TikTokAdsConnector``; beside it: ``errors`` (classify), ``audience`` (the
audience pull).
"""

from __future__ import annotations

from .connector import TikTokAdsConnector

__all__ = ["TikTokAdsConnector"]
