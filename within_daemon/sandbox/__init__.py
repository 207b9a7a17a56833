"""Local emulators of the ad platforms' APIs, for the demo command and integration tests.

Each emulator is a real aiohttp server on 127.0.0.1 with deterministic data and switchable
faults; ``python -m within_daemon.sandbox <platform>`` runs one in the foreground.
"""

from __future__ import annotations

from within_daemon.sandbox.facebook.data import SandboxAccount, default_accounts
from within_daemon.sandbox.facebook.server import FacebookEmulator

__all__ = ["FacebookEmulator", "SandboxAccount", "default_accounts"]
