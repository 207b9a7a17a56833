"""The long-running service: clock, signals, reloads, watchdog, drain.

``Service.serve`` opens the database, the engine's actors and the HTTP server on one exit
stack, lets APScheduler send ticks, and runs each ticked task for the accounts that are
not still busy with the same task (an overlap is logged and counted, never duplicated).

- SIGTERM / SIGINT: stop the clock and the sources (after their current page), give
  in-flight pages ``grace_seconds`` to be committed, cancel the rest, exit 0. A second
  signal exits at once (1).
- SIGHUP: re-read the config in a worker thread; signals that arrive meanwhile collapse
  into one more reload. An invalid file is logged in one line and counted; a valid one
  replaces the schedule, and accounts it adds to a task are pulled at once, while runs of
  unchanged accounts go on untouched.
- systemd: READY=1, RELOADING=1 + MONOTONIC_USEC then READY=1, STOPPING=1, STATUS=, and
  WATCHDOG=1 every half ``WATCHDOG_USEC`` while the loop and the database answer.
- Cluster mode (PostgreSQL by default, see :mod:`.cluster`): a replica pulls
  only the accounts it holds a lease on, claims each scheduled slot before running it, and
  resumes the interrupted runs of accounts it takes over from a dead replica.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import anyio
import anyio.abc

from ..checks import all_tasks
from ..config import LoadedConfig, TaskConfig, load_config
from ..errors import ConfigError
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from ..observability.sd_notify import notify
from ..observability.server import serve_http
from ..pipelines.engine import Engine, open_engine
from ..pipelines.registry import spec_for
from ..tasks import Tick, build_scheduler
from ..tasks.scheduler import last_slot
from .cluster import Cluster, Replica, cluster_enabled
from .lifecycle import announce_ready, drain, watchdog, watchdog_interval
from .reload import ReloadPlan, keep_restart_settings, prepare_reload, reschedule
from .resources import open_database, open_replica
from .status import LastRuns, accounts_status, next_runs_of, status_document, token_expiry_of

log = logging.getLogger(__name__)


class Service:
    """State of the running daemon: config, engine, runs in flight, last results."""

    def __init__(self, loaded: LoadedConfig, metrics: Metrics, *,
                 replica: Replica | None = None) -> None:
        self.loaded = loaded
        self.metrics = metrics
        #: (task, account) -> unix start time of the run in flight.
        self.running: dict[tuple[str, str], float] = {}
        self.last: dict[str, dict[str, Any]] = {}
        #: Each account's newest finished run, for /status.
        self.last_runs = LastRuns()
        self.engine: Engine | None = None
        self.db: DatabaseLoader | None = None
        self.scheduler: Any = None
        self.ticks_send: Any = None
        self.work: anyio.abc.TaskGroup | None = None
        self.stopping = False
        self.reloading = False
        self.reload_pending = False
        self.reloads = 0
        #: Cluster mode (see :mod:`.cluster`): given, or joined by ``serve`` when the
        #: config enables it; None for a single daemon.
        self.replica = replica

    # -- what the HTTP server shows ------------------------------------------------------
    async def ready(self) -> bool:
        return self.db is not None and not self.stopping and await self.db.ping()

    async def status(self) -> dict[str, Any]:
        connectors = self.engine.account_states() if self.engine is not None else []
        tasks = all_tasks(self.loaded)
        next_runs = {} if self.stopping else next_runs_of(self.scheduler)
        accounts = accounts_status(
            self.loaded, [t for t in tasks if not spec_for(t).accountless],
            connectors=connectors, running=list(self.running), last_runs=self.last_runs.runs,
            next_runs=next_runs, token_expiry=token_expiry_of(self.metrics), now=time.time())
        if self.cluster is not None:  # in config order, like the entries
            for entry, acc in zip(accounts, self.loaded.config.accounts, strict=True):
                entry["leased_here"] = self.cluster.holds(acc)
        return status_document(
            self.loaded, tasks, accounts, running=self.running, last=self.last,
            next_runs=next_runs, stopping=self.stopping, reloads=self.reloads,
            cluster=None if self.cluster is None else {
                "replica_id": self.cluster.replica_id,
                "leased_accounts": sorted(self.cluster.held)})

    def _summary(self) -> str:
        busy = len(self.running)
        last = ", ".join(f"{k} {v['status']}" for k, v in list(self.last.items())[-3:])
        return f"STATUS={busy} account run(s) in flight; last: {last or 'none yet'}"

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, task: TaskConfig, account_ids: list[str], *, jitter: bool) -> None:
        if self.work is None or self.stopping or not account_ids:
            return
        for a in account_ids:
            self.running[(task.name, a)] = time.time()
        self.work.start_soon(self._run, task, account_ids, jitter)

    def _free(self, task: str, account_id: str) -> None:
        self.running.pop((task, account_id), None)

    async def _run(self, task: TaskConfig, account_ids: list[str], jitter: bool) -> None:
        assert self.engine is not None
        spread = self.loaded.config.runtime.account_jitter_seconds if jitter else 0.0
        try:
            res = await self.engine.run_task(
                task, account_ids=account_ids, jitter=spread,
                # Each account is free for the task's next slot as soon as its own pull
                # is committed, not when the slowest account of the slot is done.
                on_account_done=lambda a: self._free(task.name, a),
            )
            self.last[task.name] = {"status": res.status, "fetched": res.fetched,
                                    "loaded": res.loaded, "quarantined": res.quarantined,
                                    "accounts": len(res.accounts), "finished_at": time.time()}
            self.last_runs.note(task.name, res.accounts)
            log.info("task %s: %s, fetched %d, loaded %d, quarantined %d in %.1fs",
                     task.name, res.status, res.fetched, res.loaded, res.quarantined,
                     res.duration_seconds)
        except Exception:
            log.exception("task %s crashed", task.name)
            self.metrics.runs.labels(task.name, "crashed").inc()
        finally:
            for a in account_ids:
                self.running.pop((task.name, a), None)
            notify(self._summary())

    def on_tick(self, name: str, *, jitter: bool = True, slot: str | None = None) -> None:
        """Run task ``name`` for its free accounts (in a cluster: leased ones, once per slot)."""
        task = next((t for t in all_tasks(self.loaded) if t.name == name), None)
        if task is None or self.stopping:
            return
        accounts = [a.account_id for a in self.loaded.accounts_for(task)
                    if self.cluster is None or self.cluster.holds(a)]
        if spec_for(task).accountless or (task.platform == "internal"
                                          and not self.loaded.accounts_for(task)):
            # These tasks read the database (or a drop folder), not per-account APIs.
            accounts = ["*"]
        if self.cluster is not None and slot is not None and self.work is not None:
            self.work.start_soon(self._claimed_tick, task, accounts, jitter, slot)
            return
        self._tick_accounts(task, accounts, jitter)

    async def _claimed_tick(self, task: TaskConfig, accounts: list[str], jitter: bool,
                            slot: str) -> None:
        assert self.replica is not None
        self._tick_accounts(task, await self.replica.claim(task.name, accounts, slot), jitter)

    def _tick_accounts(self, task: TaskConfig, accounts: list[str], jitter: bool) -> None:
        name = task.name
        busy = [a for a in accounts if (name, a) in self.running]
        if busy:
            since = min(self.running[(name, a)] for a in busy)
            log.warning("task %s: %d account(s) still running from %.0fs ago; their slot is "
                        "skipped", name, len(busy), time.time() - since)
            self.metrics.runs.labels(name, "overlap_skipped").inc()
        self.start_run(task, [a for a in accounts if a not in busy], jitter=jitter)

    async def dispatch(self, ticks: Any) -> None:
        tz = self.loaded.config.runtime.timezone
        async for tick in ticks:
            assert isinstance(tick, Tick)
            task = next((t for t in all_tasks(self.loaded) if t.name == tick.task), None)
            self.on_tick(tick.task, slot=last_slot(task, tz).isoformat() if task else None)

    # -- cluster ---------------------------------------------------------------------------
    @property
    def cluster(self) -> Cluster | None:
        return self.replica.cluster if self.replica is not None else None

    def _stop_account(self, platform: str, account_id: str) -> None:
        if self.engine is not None:
            self.engine.stop_account(platform, account_id)

    def _start_now(self, task: TaskConfig, accounts: list[str]) -> None:
        self._tick_accounts(task, accounts, jitter=False)

    def _account_tasks(self) -> list[TaskConfig]:
        return [t for t in all_tasks(self.loaded) if not spec_for(t).accountless]

    async def cluster_round(self, *, run_all: bool = False) -> None:
        """Renew and rebalance leases; start work on accounts just leased."""
        assert self.replica is not None
        await self.replica.round(self.loaded, self._account_tasks(), list(self.running),
                                 self._start_now, run_all=run_all, stop=self._stop_account)

    async def cluster_loop(self) -> None:
        assert self.replica is not None
        every = self.replica.cluster.lease_seconds / 3
        while True:
            await anyio.sleep(every)
            if self.stopping:
                return
            # A failure is logged and retried; leases expire if it persists.
            await self.replica.safe_round(self.loaded, self._account_tasks(),
                                          list(self.running), self._start_now,
                                          stop=self._stop_account)

    # -- reload ----------------------------------------------------------------------------
    def prepare(self, new: LoadedConfig) -> ReloadPlan:
        """Build and check everything ``new`` needs, touching nothing that runs."""
        return prepare_reload(new, engine=self.engine, metrics=self.metrics,
                              ticks_send=self.ticks_send if self.scheduler is not None
                              else None)

    def apply(self, new: LoadedConfig, plan: ReloadPlan | None = None) -> None:
        """Switch to ``new``; pull accounts it adds to existing or new tasks right away."""
        old = self.loaded
        new = keep_restart_settings(old, new)
        plan = plan if plan is not None else self.prepare(new)
        old_tasks = {t.name: t for t in all_tasks(old)}
        self.loaded = new
        if self.engine is not None:
            self.engine.reconfigure(new, plan.connectors)
        reschedule(self.scheduler, plan.scheduler)
        for task in all_tasks(new):
            before = {a.account_id for a in old.accounts_for(old_tasks[task.name])} \
                if task.name in old_tasks else None
            if before is None:
                continue  # a new task waits for its first slot, like at start-up
            added = [a.account_id for a in new.accounts_for(task) if a.account_id not in before]
            if self.replica is not None and added:
                # Accounts not leased yet are pulled the moment the (prompt) round takes them.
                held = self.replica.note_added(new, task, added)
                if len(held) < len(added) and self.work is not None:
                    self.work.start_soon(partial(
                        self.replica.safe_round, new, self._account_tasks(),
                        list(self.running), self._start_now, stop=self._stop_account))
                added = held
            if added:
                log.info("reload: task %s gained account(s) %s; pulling them now", task.name,
                         ", ".join(added))
                self.start_run(task, added, jitter=False)

    async def reload(self) -> None:
        """Reload, collapsing SIGHUPs that arrive meanwhile into at most one more.

        Whatever goes wrong while the new config is read, checked and built (a syntax
        error, an unknown time zone, an unreadable secret file, a missing credential) is
        logged in one line and counted; the running config stays as it was.
        """
        if self.reloading:
            self.reload_pending = True
            return
        self.reloading = True
        try:
            while True:
                self.reload_pending = False
                notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
                try:
                    new = await anyio.to_thread.run_sync(load_config, self.loaded.path)
                    plan = self.prepare(new)
                except Exception as exc:  # noqa: BLE001 - any failure keeps the old config
                    why = str(exc) if isinstance(exc, ConfigError) else \
                        f"{type(exc).__name__}: {exc}"
                    log.error("reload refused, keeping the running config: %s",
                              " ".join(why.split()))
                    self.metrics.config_reload.labels("failure").inc()
                else:
                    self.apply(new, plan)
                    self.reloads += 1
                    self.metrics.config_reload.labels("success").inc()
                    log.info("config reloaded: %d accounts, %d tasks",
                             len(new.config.accounts), len(all_tasks(new)))
                notify("READY=1", self._summary())
                if not self.reload_pending:
                    return
        finally:
            self.reloading = False

    # -- signals and watchdog --------------------------------------------------------------
    async def signals(self, tg: anyio.abc.TaskGroup, stop: Callable[[], None],
                      exit_now: Callable[[], None]) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as sigs:
            async for sig in sigs:
                if sig == signal.SIGHUP:
                    if self.reloading:
                        self.reload_pending = True
                    else:
                        tg.start_soon(self.reload)
                    continue
                if self.stopping:
                    log.warning("second stop signal: exiting now")
                    exit_now()
                    return
                log.info("received %s: draining", signal.Signals(sig).name)
                stop()

    # -- lifecycle -------------------------------------------------------------------------
    async def open(self, stack: AsyncExitStack) -> Engine:
        """Open the database, the listener, the cluster membership and the engine on ``stack``.

        The replica comes first: the database is built knowing its id and lease fence.
        """
        if self.replica is None and cluster_enabled(self.loaded):
            self.replica = await open_replica(self.loaded, self.metrics, stack)
        c = self.cluster
        self.db = await open_database(self.loaded, holder=c.replica_id if c else None,
                                      fence=c.lease_for if c else None)
        stack.push_async_callback(self.db.close)
        await self.last_runs.seed(self.db)
        # The listener before the engine: a port in use is a config problem reported in
        # one line (inside the engine's task group it would arrive wrapped in a group).
        if self.loaded.config.metrics.enabled:
            listen = self.loaded.config.metrics.listen
            try:
                await stack.enter_async_context(serve_http(
                    listen, self.metrics, ready=self.ready, status=self.status))
            except OSError as exc:  # a port in use, a host that is not ours: one line
                raise ConfigError(f"{self.loaded.path}: metrics.listen: cannot listen on "
                                  f"{listen}: {exc.strerror or exc}") from None
        if c is not None:
            # Let replicas started together see each other before the first share.
            await anyio.sleep(min(2.0, c.lease_seconds / 3))
        self.engine = await stack.enter_async_context(
            open_engine(self.loaded, self.db, metrics=self.metrics))
        return self.engine

    async def start_work(self, run_at_start: bool) -> None:
        """The first lease round, and the ``--run-at-start`` runs."""
        if self.cluster is not None:
            await self.cluster_round(run_all=run_at_start)
            if run_at_start:  # database-wide tasks: once per cluster start
                for t in all_tasks(self.loaded):
                    if spec_for(t).accountless:
                        self.on_tick(t.name, jitter=False, slot="start")
        elif run_at_start:
            for t in all_tasks(self.loaded):
                self.on_tick(t.name, jitter=False)

    async def serve(self, *, ready_file: str | None = None, run_at_start: bool = False) -> int:
        rt = self.loaded.config.runtime
        hard = False
        async with AsyncExitStack() as stack:
            engine = await self.open(stack)
            ticks_send, ticks_recv = anyio.create_memory_object_stream[Tick](64)
            self.ticks_send = ticks_send
            self.scheduler = build_scheduler(all_tasks(self.loaded), rt.timezone, ticks_send)
            stop_event = anyio.Event()

            def stop() -> None:
                self.stopping = True
                self.scheduler.shutdown(wait=False)
                engine.stop.set()
                stop_event.set()

            async with anyio.create_task_group() as root:

                def exit_now() -> None:
                    nonlocal hard
                    hard = True
                    root.cancel_scope.cancel()

                root.start_soon(self.signals, root, stop, exit_now)
                interval = watchdog_interval()
                if interval:
                    root.start_soon(watchdog, self.db, interval)
                async with anyio.create_task_group() as work:
                    self.work = work
                    root.start_soon(self.dispatch, ticks_recv)
                    root.start_soon(engine.queues.sample_forever)
                    self.scheduler.start()
                    await self.start_work(run_at_start)
                    if self.cluster is not None:
                        root.start_soon(self.cluster_loop)
                    announce_ready(self.loaded, all_tasks(self.loaded), ready_file)
                    await stop_event.wait()
                    notify("STOPPING=1")
                    await drain(self.running, rt.grace_seconds)
                    work.cancel_scope.cancel()
                root.cancel_scope.cancel()
        log.info("daemon stopped%s", " at once on a second signal" if hard else "")
        return 1 if hard else 0

async def run_daemon(loaded: LoadedConfig, *, metrics: Metrics,
                     ready_file: str | None = None, run_at_start: bool = False) -> int:
    """Serve until SIGTERM/SIGINT; return the exit code (0, or 1 on a second signal)."""
    return await Service(loaded, metrics).serve(ready_file=ready_file,
                                                run_at_start=run_at_start)
