"""The runs that happen once per slot instead of once per account (see ``registry``).

Each takes the engine (for its config, database and metrics) and the window, and returns
the results :func:`~.results.finish` ends the run with: the cross-platform rebuild of
``unified_ad_data``, the versioned training datasets, and the internal platform's dropped
files and SQL query (their rows go through the engine's actor chain).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from ..config import LoadedConfig, TaskConfig
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from .chain import Feed
from .results import AccountResult

log = logging.getLogger(__name__)


class EngineParts(Protocol):
    """What a run once uses of the engine (the engine itself, without importing it)."""

    loaded: LoadedConfig
    db: DatabaseLoader
    metrics: Metrics
    #: The newest training run's datasets, for callers that want them after the run.
    last_training: list[AccountResult]

    def feed(self) -> Feed:
        """A way into the engine's actor chain (the internal query feeds it)."""


async def unify(engine: EngineParts, task: TaskConfig, start: date, end: date
                ) -> list[AccountResult]:
    """The cross-platform task: no API calls, a rebuild of unified_ad_data."""
    from .platform_data_pipeline import PlatformDataPipeline

    out = await PlatformDataPipeline(engine.loaded).run_with(engine.db, (start, end))
    status = "success" if out["success"] else "failed"
    return [AccountResult("*", "all", None, status, loaded=out["records_processed"],
                          fetched=out["records_processed"], error=out["error"])]


async def train(engine: EngineParts, task: TaskConfig, start: date, end: date
                ) -> list[AccountResult]:
    """Versioned training datasets for both models; an unchanged input makes no version."""
    from .training import DATASETS, InsufficientDataError, TrainingDataPipeline

    ms = engine.loaded.config.model_store
    root = Path(ms.root)
    root = root if root.is_absolute() else engine.loaded.base_dir / root
    pipe = TrainingDataPipeline(engine.db, root)
    results: list[AccountResult] = []
    for name in DATASETS:
        try:
            out = await pipe.build(name, horizon_days=ms.horizon_days)
        except InsufficientDataError as exc:
            log.warning("training dataset %s not built: %s", name, exc)
            results.append(AccountResult(name, "model_store", None, "skipped", error=str(exc)))
            continue
        rows = sum(out["rows"].values())
        log.info("training dataset %s version %s (%s): %d rows at %s", name,
                 out["version"], "new" if out["created"] else "unchanged", rows, out["path"])
        results.append(AccountResult(name, "model_store", out["version"], "success",
                                     fetched=rows, loaded=rows if out["created"] else 0))
    engine.last_training = results
    return results


async def internal(engine: EngineParts, task: TaskConfig, start: date, end: date
                   ) -> list[AccountResult]:
    """The company's own data: new dropped files, then the SQL query over the window."""
    from .internal_pipeline import InternalDataPipeline

    loaded, db, metrics = engine.loaded, engine.db, engine.metrics
    cfg = loaded.config.platforms.internal
    accounts = loaded.accounts_for(task)
    account_id = accounts[0].account_id if accounts else "internal"
    pipe = InternalDataPipeline()
    outs: list[dict[str, Any]] = []
    if cfg.drop_folder:
        outs.append(await pipe.run_files(loaded, db, task_name=task.name,
                                         account_id=account_id, metrics=metrics,
                                         feed=engine.feed()))
    if cfg.sql_query:
        outs.append(await pipe.run_query(loaded, db, since=start, until=end,
                                         task_name=task.name, account_id=account_id,
                                         metrics=metrics, feed=engine.feed()))
    return [AccountResult(
        account_id, "internal", out.get("run_id"),
        "success" if out.get("success") else "failed",
        fetched=int(out.get("records_fetched") or 0),
        loaded=int(out.get("records_processed") or 0),
        quarantined=int(out.get("records_quarantined") or 0), error=out.get("error"))
        for out in outs]
