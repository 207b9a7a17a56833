"""The TikTok emulator.

``server`` holds ``TikTokEmulator``; beside it: ``data``, ``params`` (request
parameters), ``report`` (BASIC and AUDIENCE reports), ``audience``.
"""

from __future__ import annotations

from .server import TikTokEmulator

__all__ = ["TikTokEmulator"]
