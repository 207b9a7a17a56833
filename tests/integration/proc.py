"""Helpers for tests that drive real processes: the emulator, the CLI, HTTP, the database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .. import dbq
from ..conftest import TOKEN

#: The environment for child processes: the test token and unbuffered output.
ENV = {**os.environ, "WITHIN_TEST_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "within_daemon", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)  # polls a real child process: there is nothing to await
    raise AssertionError(f"timed out waiting for {what}")


def kill_once_when(cfg: Path, db: Path | str, ledger_days: int, timeout: float = 60) -> None:
    """Run ``once`` with ``cfg`` and SIGKILL it once ``db``'s ledger has ``ledger_days`` days."""
    proc = subprocess.Popen([sys.executable, "-m", "within_daemon", "once", "--config",
                             str(cfg)], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (query(db, "SELECT COUNT(*) FROM ledger") or [(0,)])[0][0]
                 >= ledger_days, timeout, "some complete days")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


def query(db: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from a SQLite file or a database url; a file or table not there yet reads as none."""
    return dbq.rows(db, sql, *params)


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def http_ok(url: str) -> bool:
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False
