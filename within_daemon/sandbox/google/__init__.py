"""The Google emulator.

``server`` holds ``GoogleAdsEmulator``; beside it: ``data``, ``gaql`` (the query parser),
``audience``.
"""

from __future__ import annotations

from .server import GoogleAdsEmulator

__all__ = ["GoogleAdsEmulator"]
