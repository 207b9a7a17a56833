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


def emulator_process(*, accounts: int, ads: int, images: str | None = None) -> Iterator[str]:
    """Run the emulator as a child process; yields its base url, stops it afterwards.

    ``images``: the base url of an image server its creatives point at.
    """
    yield from sandbox_process(
        "facebook", "--port", "0", "--accounts", str(accounts), "--ads-per-account", str(ads),
        "--active-from", "2024-01-01", *(("--image-base-url", images) if images else ()))


def sandbox_process(*args: str) -> Iterator[str]:
    """``python -m within_daemon.sandbox *args`` as a child: yields the url it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "within_daemon.sandbox", *args],
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
