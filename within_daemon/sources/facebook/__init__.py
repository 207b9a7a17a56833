"""The Facebook Marketing API connector.

``connector`` holds ``FacebookAdsConnector``; beside it: ``api`` (its base: token, usage
pacing, paging, async insights jobs), ``errors`` (classify), ``fields`` (field lists),
``jobs`` (polling an async report job).
"""

from __future__ import annotations

from .connector import FacebookAdsConnector

__all__ = ["FacebookAdsConnector"]
