"""Real processes: crash with SIGKILL and resume, SIGTERM drain, SIGHUP reload, CLI codes.

Tests that touch the database run on SQLite and on PostgreSQL (the ``db_url`` fixture);
the child process gets the url in its config, the test reads it back with ``tests.dbq``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .. import dbq
from ..conftest import TOKEN, fb_account, write_config
from .proc import ENV, cli, free_port, http_get, http_ok, kill_once_when, query, wait_for

pytestmark = pytest.mark.slow

def test_sigkill_mid_run_then_resume(tmp_path: Path, emulator_proc: str, db_url: str) -> None:
    """Killed with SIGKILL mid-run, the next start resumes: no loss, no duplicate, no redo."""
    cfg = write_config(
        tmp_path, base_url=emulator_proc, db=db_url,
        accounts=[fb_account("1000000001", rate_limit=1500), fb_account("1000000002",
                                                                         rate_limit=1500)],
        tasks=[{"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 40}],
        facebook={"page_size": 100, "window_days": 2, "async_after_days": 400},
        runtime={"batch_size": 150},
    )
    db = db_url
    kill_once_when(cfg, db, 6)
    assert dbq.integrity(db) == "ok"
    # The ledger is never ahead of the data: every complete day has all 200 ads.
    short = query(db, "SELECT l.account_id, l.day FROM ledger l WHERE (SELECT COUNT(*) FROM "
                      "ad_data a WHERE a.account_id = l.account_id AND a.date = l.day) != 200")
    assert short == []
    done_before = query(db, "SELECT COUNT(*) FROM ledger")[0][0]
    assert 6 <= done_before < 80
    assert query(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'")[0][0] == 2

    out = cli("once", "--config", str(cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    assert query(db, "SELECT COUNT(*) FROM ad_data")[0][0] == 2 * 200 * 40
    assert query(db, "SELECT COUNT(*) FROM ledger")[0][0] == 80
    # Resumed, not restarted: the same run ids went on, and no day was completed twice.
    assert query(db, "SELECT COUNT(*), SUM(resumed_count) FROM runs") == [(2, 2)]
    assert query(db, "SELECT COUNT(*) FROM ledger_history") == [(80,)]


def test_cli_once_prints_per_task_counts(tmp_path: Path, emulator_proc: str,
                                         db_url: str) -> None:
    """`once` prints fetched / loaded / quarantined per task and exits 0 on success."""
    cfg = write_config(
        tmp_path, base_url=emulator_proc, db=db_url, accounts=[fb_account("1000000001")],
        tasks=[{"name": "ads_daily", "pipeline": "AdDataPipeline", "lookback_days": 2},
               {"name": "acc_daily", "pipeline": "AccountDataPipeline", "lookback_days": 2}],
    )
    out = cli("once", "--config", str(cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = {ln.split()[0]: ln.split() for ln in out.stdout.splitlines() if ln.strip()}
    assert lines["ads_daily"][1:5] == ["success", "400", "400", "0"]
    assert lines["acc_daily"][1:5] == ["success", "2", "2", "0"]


def test_cli_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    """A config with an unknown key exits 2 with one stderr line naming file and key."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[database]\nurl = "sqlite:///x.db"\n\n[[accounts]]\nplatform = "facebook"\n'
                   'account_id = "1"\naccess_tokn = "secret-value-xyz"\n')
    out = cli("check-config", "--config", str(cfg))
    assert out.returncode == 2
    err = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(err) == 1
    assert str(cfg) in err[0] and "accounts[0]" in err[0] and "access_tokn" in err[0]
    assert "secret-value-xyz" not in out.stderr


def test_cli_check_config_never_prints_secrets(tmp_path: Path) -> None:
    """check-config says where each token comes from, never the token."""
    cfg = write_config(tmp_path, base_url="http://127.0.0.1:1/v27.0",
                       accounts=[fb_account("1000000001")],
                       tasks=[{"name": "t", "lookback_days": 3}])
    out = cli("check-config", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "env:WITHIN_TEST_TOKEN" in out.stdout
    assert TOKEN not in out.stdout + out.stderr


def test_cli_check_config_masks_a_database_password(tmp_path: Path) -> None:
    """A password inside a postgresql:// url is shown as *** by check-config."""
    cfg = write_config(tmp_path, base_url="http://127.0.0.1:1/v27.0",
                       accounts=[fb_account("1000000001")],
                       tasks=[{"name": "t", "lookback_days": 3}],
                       db="postgresql://within:s3cret-pw@db.internal:5432/within")
    out = cli("check-config", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "postgresql://within:***@db.internal:5432/within" in out.stdout
    assert "s3cret-pw" not in out.stdout + out.stderr


def test_daemon_serves_reloads_and_drains(tmp_path: Path, emulator_proc: str,
                                          db_url: str) -> None:
    """The daemon serves health, reloads on SIGHUP, refuses a bad file and drains on SIGTERM."""
    port = free_port()
    kw: dict[str, Any] = {
        "base_url": emulator_proc,
        "db": db_url,
        "accounts": [fb_account("1000000001", rate_limit=600)],
        "facebook": {"page_size": 50, "window_days": 1},
        "metrics": {"enabled": True, "listen": f"127.0.0.1:{port}"},
    }
    cfg = write_config(tmp_path, tasks=[{"name": "ads", "lookback_days": 30}], **kw)
    db = db_url
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "within_daemon", "--log-json", "run",
                             "--config", str(cfg), "--run-at-start"], env=ENV,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(base + "/healthz"), 30, "healthz")
        assert http_get(base + "/readyz")[0] == 200
        # A sample line, not just the HELP line a fresh counter already has.
        wait_for(lambda: "within_records_total{" in http_get(base + "/metrics")[1], 30, "records")
        wait_for(lambda: json.loads(http_get(base + "/status")[1])["accounts"], 30,
                 "the account's connector in /status")
        status = json.loads(http_get(base + "/status")[1])
        assert [t["name"] for t in status["tasks"]] == ["ads"]
        assert [a["account_id"] for a in status["accounts"]] == ["1000000001"]
        shown = cli("status", "--config", str(cfg))
        assert shown.returncode == 0, shown.stderr
        assert "task ads" in shown.stdout and "account facebook/1000000001" in shown.stdout

        # A valid reload adds a task; an invalid one is refused and changes nothing.
        write_config(tmp_path, tasks=[{"name": "ads", "lookback_days": 30},
                                      {"name": "more", "lookback_days": 2}], **kw)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(json.loads(http_get(base + "/status")[1])["tasks"]) == 2, 10,
                 "reload")
        cfg.write_text(cfg.read_text() + "\nbogus_key = 1\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: 'within_config_reloads_total{result="failure"} 1.0'
                 in http_get(base + "/metrics")[1], 10, "refused reload")
        assert len(json.loads(http_get(base + "/status")[1])["tasks"]) == 2

        # SIGTERM while the run is in flight: drain and exit 0.
        wait_for(lambda: (query(db, "SELECT COUNT(*) FROM ledger") or [(0,)])[0][0] >= 1, 30,
                 "a complete day")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    text = (tmp_path / "daemon.log").read_text()
    assert "reload refused" in text and "bogus_key" in text
    assert TOKEN not in text
    assert dbq.integrity(db) == "ok"
    assert query(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'") == [(0,)]
    short = query(db, "SELECT l.day FROM ledger l WHERE (SELECT COUNT(*) FROM ad_data a "
                      "WHERE a.date = l.day) != 200")
    assert short == []


def test_cli_backfill_resumes_from_the_ledger(tmp_path: Path, emulator_proc: str,
                                             db_url: str) -> None:
    """`backfill` loads a range, and a second overlapping one only pulls the missing days."""
    cfg = write_config(tmp_path, base_url=emulator_proc, db=db_url,
                       accounts=[fb_account("1000000002")], tasks=[])
    args = ["backfill", "--config", str(cfg), "--platform", "facebook", "--account",
            "1000000002"]
    first = cli(*args, "--from", "2024-02-01", "--to", "2024-02-10")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "days requested 10, skipped (already complete) 0, completed now 10" in first.stdout
    second = cli(*args, "--from", "2024-02-05", "--to", "2024-02-14")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "days requested 10, skipped (already complete) 6, completed now 4" in second.stdout
    assert query(db_url, "SELECT COUNT(*) FROM ad_data") == [(200 * 14,)]
    bad = cli(*args, "--from", "2024-02-05", "--to", "2024-02-01")
    assert bad.returncode == 2 and "before" in bad.stderr


def test_status_lists_an_account_added_by_sighup_before_it_runs(tmp_path: Path,
                                                                 db_url: str) -> None:
    """/status and `status` show every configured account, one added by SIGHUP included."""
    port = free_port()
    kw: dict[str, Any] = {
        "base_url": "http://127.0.0.1:1/v27.0", "db": db_url,
        "metrics": {"enabled": True, "listen": f"127.0.0.1:{port}"},
    }
    one = {"name": "ads", "accounts": ["1000000001"], "run_time": "03:00"}
    cfg = write_config(tmp_path, accounts=[fb_account("1000000001")], tasks=[one], **kw)
    proc = subprocess.Popen([sys.executable, "-m", "within_daemon", "run", "--config",
                             str(cfg)], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(base + "/healthz"), 30, "healthz")
        # The listener opens before the engine (a port in use is a one-line error), so the
        # schedule shows up a moment after /healthz answers.
        wait_for(lambda: all(a["next_run"] for a in json.loads(
            http_get(base + "/status")[1])["accounts"] or [{"next_run": None}]),
                 30, "the schedule in /status")
        [acc] = json.loads(http_get(base + "/status")[1])["accounts"]
        assert (acc["account_id"], acc["state"], acc["last_run"]) == ("1000000001", "idle", None)
        assert acc["next_run"]["task"] == "ads" and acc["tasks"] == ["ads"]

        # The new account gets a new task: it waits for that task's first slot.
        write_config(tmp_path, accounts=[fb_account("1000000001"), fb_account("1000000002")],
                     tasks=[one, {"name": "ads_two", "accounts": ["1000000002"],
                                  "run_time": "04:00"}], **kw)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(json.loads(http_get(base + "/status")[1])["accounts"]) == 2, 10,
                 "the added account in /status")
        added = json.loads(http_get(base + "/status")[1])["accounts"][1]
        assert added["account_id"] == "1000000002" and added["state"] == "idle"
        assert added["connected"] is False and added["last_run"] is None
        assert added["next_run"]["task"] == "ads_two" and "T04:00" in added["next_run"]["at"]
        shown = cli("status", "--config", str(cfg))
        assert shown.returncode == 0, shown.stderr
        line = next(ln for ln in shown.stdout.splitlines() if "facebook/1000000002" in ln)
        assert "idle" in line and "last none yet" in line and "next ads_two at" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
