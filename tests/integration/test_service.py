"""The daemon as systemd runs it: notify messages, reloads that add accounts, drain, resume.

Tests that touch the database run on SQLite and on PostgreSQL (the ``db_url`` fixture);
the child process gets the url in its config, the test reads it back with ``tests.dbq``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .. import dbq
from ..conftest import fb_account, write_config
from .proc import ENV, cli, query, wait_for

pytestmark = pytest.mark.slow

A1, A2 = "1000000001", "1000000002"


class NotifySocket:
    """A fake $NOTIFY_SOCKET: a datagram socket that collects what the daemon sends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[list[str]] = []

    def drain(self) -> list[list[str]]:
        while True:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return self.messages
            self.messages.append(data.decode().split("\n"))

    def firsts(self) -> list[str]:
        """The first line of each message, e.g. READY=1, WATCHDOG=1."""
        return [m[0] for m in self.drain()]

    def close(self) -> None:
        self.sock.close()


def start_daemon(cfg: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "within_daemon", "--log-json", "run", "--config", str(cfg),
         "--run-at-start"],
        env={**ENV, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )


def test_notify_protocol_in_order(tmp_path: Path, emulator_proc: str, db_url: str) -> None:
    """READY, watchdog pings, RELOADING/READY per reload (never nested), STOPPING at the end."""
    ns = NotifySocket(tmp_path / "notify.sock")
    cfg = write_config(tmp_path, base_url=emulator_proc, db=db_url, accounts=[fb_account(A1)],
                       tasks=[{"name": "ads", "lookback_days": 2}])
    proc = start_daemon(cfg, tmp_path / "d.log", NOTIFY_SOCKET=str(ns.path),
                        WATCHDOG_USEC="200000")
    try:
        wait_for(lambda: "READY=1" in ns.firsts(), 30, "READY=1")
        wait_for(lambda: ns.firsts().count("WATCHDOG=1") >= 3, 10, "watchdog pings")
        for _ in range(10):
            proc.send_signal(signal.SIGHUP)
        for _ in range(20):  # keep reading, as systemd does, while the reloads happen
            ns.drain()
            time.sleep(0.05)  # real time: a real daemon process reloads meanwhile
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    msgs = [m for m in ns.drain() if m[0] != "WATCHDOG=1"]
    firsts = [m[0] for m in msgs]
    assert firsts[0] == "READY=1" and any(x.startswith("STATUS=") for x in msgs[0])
    assert firsts[-1] == "STOPPING=1"
    reloads = [m for m in msgs if m[0] == "RELOADING=1"]
    assert 1 <= len(reloads) <= 10
    assert all(m[1].startswith("MONOTONIC_USEC=") and m[1][15:].isdigit() for m in reloads)
    # At most one reload in flight: every RELOADING=1 is closed by READY=1 before the next.
    depth = 0
    for f in firsts[1:-1]:
        if f == "RELOADING=1":
            depth += 1
            assert depth == 1
        elif f == "READY=1":
            depth = max(0, depth - 1)
    assert depth == 0
    ns.close()


#: The tests' runtime time zone (``conftest.write_config``): a scheduled window ends at its
#: yesterday.
RUN_TZ = ZoneInfo("America/Los_Angeles")


def clear_of_midnight(seconds: float = 180.0) -> None:
    """Wait until the run's day cannot change within ``seconds``.

    A run interrupted before the local midnight covers another window than a run started
    after it, which is then a new run, not a resume (by design); a test about resuming must
    not straddle that midnight. Waits at most ``seconds``, and only that close to midnight.
    """
    now = datetime.now(RUN_TZ)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), RUN_TZ)
    left = (midnight - now).total_seconds()
    if left < seconds:
        time.sleep(left + 1.0)  # the child daemon reads the wall clock: only waiting helps


def test_reload_adds_account_while_other_run_continues_then_drain_and_resume(
    tmp_path: Path, emulator_proc: str, db_url: str,
) -> None:
    """A reload adds an account mid-run; SIGTERM then drains; the next start resumes.

    The added account is pulled while the other account's run goes on, the drain exits 0
    with whole days only, and the next start continues the interrupted run.
    """
    slow: dict[str, Any] = {"rate_limit": 240}
    kw: dict[str, Any] = {"base_url": emulator_proc, "db": db_url,
                          "facebook": {"page_size": 50, "window_days": 1},
                          "tasks": [{"name": "ads", "lookback_days": 20}]}
    cfg = write_config(tmp_path, accounts=[fb_account(A1, **slow)], **kw)
    db = db_url
    clear_of_midnight()
    proc = start_daemon(cfg, tmp_path / "d.log")
    try:
        wait_for(lambda: (query(db, f"SELECT COUNT(*) FROM ledger WHERE account_id='{A1}'")
                          or [(0,)])[0][0] >= 1, 30, "a first day of A1")
        write_config(tmp_path, accounts=[fb_account(A1, **slow), fb_account(A2)], **kw)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: (query(db, f"SELECT COUNT(*) FROM ledger WHERE account_id='{A2}'")
                          or [(0,)])[0][0] == 20, 30, "A2 fully pulled")
        # A1's run was never stopped by the reload: it is still going.
        assert query(db, f"SELECT status FROM runs WHERE account_id='{A1}'") == [("running",)]
        a1_days = query(db, f"SELECT COUNT(*) FROM ledger WHERE account_id='{A1}'")[0][0]
        assert a1_days < 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert dbq.integrity(db) == "ok"
    assert query(db, f"SELECT status FROM runs WHERE account_id='{A1}'") == [("interrupted",)]
    short = query(db, "SELECT l.account_id, l.day FROM ledger l WHERE (SELECT COUNT(*) FROM "
                      "ad_data a WHERE a.account_id = l.account_id AND a.date = l.day) != 200")
    assert short == []
    done_before = query(db, f"SELECT COUNT(*) FROM ledger WHERE account_id='{A1}'")[0][0]

    out = cli("once", "--config", str(cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    assert query(db, f"SELECT status, resumed_count FROM runs WHERE account_id='{A1}'") == [
        ("success", 1)]
    assert query(db, f"SELECT COUNT(*) FROM ledger WHERE account_id='{A1}'") == [(20,)]
    # The resumed run pulled only the days the interrupted one had not finished.
    hist = query(db, f"SELECT COUNT(*) FROM ledger_history WHERE account_id='{A1}'")[0][0]
    assert hist == 20 and done_before >= 1
