"""Leases, shares, slot claims and dead-replica sweeps, on SQLite and on PostgreSQL.

Each replica here is a :class:`Cluster` with its own database connection, as separate
processes would have. Expiry is judged by the database server's clock, in the production
statements; a replica that falls silent for some seconds is simulated by moving its rows
back by that much (``lapse``), which is what the silence would leave behind, so no test
sleeps through a lease.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from within_daemon.config import load_config
from within_daemon.daemon import warn_if_leased
from within_daemon.daemon.cluster import Cluster, Replica, resource
from within_daemon.errors import LeaseLostError, LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.schema import AD_FIELDS

ACCOUNTS = [resource("facebook", f"10000000{i:02d}") for i in range(1, 7)]


async def lapse(db: DatabaseLoader, replica_id: str, seconds: float) -> None:
    """``seconds`` pass for one silent replica: its heartbeat and leases are backdated."""
    back = [(seconds, replica_id)]
    await db.execute_in_transaction([
        ("UPDATE leases SET expires_at = expires_at - CAST(? AS REAL) WHERE holder = ?", back),
        ("UPDATE replicas SET heartbeat_at = heartbeat_at - CAST(? AS REAL) "
         "WHERE replica_id = ?", back),
    ])


@pytest.fixture
async def dbs(db_url: str) -> AsyncIterator[list[DatabaseLoader]]:
    loaders = [DatabaseLoader.from_url(db_url) for _ in range(3)]
    for d in loaders:
        await d.open()
    try:
        yield loaders
    finally:
        for d in loaders:
            await d.close()


async def test_a_lease_has_one_holder_until_it_expires(dbs: list[DatabaseLoader]) -> None:
    """A held lease refuses others; once expired, the taker gets a higher generation."""
    a, b = Cluster(dbs[0], "a", 1.0), Cluster(dbs[1], "b", 1.0)
    gen_a = await a.try_acquire(ACCOUNTS[0])
    assert gen_a == 1
    assert await b.try_acquire(ACCOUNTS[0]) is None
    assert await a.try_acquire(ACCOUNTS[0]) == 1  # a renewal keeps the generation
    await lapse(dbs[0], "a", 1.3)
    assert await b.try_acquire(ACCOUNTS[0]) == 2
    assert await a.try_acquire(ACCOUNTS[0]) is None
    rows = await dbs[0].fetch_dicts("SELECT holder, generation FROM leases")
    assert rows == [{"holder": "b", "generation": 2}]


async def test_replicas_split_accounts_and_rebalance_when_one_dies(
    dbs: list[DatabaseLoader],
) -> None:
    """Three replicas share six accounts 2/2/2; when one stops renewing, the rest take its."""
    reps = [Cluster(d, f"r{i}", 1.5) for i, d in enumerate(dbs)]
    for r in reps:
        await r.heartbeat()
    for _ in range(2):
        for r in reps:
            await r.rebalance(ACCOUNTS, busy=set())
    held = [set(r.held) for r in reps]
    assert [len(h) for h in held] == [2, 2, 2]
    assert set().union(*held) == set(ACCOUNTS)
    # r2 dies (no more rounds); once its leases expired the survivors take its accounts.
    await lapse(dbs[2], "r2", 2.0)
    with anyio.fail_after(10):
        while len(reps[0].held) + len(reps[1].held) < len(ACCOUNTS):
            for r in reps[:2]:
                await r.rebalance(ACCOUNTS, busy=set())
    assert set(reps[0].held) | set(reps[1].held) == set(ACCOUNTS)
    assert not set(reps[0].held) & set(reps[1].held)
    assert [len(r.held) for r in reps[:2]] == [3, 3]


async def test_a_new_replica_gets_idle_accounts_but_not_busy_ones(
    dbs: list[DatabaseLoader],
) -> None:
    """A replica above its share gives back idle accounts; busy ones stay until done."""
    first, second = Cluster(dbs[0], "first", 30), Cluster(dbs[1], "second", 30)
    await first.rebalance(ACCOUNTS, busy=set())
    assert len(first.held) == 6
    await second.heartbeat()
    out = await first.rebalance(ACCOUNTS, busy=set(ACCOUNTS))  # all busy: none given back
    assert out.released == [] and len(first.held) == 6
    out = await first.rebalance(ACCOUNTS, busy=set(ACCOUNTS[:4]))
    assert len(out.released) == 2 and set(out.released) <= set(ACCOUNTS[4:])
    got = await second.rebalance(ACCOUNTS, busy=set())
    assert sorted(got.acquired) == sorted(out.released)


async def test_a_slot_runs_once_per_cluster(dbs: list[DatabaseLoader]) -> None:
    """Only the first claim of (task, account, slot) wins; the next slot is claimable again."""
    reps = [Cluster(d, f"r{i}", 30) for i, d in enumerate(dbs)]
    slot = "2026-11-28T01:00:00+00:00"
    wins = [await r.claim_slot("ads", "*", slot) for r in reps]
    assert wins == [True, False, False]
    assert await reps[1].claim_slot("ads", "*", slot + "x") is True


async def test_runs_of_live_replicas_are_not_marked_interrupted(
    dbs: list[DatabaseLoader],
) -> None:
    """A start-up sweep marks runs of dead holders and holder-less runs, not live replicas'."""
    live, dead = Cluster(dbs[0], "live", 30), Cluster(dbs[1], "dead", 1.0)
    await live.heartbeat()
    await dead.heartbeat()
    dbs[0].holder, dbs[1].holder = "live", "dead"
    run_live = await dbs[0].start_run(task="ads", platform="facebook", account_id="1")
    run_dead = await dbs[1].start_run(task="ads", platform="facebook", account_id="2")
    run_solo = await dbs[2].start_run(task="ads", platform="facebook", account_id="3")
    await lapse(dbs[1], "dead", 1.3)  # "dead" stops heart-beating
    assert await dbs[0].mark_interrupted_runs(replicas_only=True) == [run_dead]
    assert await dbs[2].mark_interrupted_runs() == [run_solo]
    [s] = await dbs[0].run_summary([run_live])
    assert s["status"] == "running"
    # A replica that leases the dead one's account takes its run over and can resume it.
    assert await live.take_over_runs("facebook", "2") == []  # already interrupted
    assert await live.resumable_tasks("facebook", "2") == ["ads"]


async def test_a_replica_that_lost_its_lease_cannot_write(dbs: list[DatabaseLoader]) -> None:
    """Fencing: after a takeover the old holder's batches and run updates are refused."""
    old, new = Cluster(dbs[0], "old", 1.0), Cluster(dbs[1], "new", 30)
    for c, d in ((old, dbs[0]), (new, dbs[1])):
        d.holder, d.fence = c.replica_id, c.lease_for
    acct = ACCOUNTS[0].rsplit(":", 1)[1]
    await old.rebalance([ACCOUNTS[0]], busy=set())
    run = await dbs[0].start_run(task="ads", platform="facebook", account_id=acct)
    rec = {f: None for f in AD_FIELDS} | {
        "platform": "facebook", "account_id": acct, "ad_id": "1", "date": "2024-03-01",
        "impressions": 10, "clicks": 1, "spend": 1.0}
    assert await dbs[0].write_batch(run_id=run, task="ads", kind="ad", records=[rec],
                                    fetched_at="2024-03-02T00:00:00Z", count_in_run=True) == 1
    # Without a lease on an account, a write for it is refused outright.
    stray = rec | {"account_id": "999"}
    with pytest.raises(LeaseLostError):
        await dbs[0].write_batch(run_id=run, task="ads", kind="ad", records=[stray],
                                 fetched_at="2024-03-02T00:00:00Z")
    await lapse(dbs[0], "old", 1.3)  # "old" stalls past its lease; "new" takes it over
    await new.rebalance([ACCOUNTS[0]], busy=set())
    assert ACCOUNTS[0] in new.held
    await new.take_over_runs("facebook", acct)
    assert await dbs[1].start_run(task="ads", run_id=run) == run  # resumed by "new"
    with pytest.raises(LeaseLostError, match="no longer holds"):
        await dbs[0].write_batch(run_id=run, task="ads", kind="ad", records=[rec],
                                 fetched_at="2024-03-03T00:00:00Z",
                                 complete_days=[("facebook", acct, "2024-03-01", 1)])
    with pytest.raises(LoaderError, match="taken it over"):
        await dbs[0].finish_run(run, "failed", error="zombie")
    assert await dbs[1].count_rows("ledger") == 0
    await dbs[1].finish_run(run, "success")
    [s] = await dbs[1].run_summary([run])
    assert (s["status"], s["holder"], s["resumed_count"]) == ("success", "new", 1)


async def test_cluster_command_shows_replicas_and_leases(
    dbs: list[DatabaseLoader], db_url: str, tmp_path: Path,
) -> None:
    """`within-daemon cluster` lists live and dead replicas and who holds which lease."""
    live, dead = Cluster(dbs[0], "live-1", 30), Cluster(dbs[1], "dead-1", 1.0)
    await live.rebalance(ACCOUNTS[:2], busy=set())
    await dead.heartbeat()
    await lapse(dbs[1], "dead-1", 1.2)
    cfg = tmp_path / "within.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[metrics]\nenabled = false\n')
    out = subprocess.run([sys.executable, "-m", "within_daemon", "cluster", "--config",
                          str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "2 replica(s):"
    assert any(ln.strip().startswith("dead-1 ") and "DEAD" in ln for ln in lines)
    assert any(ln.strip().startswith("live-1 ") and "alive" in ln for ln in lines)
    assert "2 account lease(s):" in lines
    assert sum(": live-1 (generation 1, expires in" in ln for ln in lines) == 2


async def test_a_replica_stops_pulling_an_account_whose_lease_it_lost(
    dbs: list[DatabaseLoader], tmp_path: Path,
) -> None:
    """The lease round that finds a lease taken over asks the engine to stop that account."""
    stopped: list[tuple[str, str]] = []
    old = Replica(Cluster(dbs[0], "old", 1.0), Metrics(), lambda p, a: stopped.append((p, a)))
    new = Cluster(dbs[1], "new", 30)
    cfg = tmp_path / "within.toml"
    cfg.write_text(f'[database]\nurl = "{dbs[0].url}"\n[metrics]\nenabled = false\n'
                   '[[accounts]]\nplatform = "facebook"\naccount_id = "1000000001"\n'
                   'access_token = "x"\n')
    loaded = load_config(cfg)
    await old.round(loaded, [], [], lambda t, a: None)
    assert len(old.cluster.held) == 1
    await lapse(dbs[0], "old", 1.3)
    await new.rebalance([resource("facebook", "1000000001")], busy=set())
    await old.round(loaded, [], [], lambda t, a: None)
    assert stopped == [("facebook", "1000000001")] and old.cluster.held == {}
    assert old.metrics.registry.get_sample_value(
        "within_cluster_lease_events_total", {"event": "lost"}) == 1.0
    get = old.metrics.registry.get_sample_value
    assert (get("within_cluster_accounts_configured"), get("within_cluster_leased_accounts")) \
        == (1.0, 0.0)



async def test_old_slot_claims_and_long_dead_replicas_are_pruned(
    dbs: list[DatabaseLoader],
) -> None:
    """Claims older than 14 days, replicas and leases dead for a day go; recent ones stay."""
    c = Cluster(dbs[0], "r0", 30)
    await c.heartbeat()
    assert await c.claim_slot("ads", "1", "new-slot")
    now = dbs[0].dialect.now_epoch
    await dbs[0].execute_in_transaction([
        (f"INSERT INTO task_slots VALUES ('ads', '1', 'old-slot', 'r0', {now} - 15 * 86400.0)",
         [()]),
        ("INSERT INTO replicas VALUES ('gone', 'h', 1, 0.0, 0.0, 30.0)", [()]),
        ("INSERT INTO leases VALUES ('account:facebook:9', 'gone', 1, 0.0, 0.0)", [()]),
    ])
    assert await c.prune() == 1
    slots = await dbs[0].fetch_dicts("SELECT slot FROM task_slots")
    assert slots == [{"slot": "new-slot"}]
    ids = await dbs[0].fetch_dicts("SELECT replica_id FROM replicas")
    assert ids == [{"replica_id": "r0"}]
    assert await dbs[0].count_rows("leases") == 0


async def test_one_shot_runs_name_accounts_a_live_replica_pulls(
    dbs: list[DatabaseLoader], caplog: pytest.LogCaptureFixture,
) -> None:
    """`once`/`backfill` take no leases; they warn about accounts a live replica holds."""
    live, dead = Cluster(dbs[0], "live", 30), Cluster(dbs[1], "dead", 1.0)
    await live.rebalance(ACCOUNTS[:1], busy=set())
    await dead.rebalance(ACCOUNTS[1:2], busy=set())
    await lapse(dbs[1], "dead", 1.2)  # "dead" stops renewing
    pairs = [tuple(r.split(":")[1:]) for r in ACCOUNTS[:3]]
    busy = await warn_if_leased(dbs[2], pairs)  # type: ignore[arg-type]
    assert busy == [f"{ACCOUNTS[0]} (replica live)"]
    assert "leased by running replicas" in caplog.text
