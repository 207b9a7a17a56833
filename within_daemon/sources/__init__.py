"""Platform connectors: one per platform, sharing the HTTP path in ``base``."""

from __future__ import annotations

from .facebook import FacebookAdsConnector

__all__ = ["FacebookAdsConnector"]
