"""The Facebook Marketing API connector.

``connector`` holds ``FacebookAdsConnector``; beside it: ``errors`` (classify), ``fields``
(field lists), ``jobs`` (async report jobs).
"""

from __future__ import annotations

from .connector import FacebookAdsConnector

__all__ = ["FacebookAdsConnector"]
