"""Three daemon replicas as real processes on one PostgreSQL; one is SIGKILLed mid-run.

The emulator serves six accounts; each replica runs ``within-daemon run --run-at-start``
with two-second leases. Once every replica holds accounts and rows are flowing, the one
holding an unfinished account is killed. The survivors must take its accounts over,
resume its runs (same run ids), and finish with every row present exactly once: the
ledger history shows each account-day completed by one run only.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from within_daemon.loaders import DatabaseLoader

from ..conftest import fb_account, write_config
from ..fakes.wait import until
from .conftest import emulator_process
from .proc import ENV

pytestmark = pytest.mark.slow

N_ACCOUNTS, N_ADS, DAYS = 6, 40, 12
IDS = [f"10000000{i:02d}" for i in range(1, N_ACCOUNTS + 1)]


@pytest.fixture
def emulator6() -> Iterator[str]:
    yield from emulator_process(accounts=N_ACCOUNTS, ads=N_ADS)


async def _rows(db: DatabaseLoader, sql: str) -> list[dict[str, Any]]:
    return await db.fetch_dicts(sql)


async def test_three_replicas_one_killed_every_row_exactly_once(
    tmp_path: Path, pg_url: str, emulator6: str,
) -> None:
    """SIGKILL one of three replicas mid-run: no row lost, none written twice, none orphaned."""
    cfg = write_config(
        tmp_path, base_url=emulator6, db=pg_url,
        # A low request rate keeps each account's pull running for several seconds.
        accounts=[fb_account(a, rate_limit=240) for a in IDS],
        tasks=[{"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": DAYS}],
        facebook={"page_size": 20, "window_days": 1, "async_after_days": 400},
        runtime={"batch_size": 100, "account_jitter_seconds": 0},
    )
    cfg.write_text(cfg.read_text() + "\n[cluster]\nlease_seconds = 2.0\n")
    logs = [(tmp_path / f"replica{i}.log").open("w") for i in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "within_daemon", "--log-json", "run",
                               "--config", str(cfg), "--run-at-start"], env=ENV,
                              stdout=logs[i], stderr=subprocess.STDOUT) for i in range(3)]
    by_pid = {p.pid: p for p in procs}
    db = DatabaseLoader.from_url(pg_url)
    try:
        await until(lambda: _opened(pg_url), timeout=60, every=0.2, what="the schema")
        await db.open()

        async def all_hold() -> bool:
            rows = await _rows(db, "SELECT holder, COUNT(*) AS n FROM leases GROUP BY holder")
            return len(rows) == 3 and sum(r["n"] for r in rows) == N_ACCOUNTS

        await until(all_hold, timeout=60, every=0.2,
                    what="three replicas holding all six accounts")

        async def flowing() -> bool:
            return (await _rows(db, "SELECT COUNT(*) AS n FROM ledger"))[0]["n"] >= 3

        await until(flowing, timeout=60, every=0.2, what="complete days")
        # The victim: a replica whose account is not yet complete.
        open_accounts = await _rows(db, (
            "SELECT l.holder, l.resource FROM leases l WHERE (SELECT COUNT(*) FROM ledger g "
            "WHERE 'account:facebook:' || g.account_id = l.resource) < " + str(DAYS)))
        assert open_accounts, "every account finished before the kill: slow the pull down"
        victim_id = open_accounts[0]["holder"]
        victim = by_pid[int(victim_id.split(":")[1])]
        victim_accounts = {r["resource"] for r in await _rows(
            db, f"SELECT resource FROM leases WHERE holder = '{victim_id}'")}
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(10) == -signal.SIGKILL

        async def finished() -> bool:
            n = (await _rows(db, "SELECT COUNT(*) AS n FROM ledger"))[0]["n"]
            running = (await _rows(db, "SELECT COUNT(*) AS n FROM runs "
                                       "WHERE status = 'running'"))[0]["n"]
            return bool(n == N_ACCOUNTS * DAYS and running == 0)

        await until(finished, timeout=120, every=0.2,
                    what="all account-days complete after the takeover")
        rows = await _rows(db, "SELECT COUNT(*) AS n, COUNT(DISTINCT (account_id, ad_id, date)) "
                               "AS k FROM ad_data")
        assert rows == [{"n": N_ACCOUNTS * N_ADS * DAYS, "k": N_ACCOUNTS * N_ADS * DAYS}]
        # Exactly once at the ledger: each account-day was completed by one run, once.
        twice = await _rows(db, "SELECT account_id, day, COUNT(*) AS n FROM ledger_history "
                                "GROUP BY account_id, day HAVING COUNT(*) > 1")
        assert twice == []
        # The victim's accounts moved to survivors, and its unfinished runs were resumed
        # under their old ids (one run per account in total).
        holders = {r["resource"]: r["holder"] for r in await _rows(
            db, "SELECT resource, holder FROM leases")}
        assert all(holders.get(a) not in (None, victim_id) for a in victim_accounts)
        runs = await _rows(db, "SELECT account_id, status, holder, resumed_count FROM runs "
                               "ORDER BY account_id")
        assert [r["account_id"] for r in runs] == IDS
        assert all(r["status"] == "success" for r in runs), runs
        assert all(r["holder"] != victim_id for r in runs)
        assert sum(r["resumed_count"] for r in runs) >= 1
    finally:
        await db.close()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()
    for i, p in enumerate(procs):
        if p is not victim:
            assert p.returncode == 0, (tmp_path / f"replica{i}.log").read_text()[-3000:]


async def _opened(url: str) -> bool:
    try:
        async with DatabaseLoader.from_url(url) as probe:
            return await probe.ping()
    except Exception:  # noqa: BLE001 - not up yet
        return False
