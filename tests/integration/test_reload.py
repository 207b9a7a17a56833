"""SIGHUP reloads are atomic: a real daemon, real signals, broken configs that keep it alive.

Each broken reload (an unknown time zone, a secret file that is not UTF-8, a connector
that cannot be built, a TOML error) must leave the old config running, log one line and
count ``within_config_reloads_total{result="failure"}``; a good one afterwards applies.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import fb_account, write_config
from .proc import ENV, free_port, http_get, http_ok, wait_for

pytestmark = pytest.mark.slow


def failures(base: str) -> int:
    text = http_get(base + "/metrics")[1]
    for line in text.splitlines():
        if line.startswith('within_config_reloads_total{result="failure"}'):
            return int(float(line.split()[-1]))
    return 0


def task_names(base: str) -> list[str]:
    return [t["name"] for t in json.loads(http_get(base + "/status")[1])["tasks"]]


def test_broken_reloads_keep_the_old_config_and_count(tmp_path: Path) -> None:
    """Unknown zone, non-UTF-8 secret, unbuildable connector: refused, counted, daemon lives."""
    port = free_port()
    kw: dict[str, Any] = {
        "base_url": "http://127.0.0.1:9/v27.0",  # nothing runs before the first slot
        "db": f"sqlite:///{tmp_path}/within.db",
        "accounts": [fb_account("1000000001")],
        "metrics": {"enabled": True, "listen": f"127.0.0.1:{port}"},
    }
    cfg = write_config(tmp_path, tasks=[{"name": "ads", "lookback_days": 3}], **kw)
    good = cfg.read_text()
    log = tmp_path / "daemon.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "within_daemon", "--log-json", "run",
                                 "--config", str(cfg)], env=ENV, stdout=sink,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(base + "/healthz"), 30, "healthz")
        broken = {
            "zone": good.replace('timezone = "America/Los_Angeles"',
                                 'timezone = "Mars/Olympus_Mons"')
            + '\n[[tasks]]\nname = "more"\n',
            "secret": good + '\n[[accounts]]\nplatform = "facebook"\naccount_id = "2"\n'
                             'access_token = { file = "latin1.token" }\n',
            "connector": good + '\n[[accounts]]\nplatform = "google"\naccount_id = "3"\n',
            "toml": good + "\n[[tasks]\n",
        }
        (tmp_path / "latin1.token").write_bytes(b"caf\xe9-token\n")
        for n, (what, text) in enumerate(broken.items(), start=1):
            cfg.write_text(text)
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda n=n: failures(base) == n, 15, f"refused reload ({what})")
            assert proc.poll() is None, f"the daemon died on the {what} reload"
            assert task_names(base) == ["ads"]
        cfg.write_text(good + '\n[[tasks]]\nname = "more"\nlookback_days = 2\n')
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: task_names(base) == ["ads", "more"], 15, "the good reload")
        assert 'within_config_reloads_total{result="success"} 1.0' in http_get(
            base + "/metrics")[1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    refused = [x["msg"] for x in lines if x["msg"].startswith("reload refused")]
    assert len(refused) == 4, refused
    assert "Mars/Olympus_Mons" in refused[0]
    assert "latin1.token" in refused[1] and "not UTF-8" in refused[1]
    assert "google/3" in refused[2]
    assert not any("exc" in x for x in lines if x["msg"].startswith("reload refused"))
