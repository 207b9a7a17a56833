"""A SIGHUP reload's new state, built and checked in full before anything is swapped.

:func:`prepare_reload` runs every check the new config can fail (the problems
:mod:`within_daemon.checks` finds, the validation schemas, the schedule in the new time
zone, a connector for each account whose settings or token changed) and returns what the
swap needs. It changes nothing that runs, so a reload that fails anywhere leaves the
daemon exactly as it was; :class:`~.service.Service` then swaps in one step.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from anyio.streams.memory import MemoryObjectSendStream

from ..checks import all_tasks, config_problems
from ..config import AccountConfig, LoadedConfig
from ..errors import ConfigError
from ..observability.metrics import Metrics
from ..pipelines.engine import Engine, validation_schemas
from ..sources import HttpSource, build_connector
from ..sources.versions import enforce_config_versions
from ..tasks import Tick, build_scheduler

log = logging.getLogger(__name__)

Connectors = dict[tuple[str, str], tuple[AccountConfig, Any, HttpSource]]


class ReloadPlan(msgspec.Struct, frozen=True):
    """What a reload built ahead of the swap: the new schedule and the changed connectors."""

    #: A scheduler (not started) holding the new jobs, or None when nothing is scheduled.
    scheduler: Any
    #: Connectors that replace running ones whose account settings or token changed.
    connectors: Connectors


def prepare_reload(new: LoadedConfig, *, engine: Engine | None, metrics: Metrics,
                   ticks_send: MemoryObjectSendStream[Tick] | None) -> ReloadPlan:
    """Everything ``new`` needs, built and checked; raises on the first failure."""
    problems = config_problems(new, resolve=False)
    if problems:
        raise ConfigError("; ".join(problems))
    # A sunset API version fails every call: refuse it like a bad key.
    enforce_config_versions(new, metrics)
    validation_schemas(new)
    scheduler = None
    if ticks_send is not None:
        scheduler = build_scheduler(all_tasks(new), new.config.runtime.timezone, ticks_send)
    connectors: Connectors = {}
    if engine is not None:
        for acc in new.config.accounts:
            key = (acc.platform, acc.account_id)
            secret = new.secret_for(*key)
            cached = engine.connectors.get(key)
            if cached is not None and cached[0] == acc and cached[1] == secret:
                continue
            conn = build_connector(acc, new, engine.session, metrics)  # raises if unusable
            if cached is not None:
                # Accounts that have no connector yet get theirs on their first run, as
                # at start; only running ones are replaced here.
                connectors[key] = (acc, secret, conn)
    return ReloadPlan(scheduler, connectors)


def reschedule(running: Any, fresh: Any) -> None:
    """Move the jobs of ``fresh`` (built by :func:`prepare_reload`) into ``running``."""
    if running is None or fresh is None:
        return
    running.remove_all_jobs()
    for job in fresh.get_jobs():
        running.add_job(
            job.func, job.trigger, args=job.args, id=job.id, name=job.name,
            coalesce=True, max_instances=1, misfire_grace_time=job.misfire_grace_time,
            replace_existing=True,
        )


def keep_restart_settings(old: LoadedConfig, new: LoadedConfig) -> LoadedConfig:
    """``new``, with what only a restart can change kept from ``old`` (each change logged).

    The database stays the old one; ``[cluster]`` and ``[metrics]`` changes are logged and
    take effect at the next start (the lease loop and the listener keep running as they are).
    """
    if new.config.database != old.config.database:
        log.warning("reload: [database] changes need a restart; keeping the old database")
        new = msgspec.structs.replace(
            new, config=msgspec.structs.replace(new.config, database=old.config.database))
    if new.config.cluster != old.config.cluster:
        log.warning("reload: [cluster] changes need a restart; keeping the old settings")
    if new.config.metrics != old.config.metrics:
        log.warning("reload: [metrics] changes need a restart; the listener stays")
    return new
