"""APScheduler as a clock: each job only sends a ``Tick`` into the daemon's bounded queue.

Jobs are set with ``coalesce=True`` (missed slots collapse into one), ``max_instances=1``
and an explicit ``misfire_grace_time``: APScheduler's default of one second silently drops
a run that fires late, for example after a laptop sleeps or the loop was busy. A spread of
``jitter`` seconds keeps many tasks from firing in the same second.

``register_daily_task`` and its siblings keep the seed's signature and add a task to a
process-wide registry that ``run`` merges with the config file's ``[[tasks]]``. Their
``pipeline_args`` are the seed pipeline's arguments (``source_platform``, ``destination``,
``validate``, ``enrich``, ``enrich_with``), read by :func:`seed_task` as the pipeline
classes read them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectSendStream
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from ..config import Enrichment, TaskConfig

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 3600
JITTER_SECONDS = 30


class Tick(msgspec.Struct, frozen=True):
    """The clock says: run ``task`` now."""

    task: str


def trigger_for(task: TaskConfig, timezone: str,
                jitter: int | None = JITTER_SECONDS) -> CronTrigger:
    hour, minute = (int(x) for x in task.run_time.split(":"))
    if task.cadence == "hourly":
        return CronTrigger(minute=minute, timezone=timezone, jitter=jitter)
    if task.cadence == "weekly":
        return CronTrigger(day_of_week=task.weekday, hour=hour, minute=minute,
                           timezone=timezone, jitter=jitter)
    return CronTrigger(hour=hour, minute=minute, timezone=timezone, jitter=jitter)


_PERIOD = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


def last_slot(task: TaskConfig, timezone: str, now: datetime | None = None) -> datetime:
    """The latest scheduled time (without jitter) at or before ``now``: a tick's slot.

    Every replica derives the same slot from it, whatever its jitter, and a tick that fires
    late (a busy loop, a laptop waking up) still names the slot it belongs to.
    """
    trig = trigger_for(task, timezone, jitter=None)
    now = now or datetime.now(ZoneInfo(timezone))
    t: datetime | None = trig.get_next_fire_time(None, now - 2 * _PERIOD[task.cadence])
    last = t
    while t is not None and t <= now:
        last = t
        t = trig.get_next_fire_time(t, t + timedelta(seconds=1))
    assert last is not None  # a cron trigger fires at least once in two of its periods
    return last


async def _send_tick(send: MemoryObjectSendStream[Tick], name: str) -> None:
    try:
        send.send_nowait(Tick(name))
    except anyio.WouldBlock:
        log.warning("task %s fired but the tick queue is full; this slot is skipped", name)


def build_scheduler(
    tasks: Sequence[TaskConfig], timezone: str, send: MemoryObjectSendStream[Tick]
) -> AsyncIOScheduler:
    """A scheduler with one job per task; start it inside the running loop."""
    sched = AsyncIOScheduler(timezone=timezone)
    for t in tasks:
        sched.add_job(
            _send_tick, trigger_for(t, timezone), args=(send, t.name), id=t.name, name=t.name,
            coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE_SECONDS,
            replace_existing=True,
        )
    return sched


class TaskRegistry:
    """Tasks registered from Python (the seed's API), merged with the config's tasks."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskConfig] = {}

    def add(self, task: TaskConfig) -> TaskConfig:
        self.tasks[task.name] = task
        return task

    def clear(self) -> None:
        self.tasks.clear()


registry = TaskRegistry()


#: What the seed's ``enrich=True`` turns on: every enrichment computed from the ad rows
#: alone, on any platform. ``image_analysis`` (downloads untrusted images) and
#: ``audience_insights`` (a further pull: Facebook, Google, TikTok) are asked for by name in
#: ``enrich_with``.
DEFAULT_ENRICHMENTS: tuple[str, ...] = (
    "sentiment", "topic_classification", "entity_extraction", "historical_performance",
    "competitive_analysis",
)
#: Every name ``enrich_with`` accepts (the config's ``enrich`` list takes the same).
KNOWN_ENRICHMENTS: tuple[str, ...] = get_args(Enrichment)
#: The seed's pipeline arguments, as ``AdDataPipeline(...)`` and ``pipeline_args`` take them.
SEED_PIPELINE_ARGS = ("source_platform", "destination", "validate", "enrich", "enrich_with")


def resolve_enrich(
    enrich: bool | Sequence[str] | None, enrich_with: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The enrichment list of the seed's ``enrich`` / ``enrich_with`` arguments.

    ``enrich=True``: ``enrich_with`` if given, else :data:`DEFAULT_ENRICHMENTS`;
    ``enrich=False``: none; a list in ``enrich`` is taken as the list itself.
    """
    if isinstance(enrich, str) or isinstance(enrich_with, str):
        raise ValueError("enrich is True/False and enrich_with a list of names, "
                         f"e.g. enrich_with=[{DEFAULT_ENRICHMENTS[0]!r}]")
    if enrich is None or enrich is False:
        if enrich_with is not None:
            raise ValueError("enrich_with is given but enrich is off: pass enrich=True")
        return ()
    if enrich is True:
        names = tuple(DEFAULT_ENRICHMENTS if enrich_with is None else enrich_with)
    else:
        names = tuple(enrich)
        if enrich_with is not None and tuple(enrich_with) != names:
            raise ValueError("enrich is a list and enrich_with another: give one list")
    unknown = [n for n in names if n not in KNOWN_ENRICHMENTS]
    if unknown:
        raise ValueError(f"unknown enrichments {unknown}; known: {list(KNOWN_ENRICHMENTS)}")
    return tuple(dict.fromkeys(names))


def seed_task(
    task_name: str,
    pipeline: str,
    pipeline_args: Mapping[str, Any] | None,
    **fields: Any,
) -> TaskConfig:
    """A :class:`TaskConfig` from the seed's ``pipeline_args``; ValueError names a bad one.

    ``fields`` are further task keys (``cadence``, ``run_time``, ``accounts`` ...). The
    seed's pipeline classes and ``register_*_task`` both build their task here, so the
    same arguments mean the same thing in both.
    """
    args = dict(pipeline_args or {})
    unknown = sorted(set(args) - set(SEED_PIPELINE_ARGS))
    if unknown:
        raise ValueError(f"unknown pipeline_args: {', '.join(unknown)} "
                         f"(known: {', '.join(SEED_PIPELINE_ARGS)})")
    destination = args.get("destination", "database")
    if destination == "feature_store" and pipeline != "AdDataPipeline":
        raise ValueError(f"task {task_name!r}: destination 'feature_store' is for "
                         f"AdDataPipeline (features are computed from ad rows), not {pipeline}")
    enrich = resolve_enrich(args.get("enrich", False), args.get("enrich_with"))
    if enrich and pipeline != "AdDataPipeline":
        raise ValueError(f"task {task_name!r}: enrichments apply to ad rows "
                         f"(AdDataPipeline), not {pipeline}")
    raw = {
        "name": task_name, "pipeline": pipeline, "destination": destination,
        "platform": args.get("source_platform", "facebook"),
        "validate": bool(args.get("validate", True)),
        "enrich": list(enrich),
        **fields,
    }
    try:
        return msgspec.convert(raw, TaskConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"task {task_name!r}: {exc}") from None


def _register(
    cadence: str,
    task_name: str,
    pipeline: str,
    pipeline_args: dict[str, Any] | None,
    account_ids: Sequence[str],
    run_time: str,
    lookback_days: int,
    weekday: int = 0,
) -> TaskConfig:
    task = seed_task(task_name, pipeline, pipeline_args, cadence=cadence, run_time=run_time,
                     lookback_days=lookback_days, accounts=list(account_ids), weekday=weekday)
    return registry.add(task)


def register_daily_task(
    task_name: str,
    pipeline: str,
    pipeline_args: dict[str, Any] | None,
    account_ids: Sequence[str],
    run_time: str = "01:00",
    lookback_days: int = 7,
) -> TaskConfig:
    """Register a task that runs every day at ``run_time`` (the seed's signature)."""
    return _register("daily", task_name, pipeline, pipeline_args, account_ids, run_time,
                     lookback_days)


def register_hourly_task(
    task_name: str,
    pipeline: str,
    pipeline_args: dict[str, Any] | None,
    account_ids: Sequence[str],
    run_time: str = "00:05",
    lookback_days: int = 1,
) -> TaskConfig:
    """Register a task that runs every hour at ``run_time``'s minute."""
    return _register("hourly", task_name, pipeline, pipeline_args, account_ids, run_time,
                     lookback_days)


def register_weekly_task(
    task_name: str,
    pipeline: str,
    pipeline_args: dict[str, Any] | None,
    account_ids: Sequence[str],
    run_time: str = "02:00",
    lookback_days: int = 28,
    weekday: int = 0,
) -> TaskConfig:
    """Register a task that runs weekly on ``weekday`` (0 = Monday) at ``run_time``."""
    return _register("weekly", task_name, pipeline, pipeline_args, account_ids, run_time,
                     lookback_days, weekday)
