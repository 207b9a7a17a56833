"""Planted secrets never leave the process: logs, stdout, stderr, tables, HTTP, Parquet.

The emulators run in this test's event loop; the daemon runs as real child processes
(``once``, ``train``, ``run`` with a SIGHUP reload, ``status``) started with
``anyio.run_process``/``open_process`` so the loop keeps serving the emulators meanwhile.
Faults make the APIs echo the secrets back: a Graph error that quotes the token, a
redirect loop with the token in the URL, a token endpoint that quotes its form.
"""

from __future__ import annotations

import json
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from within_daemon.sandbox import FacebookEmulator, SandboxAccount
from within_daemon.sandbox.google.server import GoogleAdsEmulator

from .. import dbq
from ..conftest import FAST_FACEBOOK, _toml_value
from ..fakes.wait import until
from .proc import ENV, free_port

pytestmark = pytest.mark.slow

ECHO, LOOP, HEALTHY, ADDED = "1000000001", "1000000002", "1000000003", "1000000004"
GOOGLE = "5550000001"

#: Distinctive values: any of them in any output is a leak.
SECRETS = {
    "fb_echo": "EAAB-PLANTED-echo-7c1e9a",
    "fb_loop": "EAAB-PLANTED-loop-44d0b2",
    "fb_healthy": "EAAB-PLANTED-healthy-9f3a61",
    "fb_added": "EAAB-PLANTED-reload-2b8e0d",
    "g_client_id": "PLANTED-client-id-5e71.apps",
    "g_client_secret": "GOCSPX-PLANTED-c0ffee42",
    "g_developer": "PLANTED-devtoken-a9b8c7",
    "g_refresh": "1//PLANTED-refresh-0d15ea5e",
    "pg_password": "PLANTED-pg-pw-31337",
}


@pytest.fixture
async def fb() -> AsyncIterator[FacebookEmulator]:
    accounts = [SandboxAccount.with_ads(a, f"acct {a}", 6, active_from="2024-01-01")
                for a in (ECHO, LOOP, HEALTHY, ADDED)]
    emu = FacebookEmulator(accounts)
    emu.set_fault(ECHO, "echo_token")
    emu.set_fault(ADDED, "echo_token")
    emu.set_fault(LOOP, "redirect_loop")
    async with emu.serve():
        yield emu


@pytest.fixture
async def google() -> AsyncIterator[GoogleAdsEmulator]:
    emu = GoogleAdsEmulator(developer_token=SECRETS["g_developer"],
                            client_id=SECRETS["g_client_id"],
                            client_secret=SECRETS["g_client_secret"])
    emu.set_fault(None, "echo_form", path="token")
    async with emu.serve():
        yield emu


def write(tmp_path: Path, fb: FacebookEmulator, google: GoogleAdsEmulator, db: str,
          port: int, *, added: bool = False) -> Path:
    """The config: tokens from env, a file and a literal; the reload adds a file token."""
    (tmp_path / "loop.token").write_text(SECRETS["fb_loop"] + "\n")
    (tmp_path / "added.token").write_text(SECRETS["fb_added"] + "\n")
    accounts: list[dict[str, Any]] = [
        {"platform": "facebook", "account_id": ECHO, "access_token": {"env": "T_ECHO"}},
        {"platform": "facebook", "account_id": LOOP, "access_token": {"file": "loop.token"}},
        {"platform": "facebook", "account_id": HEALTHY, "access_token": SECRETS["fb_healthy"]},
        {"platform": "google", "account_id": GOOGLE, "refresh_token": SECRETS["g_refresh"]},
    ]
    if added:
        accounts.append({"platform": "facebook", "account_id": ADDED,
                         "access_token": {"file": "added.token"}})
    lines = ["[database]", f"url = {_toml_value(db)}",
             "[metrics]", f'listen = "127.0.0.1:{port}"',
             "[runtime]", 'timezone = "Etc/GMT+12"', "account_jitter_seconds = 0",
             "[platforms.facebook]", f"base_url = {_toml_value(fb.base_url)}",
             *(f"{k} = {_toml_value(v)}" for k, v in FAST_FACEBOOK.items()),
             # The redirect loop never ends: no outage budget, so its run fails at once.
             "max_retries = 1", "max_outage_seconds = 0",
             "[platforms.google]", f"base_url = {_toml_value(google.base_url)}",
             f"token_url = {_toml_value(google.token_url)}",
             'developer_token = { env = "G_DEV" }', 'client_id = { env = "G_ID" }',
             'client_secret = { env = "G_SECRET" }', "backoff_base_seconds = 0.01",
             "max_outage_seconds = 0",
             "[model_store]", "horizon_days = 1"]
    for a in accounts:
        lines += ["[[accounts]]", *(f"{k} = {_toml_value(v)}" for k, v in a.items()),
                  "rate_limit = 60000"]
    lines += ["[[tasks]]", 'name = "fb_ads"', 'platform = "facebook"', "lookback_days = 8",
              'enrich = ["historical_performance"]',
              "[[tasks]]", 'name = "g_ads"', 'platform = "google"', "lookback_days = 2"]
    path = tmp_path / "within.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


CHILD_ENV = {**ENV, "T_ECHO": SECRETS["fb_echo"], "G_DEV": SECRETS["g_developer"],
             "G_ID": SECRETS["g_client_id"], "G_SECRET": SECRETS["g_client_secret"]}


async def cli(*args: str) -> tuple[int, str]:
    """Run the CLI in a child process; its exit code and everything it printed."""
    with anyio.fail_after(120):
        res = await anyio.run_process([sys.executable, "-m", "within_daemon", *args],
                                      env=CHILD_ENV, check=False)
    return res.returncode, res.stdout.decode() + res.stderr.decode()


async def get(url: str) -> str:
    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return str(resp.read().decode())

    return await anyio.to_thread.run_sync(fetch)


def all_tables(db: str) -> str:
    """Every row of every table of the database, as text."""
    if dbq.is_postgres(db):
        names = [r[0] for r in dbq.rows(db, "SELECT tablename FROM pg_tables "
                                            "WHERE schemaname = 'public'")]
    else:
        names = [r[0] for r in dbq.rows(db, "SELECT name FROM sqlite_master "
                                            "WHERE type = 'table'")]
    assert "runs" in names and "quarantine" in names
    return "\n".join(f"{n}: {dbq.rows(db, f'SELECT * FROM {n}')!r}" for n in names)


async def test_planted_secrets_appear_in_no_output(tmp_path: Path, fb: FacebookEmulator,
                                                   google: GoogleAdsEmulator,
                                                   db_url: str) -> None:
    """Errors that echo tokens, forms and URLs leave no secret in any output or table."""
    db = db_url
    if dbq.is_postgres(db):
        db += f"&password={SECRETS['pg_password']}"  # trust auth: accepted and unused
    port = free_port()
    cfg = write(tmp_path, fb, google, db, port)
    outputs: dict[str, str] = {}

    code, outputs["check-config"] = await cli("check-config", "--config", str(cfg))
    assert code == 0, outputs["check-config"]
    code, outputs["once"] = await cli("--log-json", "once", "--config", str(cfg))
    assert code == 1, outputs["once"]
    code, outputs["train"] = await cli("train", "--config", str(cfg), "--dataset", "ad_score",
                                       "--output",
                                       str(tmp_path / "models"))
    assert code == 0, outputs["train"]

    # The daemon: run at start, reload with a new token from a file, /status, /metrics.
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "daemon.log"
    with log.open("wb") as sink:
        proc = await anyio.open_process(
            [sys.executable, "-m", "within_daemon", "--log-json", "run", "--config", str(cfg),
             "--run-at-start"], env=CHILD_ENV, stdout=sink, stderr=sink)
        try:
            async def ran(n: int) -> bool:
                try:
                    st = json.loads(await get(base + "/status"))
                except OSError:
                    return False
                return sum(t["last_run"] is not None for t in st["tasks"]) >= n

            # The daemon is a real child process writing its runs: poll the database.
            await until(lambda: ran(2), timeout=60, every=0.1, what="both tasks ran")
            write(tmp_path, fb, google, db, port, added=True)
            proc.send_signal(signal.SIGHUP)

            async def added_ran() -> bool:
                return bool(dbq.rows(db, "SELECT 1 FROM runs WHERE account_id = ? AND status "
                                         "!= 'running'", ADDED))

            await until(added_ran, timeout=60, every=0.1, what="the added account's run")
            outputs["/status"] = await get(base + "/status")
            outputs["/metrics"] = await get(base + "/metrics")
            code, outputs["status"] = await cli("status", "--config", str(cfg))
            assert code == 0, outputs["status"]
            proc.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    outputs["daemon log"] = log.read_text()
    outputs["tables"] = all_tables(db)
    parquet = sorted((tmp_path / "models").rglob("*.parquet"))
    assert parquet, "train wrote no Parquet file"
    for p in sorted((tmp_path / "models").rglob("*")):
        if p.is_file():
            outputs[str(p)] = p.read_bytes().decode("latin-1")

    # The errors happened and were stored, with the secrets masked.
    errors = {r[0]: str(r[1]) for r in dbq.rows(db, "SELECT account_id, error FROM runs "
                                                    "WHERE error IS NOT NULL")}
    assert "Malformed access token ***" in errors[ECHO]
    assert "Malformed access token ***" in errors[ADDED]
    # The token travels in a header now, so the looping URL carries none to mask.
    assert "TooManyRedirects" in errors[LOOP] and "access_token" not in errors[LOOP]
    assert "invalid_request" in errors[GOOGLE]
    assert "Malformed access token ***" in outputs["once"]

    leaks = [(name, where) for where, text in outputs.items()
             for name, secret in SECRETS.items() if secret in text]
    assert leaks == []
