"""The Google Ads API connector.

``connector`` holds ``GoogleAdsConnector``; beside it: ``errors`` (classify), ``stream`` (the
searchStream reader), ``audience`` (the audience pull).
"""

from __future__ import annotations

from .connector import GoogleAdsConnector

__all__ = ["GoogleAdsConnector"]
