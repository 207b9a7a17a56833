"""The Google emulator.

``server`` holds ``GoogleAdsEmulator``; beside it: ``answers`` (request context, fault
errors, pages, streams), ``errors`` (error bodies), ``data``, ``gaql`` (the query parser),
``search`` (the queries it runs),
``audience``.
"""

from __future__ import annotations

from .server import GoogleAdsEmulator

__all__ = ["GoogleAdsEmulator"]
