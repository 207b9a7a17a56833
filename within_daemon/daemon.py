"""The daemon: resources on one exit stack, the root task group, signals, drain.

``run_daemon`` opens the database, the engine's actors and the HTTP server, lets the
scheduler send ticks, and runs each ticked task unless the same task is still running
(then the overlap is logged and counted, never duplicated). SIGTERM or SIGINT stops the
clock and the sources, lets in-flight pages be committed within the grace period, then
cancels what is left; a second signal exits at once. SIGHUP re-reads the config: an
invalid file is logged and ignored, a valid one replaces the schedule and the accounts
used by the next runs. ``run_once`` and ``run_backfill`` use the same engine without the
clock.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import date
from typing import Any

import anyio
import msgspec

from .config import LoadedConfig, TaskConfig, load_config
from .errors import ConfigError
from .loaders import DatabaseLoader
from .observability.metrics import Metrics
from .observability.sd_notify import notify
from .observability.server import serve_http
from .pipelines.engine import Engine, TaskResult, open_engine
from .tasks import Tick, build_scheduler, registry

log = logging.getLogger(__name__)


def all_tasks(loaded: LoadedConfig) -> list[TaskConfig]:
    """The config's tasks plus those registered from Python (config wins on a name)."""
    tasks = {t.name: t for t in registry.tasks.values()}
    tasks.update({t.name: t for t in loaded.config.tasks})
    return list(tasks.values())


async def open_database(loaded: LoadedConfig) -> DatabaseLoader:
    db = DatabaseLoader.from_url(loaded.config.database.url, base_dir=loaded.base_dir)
    await db.open()
    interrupted = await db.mark_interrupted_runs()
    if interrupted:
        log.warning("%d run(s) were interrupted by the last exit; they resume on their next "
                    "run: %s", len(interrupted), ", ".join(interrupted[:5]))
    return db


async def run_once(
    loaded: LoadedConfig,
    *,
    metrics: Metrics,
    task_names: list[str] | None = None,
) -> list[TaskResult]:
    """Run each configured task (or the named ones) one time, in config order."""
    tasks = all_tasks(loaded)
    if task_names:
        unknown = set(task_names) - {t.name for t in tasks}
        if unknown:
            raise ConfigError(f"unknown task(s): {', '.join(sorted(unknown))}")
        tasks = [t for t in tasks if t.name in task_names]
    results: list[TaskResult] = []
    async with AsyncExitStack() as stack:
        db = await open_database(loaded)
        stack.push_async_callback(db.close)
        engine = await stack.enter_async_context(open_engine(loaded, db, metrics=metrics))
        for task in tasks:
            log.info("task %s: starting", task.name)
            results.append(await engine.run_task(task))
    return results


async def run_backfill(
    loaded: LoadedConfig,
    *,
    metrics: Metrics,
    platform: str,
    account_id: str,
    start: date,
    end: date,
    pipeline: str = "AdDataPipeline",
    force: bool = False,
    progress: Callable[[Engine, float], None] | None = None,
) -> TaskResult:
    """Pull one account over ``start``..``end``, skipping days already complete."""
    if not any(a.platform == platform and a.account_id == account_id
               for a in loaded.config.accounts):
        raise ConfigError(f"{loaded.path}: no {platform} account {account_id} in [[accounts]]")
    task = TaskConfig(name=f"backfill_{platform}", pipeline=pipeline,  # type: ignore[arg-type]
                      platform=platform, accounts=(account_id,))  # type: ignore[arg-type]
    async with AsyncExitStack() as stack:
        db = await open_database(loaded)
        stack.push_async_callback(db.close)
        engine = await stack.enter_async_context(open_engine(loaded, db, metrics=metrics))
        result: TaskResult | None = None
        async with anyio.create_task_group() as tg:
            if progress is not None:
                async def report() -> None:
                    t0 = time.monotonic()
                    while True:
                        await anyio.sleep(1.0)
                        progress(engine, time.monotonic() - t0)

                tg.start_soon(report)
            result = await engine.run_task(task, start=start, end=end, mode="backfill",
                                           force=force)
            tg.cancel_scope.cancel()
        assert result is not None
        return result


class Daemon:
    """State of a running daemon: config, engine, running tasks."""

    def __init__(self, loaded: LoadedConfig, metrics: Metrics) -> None:
        self.loaded = loaded
        self.metrics = metrics
        self.running: dict[str, float] = {}
        self.last: dict[str, dict[str, Any]] = {}
        self.engine: Engine | None = None
        self.db: DatabaseLoader | None = None
        self.scheduler: Any = None
        self.ticks_send: Any = None
        self.stopping = False

    async def ready(self) -> bool:
        return self.db is not None and await self.db.ping()

    async def status(self) -> dict[str, Any]:
        breakers = {}
        if self.engine is not None:
            breakers = {ref.account_id: "active" for ref in self.engine.active.values()}
        return {
            "config": str(self.loaded.path),
            "tasks": [
                {"name": t.name, "pipeline": t.pipeline, "cadence": t.cadence,
                 "running_since": self.running.get(t.name), "last_run": self.last.get(t.name)}
                for t in all_tasks(self.loaded)
            ],
            "active_accounts": breakers,
            "stopping": self.stopping,
        }

    def reschedule(self) -> None:
        if self.scheduler is not None:
            self.scheduler.remove_all_jobs()
            tmp = build_scheduler(all_tasks(self.loaded), self.loaded.config.runtime.timezone,
                                  self.ticks_send)
            for job in tmp.get_jobs():
                self.scheduler.add_job(
                    job.func, job.trigger, args=job.args, id=job.id, name=job.name,
                    coalesce=True, max_instances=1, misfire_grace_time=job.misfire_grace_time,
                    replace_existing=True,
                )

    def reload(self) -> None:
        try:
            new = load_config(self.loaded.path)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            self.metrics.config_reload.labels("failure").inc()
            return
        if new.config.database != self.loaded.config.database:
            log.warning("reload: [database] changes need a restart; keeping the old database")
            cfg = msgspec.structs.replace(new.config, database=self.loaded.config.database)
            new = msgspec.structs.replace(new, config=cfg)
        self.loaded = new
        if self.engine is not None:
            self.engine.loaded = new
        self.reschedule()
        self.metrics.config_reload.labels("success").inc()
        log.info("config reloaded: %d accounts, %d tasks", len(new.config.accounts),
                 len(all_tasks(new)))

    async def run_task(self, name: str) -> None:
        task = next((t for t in all_tasks(self.loaded) if t.name == name), None)
        if task is None or self.engine is None:
            return
        self.running[name] = time.time()
        try:
            res = await self.engine.run_task(task)
            self.last[name] = {"status": res.status, "fetched": res.fetched,
                               "loaded": res.loaded, "quarantined": res.quarantined,
                               "finished_at": time.time()}
            log.info("task %s: %s, fetched %d, loaded %d, quarantined %d in %.1fs",
                     name, res.status, res.fetched, res.loaded, res.quarantined,
                     res.duration_seconds)
        except Exception:
            log.exception("task %s crashed", name)
            self.metrics.runs.labels(name, "crashed").inc()
        finally:
            self.running.pop(name, None)

    async def dispatch(self, ticks: Any, tg: anyio.abc.TaskGroup) -> None:
        async for tick in ticks:
            assert isinstance(tick, Tick)
            if self.stopping:
                continue
            if tick.task in self.running:
                log.warning("task %s is still running from %.0fs ago; this slot is reported "
                            "and skipped", tick.task, time.time() - self.running[tick.task])
                self.metrics.runs.labels(tick.task, "overlap_skipped").inc()
                continue
            tg.start_soon(self.run_task, tick.task)

    async def signals(self, stop: Callable[[], None], exit_now: Callable[[], None]) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as sigs:
            async for sig in sigs:
                if sig == signal.SIGHUP:
                    notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
                    self.reload()
                    notify("READY=1")
                    continue
                if self.stopping:
                    log.warning("second stop signal: exiting now")
                    exit_now()
                    return
                log.info("received %s: draining", signal.Signals(sig).name)
                stop()


async def run_daemon(loaded: LoadedConfig, *, metrics: Metrics,
                     ready_file: str | None = None, run_at_start: bool = False) -> int:
    """Serve until SIGTERM/SIGINT; return the exit code (0 after a clean drain)."""
    d = Daemon(loaded, metrics)
    rt = loaded.config.runtime
    hard = False
    async with AsyncExitStack() as stack:
        d.db = await open_database(loaded)
        stack.push_async_callback(d.db.close)
        d.engine = await stack.enter_async_context(open_engine(loaded, d.db, metrics=metrics))
        if loaded.config.metrics.enabled:
            url = await stack.enter_async_context(
                serve_http(loaded.config.metrics.listen, metrics, ready=d.ready, status=d.status)
            )
            log.info("metrics at %s/metrics", url)
        ticks_send, ticks_recv = anyio.create_memory_object_stream[Tick](64)
        d.ticks_send = ticks_send
        d.scheduler = build_scheduler(all_tasks(loaded), rt.timezone, ticks_send)
        stop_event = anyio.Event()

        def stop() -> None:
            d.stopping = True
            d.scheduler.shutdown(wait=False)
            assert d.engine is not None
            d.engine.stop.set()
            stop_event.set()

        async with anyio.create_task_group() as root:

            def exit_now() -> None:
                nonlocal hard
                hard = True
                root.cancel_scope.cancel()

            root.start_soon(d.signals, stop, exit_now)
            async with anyio.create_task_group() as work:
                root.start_soon(d.dispatch, ticks_recv, work)
                root.start_soon(d.engine.queues.sample_forever)
                d.scheduler.start()
                if run_at_start:
                    for t in all_tasks(loaded):
                        ticks_send.send_nowait(Tick(t.name))
                notify("READY=1", f"STATUS=serving {len(all_tasks(loaded))} tasks")
                if ready_file:
                    with open(ready_file, "w") as fh:
                        fh.write("ready\n")
                log.info("daemon ready: %d tasks, %d accounts", len(all_tasks(loaded)),
                         len(loaded.config.accounts))
                await stop_event.wait()
                # Sources stop after their current page; in-flight work gets the grace
                # period to be committed, then whatever is left is cancelled.
                notify("STOPPING=1")
                with anyio.move_on_after(rt.grace_seconds) as scope:
                    while d.running:
                        await anyio.sleep(0.05)
                if scope.cancelled_caught:
                    log.warning("grace period of %.0fs over; cancelling %d task(s)",
                                rt.grace_seconds, len(d.running))
                work.cancel_scope.cancel()
            root.cancel_scope.cancel()
    log.info("daemon stopped%s", " at once on a second signal" if hard else "")
    return 1 if hard else 0
