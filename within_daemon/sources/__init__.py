"""Platform connectors: one per platform, sharing the HTTP path in ``base``."""

from __future__ import annotations

from .base import HttpSource
from .facebook import FacebookAdsConnector
from .registry import build_connector

__all__ = ["FacebookAdsConnector", "HttpSource", "build_connector"]
