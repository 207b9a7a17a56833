"""Cadences on top of APScheduler 3.x, and the seed's ``register_*_task`` functions."""

from __future__ import annotations

from .scheduler import (
    DEFAULT_ENRICHMENTS,
    TaskRegistry,
    Tick,
    build_scheduler,
    register_daily_task,
    register_hourly_task,
    register_weekly_task,
    registry,
    resolve_enrich,
    seed_task,
    trigger_for,
)

__all__ = [
    "DEFAULT_ENRICHMENTS", "TaskRegistry", "Tick", "build_scheduler", "register_daily_task",
    "register_hourly_task", "register_weekly_task", "registry", "resolve_enrich", "seed_task",
    "trigger_for",
]
