"""The service's start and stop as plain functions: ready, watchdog pings, drain.

What systemd sees (``READY=1`` with a status line, ``WATCHDOG=1`` every half
``WATCHDOG_USEC`` while the database answers) and how a stop waits for the runs in flight
before the service cancels what is left.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from ..config import LoadedConfig, TaskConfig
from ..loaders import DatabaseLoader
from ..observability.sd_notify import notify

log = logging.getLogger(__name__)


def watchdog_interval() -> float | None:
    """Half of systemd's ``WATCHDOG_USEC`` in seconds, if the watchdog is for us."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def watchdog(db: DatabaseLoader | None, interval: float) -> None:
    """Ping systemd every ``interval`` seconds while the database answers."""
    while True:
        # Ping only while the database answers: a wedged database means systemd
        # should restart us.
        if db is not None and await db.ping():
            notify("WATCHDOG=1")
        await anyio.sleep(interval)


def announce_ready(loaded: LoadedConfig, tasks: Sequence[TaskConfig],
                   ready_file: str | None) -> None:
    """Tell systemd (and a ``--ready-file`` watcher, and the log) that the daemon serves."""
    notify("READY=1", f"STATUS=serving {len(tasks)} task(s), "
                      f"{len(loaded.config.accounts)} account(s)")
    if ready_file:
        with open(ready_file, "w") as fh:
            fh.write("ready\n")
    log.info("daemon ready: %d tasks, %d accounts", len(tasks), len(loaded.config.accounts))


async def drain(running: Mapping[Any, float], grace_seconds: float) -> bool:
    """Give the runs in flight ``grace_seconds`` to end; True when the grace ran out.

    ``running`` is the service's live map of runs in flight (entries leave as runs end).
    """
    with anyio.move_on_after(grace_seconds) as scope:
        while running:
            await anyio.sleep(0.05)
    if scope.cancelled_caught:
        log.warning("grace period of %.0fs over; cancelling %d run(s)", grace_seconds,
                    len(running))
    return scope.cancelled_caught
