"""The TikTok emulator.

``server`` holds ``TikTokEmulator``; beside it: ``data``, ``audience``.
"""

from __future__ import annotations

from .server import TikTokEmulator

__all__ = ["TikTokEmulator"]
