"""The Amazon emulator.

``server`` holds ``AmazonEmulator``; beside it: ``data``, ``brands`` (Sponsored Brands).
"""

from __future__ import annotations

from .server import AmazonEmulator

__all__ = ["AmazonEmulator"]
