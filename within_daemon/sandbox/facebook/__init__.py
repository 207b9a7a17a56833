"""The Facebook emulator.

``server`` holds ``FacebookEmulator``; beside it: ``data`` (accounts and rows), ``graph``,
``insights`` (with ``query``, ``breakdowns``, ``insight_rows``), ``jobs``, ``requests``
(request checks and faults).
"""

from __future__ import annotations

from .server import FacebookEmulator

__all__ = ["FacebookEmulator"]
