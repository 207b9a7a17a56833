"""The Amazon emulator.

``server`` holds ``AmazonEmulator``; beside it: ``data``, ``brands`` (Sponsored Brands),
``reports`` (reporting v3 requests and jobs),
``errors`` (error answers and fault errors), ``storage`` (the pre-signed S3 download).
"""

from __future__ import annotations

from .server import AmazonEmulator

__all__ = ["AmazonEmulator"]
