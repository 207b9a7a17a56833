"""Per-account status: every configured account, its state, flags, last and next run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from within_daemon.config import AccountConfig, load_config
from within_daemon.daemon.status import (
    LastRuns,
    account_entry,
    accounts_status,
    describe,
    token_expiry_of,
)
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics

from .conftest import fb_account, write_config

NOW = 1_800_000_000.0
ACC = AccountConfig(platform="facebook", account_id="1")


def entry(**kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"tasks": ["ads"], "connector": None, "running": [],
                            "last_run": None, "next_run": None, "token_expires_at": None,
                            "now": NOW}
    args.update(kw)
    return account_entry(ACC, **args)


def test_states_in_order_of_urgency() -> None:
    """Circuit open beats paused beats running beats idle; every condition is a flag."""
    assert entry()["state"] == "idle" and entry()["flags"] == []
    assert entry(running=["ads"])["state"] == "running"
    paused = entry(running=["ads"], connector={"paused_seconds": 90.0, "circuit": "closed"})
    assert paused["state"] == "paused" and paused["flags"] == ["paused", "running"]
    assert paused["paused_until"] == datetime.fromtimestamp(NOW + 90, UTC).isoformat()
    broken = entry(connector={"paused_seconds": 5.0, "circuit": "open"})
    assert broken["state"] == "circuit_open" and broken["flags"] == ["circuit_open", "paused"]


def test_token_expiring_and_expired_are_flags() -> None:
    """A token expiring within 7 days is flagged; an expired one too; 0 means never."""
    soon = entry(token_expires_at=NOW + 3 * 86400)
    assert soon["state"] == "idle" and soon["flags"] == ["token_expiring"]
    assert soon["token_expires_at"] is not None
    assert entry(token_expires_at=NOW - 1)["flags"] == ["token_expired"]
    assert entry(token_expires_at=NOW + 30 * 86400)["flags"] == []
    assert entry(token_expires_at=0.0)["flags"] == []
    assert "token expiring" in describe(soon)


def test_connector_facts_pass_through() -> None:
    """Keys the engine adds to an account's state reach the entry unchanged."""
    got = entry(connector={"circuit": "open", "paused_seconds": 0.0, "usage_percent": 12.0,
                           "requests": 7, "next_probe_seconds": 30.0})
    assert got["next_probe_seconds"] == 30.0 and got["connected"] is True
    assert entry()["connected"] is False and entry()["requests"] == 0


def test_every_configured_account_with_its_next_run(tmp_path: Path) -> None:
    """Accounts without a connector are listed; the next run is the soonest covering task."""
    cfg = write_config(tmp_path, base_url="http://127.0.0.1:1/v27.0",
                       accounts=[fb_account("1"), fb_account("2")],
                       tasks=[{"name": "a", "accounts": ["1"]}, {"name": "b"}])
    loaded = load_config(cfg)
    tz = datetime(2030, 1, 2, 3, 0, tzinfo=UTC)
    later = datetime(2030, 1, 2, 5, 0, tzinfo=UTC)
    out = accounts_status(
        loaded, loaded.config.tasks,
        connectors=[{"platform": "facebook", "account_id": "2", "circuit": "closed",
                     "paused_seconds": 0.0, "usage_percent": 3.0, "requests": 4}],
        running=[("b", "2")], last_runs={("facebook", "1"): {"task": "a", "status": "success"}},
        next_runs={"a": later, "b": tz}, token_expiry={}, now=NOW)
    assert [(e["account_id"], e["state"], e["tasks"]) for e in out] == [
        ("1", "idle", ["a", "b"]), ("2", "running", ["b"])]
    assert out[0]["next_run"] == {"task": "b", "at": tz.isoformat()}
    assert out[0]["last_run"] == {"task": "a", "status": "success"} and out[1]["last_run"] is None
    assert out[1]["running_tasks"] == ["b"] and out[1]["requests"] == 4
    assert "last none yet" in describe(out[1]) and "next b at" in describe(out[1])


def test_token_expiry_read_from_the_gauge() -> None:
    """The token expiry a run exported is what status reads."""
    m = Metrics()
    m.token_expiry.labels("facebook", "1").set(NOW + 60)
    assert token_expiry_of(m) == {("facebook", "1"): NOW + 60}


async def test_last_runs_seeded_from_the_runs_table(tmp_path: Path) -> None:
    """After a restart each account's newest run comes from the runs table."""
    async with DatabaseLoader.from_url(f"sqlite:///{tmp_path}/w.db") as db:
        with anyio.fail_after(10):
            old = await db.start_run(task="ads", platform="facebook", account_id="1")
            await db.finish_run(old, "failed")
            new = await db.start_run(task="ads", platform="facebook", account_id="1")
            await db.finish_run(new, "success")
            book = LastRuns()
            await book.seed(db)
    got = book.runs[("facebook", "1")]
    assert (got["run_id"], got["status"], got["task"]) == (new, "success", "ads")


async def test_cluster_status_says_which_accounts_this_replica_pulls(tmp_path: Path) -> None:
    """In cluster mode each account entry says whether this replica holds its lease."""
    from within_daemon.daemon import Service
    from within_daemon.daemon.cluster import Cluster, Replica, resource

    cfg = write_config(tmp_path, base_url="http://127.0.0.1:1/v27.0",
                       accounts=[fb_account("1"), fb_account("2")], tasks=[{"name": "a"}])
    async with DatabaseLoader.from_url(f"sqlite:///{tmp_path}/w.db") as db:
        cluster = Cluster(db, "replica-a", 30.0)
        cluster.held[resource("facebook", "2")] = 1  # the lease generation
        service = Service(load_config(cfg), Metrics(), replica=Replica(cluster, Metrics()))
        with anyio.fail_after(10):
            status = await service.status()
    assert [(a["account_id"], a["leased_here"]) for a in status["accounts"]] == [
        ("1", False), ("2", True)]
    assert status["cluster"]["leased_accounts"] == [resource("facebook", "2")]
