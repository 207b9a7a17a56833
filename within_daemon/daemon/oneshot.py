"""One-shot entry points over the engine: ``run_once`` and ``run_backfill``.

Both open the database (marking runs left ``running`` by a crash as interrupted, so they
resume), start the engine's actors, run, and drain. The long-running service with its
clock and signals is :mod:`.service`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import date

import anyio

from ..checks import all_tasks
from ..config import LoadedConfig, TaskConfig
from ..errors import ConfigError
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from ..pipelines.engine import Engine, TaskResult, open_engine
from .cluster import cluster_view, resource
from .resources import open_database

log = logging.getLogger(__name__)




async def warn_if_leased(db: DatabaseLoader, accounts: list[tuple[str, str]]) -> list[str]:
    """One-shot runs take no leases: say which accounts a live replica is pulling too.

    The rows stay exact (upserts), but both processes spend the account's API budget.
    """
    view = await cluster_view(db)
    live = {str(r["replica_id"]) for r in view["replicas"] if r["alive"]}
    wanted = {resource(p, a) for p, a in accounts}
    busy = sorted(f"{x['resource']} (replica {x['holder']})" for x in view["leases"]
                  if x["resource"] in wanted and x["holder"] in live
                  and x["left_seconds"] > 0)
    if busy:
        log.warning("%d account(s) are leased by running replicas, which pull them too: %s",
                    len(busy), ", ".join(busy[:5]))
    return busy


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
        await warn_if_leased(db, [(a.platform, a.account_id) for a in loaded.config.accounts
                                  if any(a in loaded.accounts_for(t) for t in tasks)])
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
        await warn_if_leased(db, [(platform, account_id)])
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
