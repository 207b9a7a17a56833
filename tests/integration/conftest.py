"""Fixtures for the integration tests that need the emulator in its own process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from .proc import ENV


@pytest.fixture
def emulator_proc() -> Iterator[str]:
    """The Facebook emulator in its own process: 2 accounts x 200 ads from 2024-01-01."""
    yield from emulator_process(accounts=2, ads=200)


def emulator_process(*, accounts: int, ads: int) -> Iterator[str]:
    """Run the emulator as a child process; yields its base url, stops it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "within_daemon.sandbox", "facebook", "--port", "0",
         "--accounts", str(accounts), "--ads-per-account", str(ads),
         "--active-from", "2024-01-01"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
