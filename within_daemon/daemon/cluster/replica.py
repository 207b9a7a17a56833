"""The service's part in a cluster: lease rounds, slot claims, and starting leased work.

:mod:`.leases` holds the database side (leases, heartbeats, slot claims);
this module decides what the service does with them: each round renews and rebalances the
leases, sweeps runs of dead replicas, and starts work on accounts just leased (their
interrupted runs, accounts a reload added, or everything when the daemon starts with
``--run-at-start``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

import anyio

from ...config import LoadedConfig, TaskConfig
from ...observability.metrics import Metrics
from .leases import Cluster, resource

log = logging.getLogger(__name__)

#: How often a replica prunes old slot claims and long-dead replicas.
PRUNE_EVERY_SECONDS = 3600.0

#: Starts ``task`` for the given account ids (the service's overlap rule applies).
StartFn = Callable[[TaskConfig, list[str]], None]
#: Stops pulling one (platform, account_id) whose lease went to another replica.
StopFn = Callable[[str, str], None]


class Replica:
    """One daemon as a member of the cluster."""

    def __init__(self, cluster: Cluster, metrics: Metrics,
                 stop_account: StopFn | None = None) -> None:
        self.cluster = cluster
        self.metrics = metrics
        self.stop_account = stop_account
        self._pruned_at = 0.0
        #: Tasks to start for an account as soon as its lease is ours (an account a reload
        #: added, which no replica held yet).
        self.pull_on_lease: dict[str, set[str]] = {}
        self._lock = anyio.Lock()

    async def claim(self, task: str, accounts: list[str], slot: str) -> list[str]:
        """The accounts whose ``slot`` of ``task`` this replica won (runs once per cluster)."""
        mine = []
        for a in accounts:
            try:
                if await self.cluster.claim_slot(task, a, slot):
                    mine.append(a)
            except Exception:  # noqa: BLE001 - no claim, no run; the next slot tries again
                log.exception("task %s: cannot claim slot %s for %s", task, slot, a)
        if len(mine) < len(accounts):
            log.info("task %s slot %s: %d of %d account(s) already run by another replica",
                     task, slot, len(accounts) - len(mine), len(accounts))
        return mine

    def note_added(self, loaded: LoadedConfig, task: TaskConfig, added: list[str]) -> list[str]:
        """Of accounts a reload added to ``task``: those leased now; the rest wait for one."""
        held = []
        for x in loaded.accounts_for(task):
            if x.account_id not in added:
                continue
            if self.cluster.holds(x):
                held.append(x.account_id)
            else:
                res = resource(x.platform, x.account_id)
                self.pull_on_lease.setdefault(res, set()).add(task.name)
        return held

    async def round(self, loaded: LoadedConfig, tasks: list[TaskConfig],
                    running: Collection[tuple[str, str]], start: StartFn, *,
                    run_all: bool = False, stop: StopFn | None = None) -> None:
        """Renew and rebalance leases; start work on accounts just leased.

        ``tasks`` are the per-account tasks (database-wide ones run on slot claims only);
        ``running`` the service's (task, account) pairs in flight; ``stop`` (or the
        constructor's ``stop_account``) stops the pulls of accounts whose lease was lost.
        """
        async with self._lock:  # the periodic loop and a reload may both ask
            await self._round(loaded, tasks, running, start, run_all,
                              stop or self.stop_account)

    async def safe_round(self, loaded: LoadedConfig, tasks: list[TaskConfig],
                         running: Collection[tuple[str, str]], start: StartFn, *,
                         stop: StopFn | None = None) -> None:
        """A round whose failure is logged (leases expire if failures persist)."""
        try:
            await self.round(loaded, tasks, running, start, stop=stop)
        except Exception:  # noqa: BLE001 - the next round tries again; leases expire meanwhile
            log.exception("lease round failed")

    async def _round(self, loaded: LoadedConfig, tasks: list[TaskConfig],
                     running: Collection[tuple[str, str]], start: StartFn,
                     run_all: bool, stop: StopFn | None) -> None:
        c = self.cluster
        resources = {resource(a.platform, a.account_id): (a.platform, a.account_id)
                     for a in loaded.config.accounts}
        busy_ids = {a for (_t, a) in running}
        busy = {r for r, (_p, a) in resources.items() if a in busy_ids}
        res = await c.rebalance(sorted(resources), busy)
        self.metrics.cluster_leased.set(len(c.held))
        self.metrics.cluster_accounts.set(len(resources))
        self.metrics.cluster_replicas.set(res.live_replicas)
        for event, items in (("acquired", res.acquired), ("lost", res.lost),
                             ("released", res.released)):
            if items:
                self.metrics.cluster_lease_events.labels(event).inc(len(items))
        for r in res.lost:
            if stop is not None and r in resources:
                stop(*resources[r])
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self._pruned_at = time.monotonic()
            n = await c.prune()
            if n:
                log.info("forgot %d slot claim(s) older than 14 days", n)
        reaped = await c.db.mark_interrupted_runs(replicas_only=True)
        if reaped:
            log.warning("runs of dead replica(s) marked interrupted: %s", ", ".join(reaped[:5]))
        if res.acquired or res.lost or res.released:
            log.info("leases: +%d -%d released %d; holding %d of %d (share %d, %d replicas)",
                     len(res.acquired), len(res.lost), len(res.released), len(c.held),
                     len(resources), res.share, res.live_replicas)
        for r in res.acquired:
            platform, account_id = resources[r]
            taken = await c.take_over_runs(platform, account_id)
            todo = set(await c.resumable_tasks(platform, account_id))
            todo |= self.pull_on_lease.pop(r, set())
            if taken:
                log.warning("took over %s %s from another replica; %d run(s) interrupted",
                            platform, account_id, len(taken))
            if todo:
                log.info("leased %s %s; starting %s now (resumes continue their run)",
                         platform, account_id, ", ".join(sorted(todo)))
            for task in tasks:
                if task.name not in todo and not run_all:
                    continue
                if any(a.account_id == account_id and a.platform == platform
                       for a in loaded.accounts_for(task)):
                    start(task, [account_id])

    async def leave(self) -> None:
        """On a clean stop: hand the accounts over now instead of after the lease."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            try:
                await self.cluster.release_all()
            except Exception:  # noqa: BLE001 - the leases then expire on their own
                log.exception("could not release leases on stop")
