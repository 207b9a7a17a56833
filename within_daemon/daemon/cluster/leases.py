"""Several daemon replicas on one database: account leases and once-per-cluster slots.

Each replica heartbeats into ``replicas`` and holds a row lease in ``leases`` for every
account it pulls. A lease is taken or renewed by one conditional upsert that succeeds only
if the row is free, expired, or already ours, judged by the database server's clock (one
clock for all replicas, so skew between machines does not matter). A replica aims for its
fair share, ``ceil(accounts / live replicas)``: it takes free accounts up to it (in an order
hashed by replica id, so replicas starting together reach for different ones) and gives
back idle ones above it when a replica joins.

When a replica dies its heartbeat and leases stop being renewed; after ``lease_seconds``
another replica takes its accounts, marks the dead runs interrupted, and resumes them from
the ledger (same run id, completed days skipped). A scheduled slot is claimed in
``task_slots`` by ``(task, account, slot)`` before it runs, so a lease that moves around
the slot's time cannot make the slot run twice; database-wide tasks claim ``account "*"``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...config import AccountConfig, LoadedConfig
from ...loaders import DatabaseLoader
from ...loaders.schema.tables import AUDIENCE_PIPELINE

log = logging.getLogger(__name__)


def resource(platform: str, account_id: str) -> str:
    return f"account:{platform}:{account_id}"


def default_replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def cluster_enabled(loaded: LoadedConfig) -> bool:
    cfg = loaded.config.cluster
    if cfg.enabled is not None:
        return cfg.enabled
    return loaded.config.database.url.startswith(("postgresql://", "postgres://"))


@dataclass
class Rebalance:
    """What one round changed: accounts newly ours, accounts lost or given back."""

    acquired: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    live_replicas: int = 1
    share: int = 0


class Cluster:
    """One replica's view: its id, the leases it holds, and the statements to keep them."""

    def __init__(self, db: DatabaseLoader, replica_id: str, lease_seconds: float) -> None:
        self.db = db
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        #: resource -> lease generation (a fencing token: it grows on every takeover).
        self.held: dict[str, int] = {}
        now = db.dialect.now_epoch
        self._acquire = (
            "INSERT INTO leases (resource, holder, generation, acquired_at, expires_at) "
            f"VALUES (?, ?, 1, {now}, {now} + CAST(? AS REAL)) "
            "ON CONFLICT (resource) DO UPDATE SET holder = excluded.holder, "
            "generation = leases.generation + "
            "(CASE WHEN leases.holder = excluded.holder THEN 0 ELSE 1 END), "
            "acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at "
            "ELSE excluded.acquired_at END, expires_at = excluded.expires_at "
            f"WHERE leases.holder = excluded.holder OR leases.expires_at < {now} "
            "RETURNING generation"
        )
        self._heartbeat = (
            "INSERT INTO replicas (replica_id, host, pid, started_at, heartbeat_at, "
            f"lease_seconds) VALUES (?, ?, ?, {now}, {now}, CAST(? AS REAL)) "
            "ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at "
            "RETURNING heartbeat_at"
        )
        self._live = ("SELECT COUNT(*) AS n FROM replicas "
                      f"WHERE heartbeat_at + lease_seconds > {now}")
        self._claim = (
            "INSERT INTO task_slots (task, account_id, slot, holder, claimed_at) "
            f"VALUES (?, ?, ?, ?, {now}) ON CONFLICT (task, account_id, slot) DO NOTHING "
            "RETURNING holder"
        )

    # -- leases ----------------------------------------------------------------------------
    async def heartbeat(self) -> None:
        await self.db.fetch_dicts(self._heartbeat, (
            self.replica_id, socket.gethostname(), os.getpid(), float(self.lease_seconds)))

    async def live_replicas(self) -> int:
        rows = await self.db.fetch_dicts(self._live)
        return max(1, int(rows[0]["n"]))

    async def try_acquire(self, res: str) -> int | None:
        """Take or renew ``res``; its generation if we hold it now, else None."""
        rows = await self.db.fetch_dicts(
            self._acquire, (res, self.replica_id, float(self.lease_seconds)))
        return int(rows[0]["generation"]) if rows else None

    async def release(self, res: str) -> None:
        await self.db.execute_in_transaction([(
            "DELETE FROM leases WHERE resource = ? AND holder = ?", [(res, self.replica_id)])])
        self.held.pop(res, None)

    async def release_all(self) -> None:
        """On a clean stop: hand every account over at once instead of after the lease."""
        for res in list(self.held):
            await self.release(res)
        await self.db.execute_in_transaction([(
            "DELETE FROM replicas WHERE replica_id = ?", [(self.replica_id,)])])

    async def prune(self, keep_days: float = 14.0) -> int:
        """Forget slot claims older than ``keep_days``, and replicas and leases dead a day.

        Claims only guard against a slot running twice around its own time; without
        pruning an hourly task over 1,000 accounts would add 24,000 rows a day forever.
        """
        now = self.db.dialect.now_epoch
        steps: list[tuple[str, list[tuple[float]]]] = [
            (f"DELETE FROM task_slots WHERE claimed_at < {now} - CAST(? AS REAL)",
             [(keep_days * 86400.0,)]),
            (f"DELETE FROM replicas WHERE heartbeat_at < {now} - CAST(? AS REAL)",
             [(86400.0,)]),
            # Leases left by dead replicas on accounts no longer configured.
            (f"DELETE FROM leases WHERE expires_at < {now} - CAST(? AS REAL)", [(86400.0,)]),
        ]
        before = await self.db.count_rows("task_slots")
        await self.db.execute_in_transaction(steps)
        return before - await self.db.count_rows("task_slots")

    def _order(self, resources: Iterable[str]) -> list[str]:
        # Rendezvous hashing: each replica ranks the accounts differently, so replicas that
        # start together mostly reach for different ones instead of racing for the same.
        def rank(r: str) -> bytes:
            return hashlib.sha256(f"{self.replica_id}|{r}".encode()).digest()
        return sorted(resources, key=rank)

    async def rebalance(self, resources: list[str], busy: set[str]) -> Rebalance:
        """One round: heartbeat, renew, give back surplus idle accounts, take up to a share."""
        out = Rebalance()
        await self.heartbeat()
        out.live_replicas = await self.live_replicas()
        wanted = set(resources)
        out.share = math.ceil(len(resources) / out.live_replicas) if resources else 0
        for res in list(self.held):
            if res not in wanted:  # removed from the config
                await self.release(res)
                out.released.append(res)
                continue
            gen = await self.try_acquire(res)
            if gen is None or gen != self.held[res]:
                # Expired and taken (we stalled past the lease): never keep pulling it.
                self.held.pop(res, None)
                out.lost.append(res)
                log.error("lease on %s lost to another replica; its runs stop here", res)
        surplus = len(self.held) - out.share
        for res in sorted(self.held, reverse=True):
            if surplus <= 0:
                break
            if res not in busy:
                await self.release(res)
                out.released.append(res)
                surplus -= 1
        for res in self._order(r for r in resources if r not in self.held):
            if len(self.held) >= out.share:
                break
            gen = await self.try_acquire(res)
            if gen is not None:
                self.held[res] = gen
                out.acquired.append(res)
        return out

    def lease_for(self, platform: str, account_id: str) -> tuple[str, int] | None:
        """The loader's fence: our lease on an account (resource, generation), if any."""
        res = resource(platform, account_id)
        gen = self.held.get(res)
        return None if gen is None else (res, gen)

    def holds(self, account: AccountConfig) -> bool:
        return resource(account.platform, account.account_id) in self.held

    # -- slots and runs ----------------------------------------------------------------------
    async def claim_slot(self, task: str, account_id: str, slot: str) -> bool:
        """True for the one replica that gets to run ``task`` for ``account_id`` in ``slot``."""
        rows = await self.db.fetch_dicts(self._claim, (task, account_id, slot, self.replica_id))
        return bool(rows)

    async def take_over_runs(self, platform: str, account_id: str) -> list[str]:
        """Runs of an account we just leased that another holder left 'running': interrupted.

        The lease is exclusive, so whoever started them no longer may write; marking them
        lets ``find_resumable_run`` hand them to us.
        """
        rows = await self.db.fetch_dicts(
            "UPDATE runs SET status = 'interrupted', finished_at = ?, error = COALESCE(error, "
            "'replica lost its lease while the run was in progress') WHERE status = 'running' "
            "AND platform = ? AND account_id = ? AND holder IS NOT NULL AND holder <> ? "
            "RETURNING run_id", (_iso_now(), platform, account_id, self.replica_id))
        return [str(r["run_id"]) for r in rows]

    async def resumable_tasks(self, platform: str, account_id: str) -> list[str]:
        """Tasks whose latest run for this account was interrupted (to resume now)."""
        rows = await self.db.fetch_dicts(
            "SELECT r.task AS task FROM runs r WHERE r.platform = ? AND r.account_id = ? "
            "AND r.status = 'interrupted' AND (r.pipeline IS NULL OR r.pipeline <> ?) "
            "AND NOT EXISTS (SELECT 1 FROM runs n WHERE "
            "n.task = r.task AND n.platform = r.platform AND n.account_id = r.account_id "
            "AND (n.pipeline IS NULL OR n.pipeline <> ?) "
            "AND n.started_at > r.started_at) GROUP BY r.task ORDER BY r.task",
            # Audience pulls share their task's name; they are never resumed themselves.
            (platform, account_id, AUDIENCE_PIPELINE, AUDIENCE_PIPELINE))
        return [str(r["task"]) for r in rows]


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")



async def cluster_view(db: DatabaseLoader) -> dict[str, list[dict[str, Any]]]:
    """Replicas (with heartbeat age) and account leases (with seconds left), server clock."""
    now = db.dialect.now_epoch
    replicas = await db.fetch_dicts(
        f"SELECT replica_id, host, pid, {now} - heartbeat_at AS age, lease_seconds "
        "FROM replicas ORDER BY replica_id")
    leases = await db.fetch_dicts(
        f"SELECT resource, holder, generation, expires_at - {now} AS left_seconds "
        "FROM leases ORDER BY resource")
    for r in replicas:
        r["alive"] = r["age"] < r["lease_seconds"]
    return {"replicas": replicas, "leases": leases}
