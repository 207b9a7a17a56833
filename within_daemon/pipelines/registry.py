"""The kinds of pipeline, as data: what each name in ``[[tasks]] pipeline`` is.

Every task names a pipeline; :data:`PIPELINES` says what that pipeline is, and the engine,
the service and the post-load steps read it here instead of comparing strings:

- a **pull** (``AdDataPipeline``, ``AccountDataPipeline``): one source actor per account
  pulls its records through the actor chain; ``record_kind`` is the records it writes,
  ``post_load`` whether the post-load steps (rollups, features, quality) follow;
- a **run once** (``PlatformDataPipeline``, ``TrainingDataPipeline``): one run per slot over
  the database, no account and no API; ``run`` does it.

Tasks of the ``internal`` platform are the company's own data (a drop folder, a SQL
query): they run once per slot as well, whatever pipeline they name (:func:`spec_for`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from ..config import TaskConfig
from . import once
from .messages import Kind
from .results import AccountResult

#: A database-wide run: its accounts' (or datasets') results, from the engine's resources.
OnceRun = Callable[[once.EngineParts, TaskConfig, date, date], Awaitable[list[AccountResult]]]


@dataclass(frozen=True)
class PipelineSpec:
    """What one pipeline is; see the module docstring."""

    name: str
    shape: Literal["pull", "once"]
    #: The records a pull writes (``ad`` or ``account``); None for a run once.
    record_kind: Kind | None = None
    #: Whether the post-load steps follow a pull (:func:`~.analytics.after_task`).
    post_load: bool = False
    #: What a run once does.
    run: OnceRun | None = None
    #: A run once over the whole database, not over accounts (the service ticks it as "*").
    accountless: bool = False


PIPELINES: dict[str, PipelineSpec] = {
    "AdDataPipeline": PipelineSpec("AdDataPipeline", "pull", record_kind="ad", post_load=True),
    "AccountDataPipeline": PipelineSpec("AccountDataPipeline", "pull", record_kind="account"),
    "PlatformDataPipeline": PipelineSpec("PlatformDataPipeline", "once", run=once.unify,
                                         accountless=True),
    "TrainingDataPipeline": PipelineSpec("TrainingDataPipeline", "once", run=once.train,
                                         accountless=True),
}

#: The internal platform's tasks: files and a query, once per slot.
INTERNAL = PipelineSpec("InternalDataPipeline", "once", run=once.internal)

#: Pipelines that run once per slot over the database, not once per account.
ACCOUNTLESS = frozenset(name for name, spec in PIPELINES.items() if spec.accountless)


def spec_for(task: TaskConfig) -> PipelineSpec:
    """What ``task`` runs: its pipeline's spec, or :data:`INTERNAL` for internal tasks."""
    spec = PIPELINES[task.pipeline]
    if spec.shape == "pull" and task.platform == "internal":
        return INTERNAL
    return spec
