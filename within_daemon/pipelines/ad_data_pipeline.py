"""The seed's pipeline API: ``AdDataPipeline`` and ``AccountDataPipeline``.

Both are thin wiring over the engine: they open the configured database, run one ad-hoc
task for one account and date range through the same actors the daemon uses, and return
the seed's result dict (``success``, ``records_processed``, ``duration_seconds``,
``error``, plus our counts). ``run`` is the seed's blocking call for scripts; ``arun`` is
its coroutine twin for async code (``run`` inside a running event loop raises and names
``arun``, see :mod:`within_daemon.utils.sync`).

The constructor arguments mean what ``register_*_task``'s ``pipeline_args`` mean (both go
through :func:`within_daemon.tasks.seed_task`): ``destination="feature_store"`` loads the
rows and materializes the feature store for them; ``enrich=True`` runs the default
enrichments (:data:`within_daemon.tasks.DEFAULT_ENRICHMENTS`) or the ``enrich_with`` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

import msgspec

from ..config import LoadedConfig, TaskConfig, find_config_path, load_config
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from ..tasks import seed_task
from ..utils.sync import run_blocking
from .engine import open_engine
from .results import result_dict

DateRange = tuple[str | date, str | date]


class _Pipeline:
    pipeline_name: ClassVar[str] = ""

    def __init__(
        self,
        source_platform: str = "facebook",
        destination: str = "database",
        validate: bool = True,
        enrich: bool | Sequence[str] = False,
        *,
        enrich_with: Sequence[str] | None = None,
        config: LoadedConfig | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # Checked now, as register_*_task checks the same arguments: a typo fails here,
        # not after the first API call.
        self.task: TaskConfig = seed_task(
            f"adhoc_{source_platform}_{self.pipeline_name}", self.pipeline_name,
            {"source_platform": source_platform, "destination": destination,
             "validate": validate, "enrich": enrich, "enrich_with": enrich_with},
        )
        self.source_platform = source_platform
        self.destination = destination
        self.validate = validate
        self.enrich = self.task.enrich
        self.config = config
        self.metrics = metrics or Metrics()

    async def arun(
        self,
        account_id: str,
        date_range: DateRange,
        batch_size: int = 1000,
    ) -> dict[str, Any]:
        """Pull ``account_id`` for ``date_range`` (inclusive) and load it (async code)."""
        loaded = self.config or load_config(find_config_path(None))
        cfg = loaded.config
        cfg = msgspec.structs.replace(
            cfg, runtime=msgspec.structs.replace(cfg.runtime, batch_size=batch_size)
        )
        loaded = msgspec.structs.replace(loaded, config=cfg)
        start, end = (d if isinstance(d, date) else date.fromisoformat(d) for d in date_range)
        task = msgspec.structs.replace(self.task, accounts=(account_id,))
        if not loaded.accounts_for(task):
            return {"success": False, "records_processed": 0, "duration_seconds": 0.0,
                    "error": f"{self.source_platform} account {account_id} is not configured "
                             f"in {loaded.path}"}
        async with DatabaseLoader.from_url(cfg.database.url, base_dir=loaded.base_dir) as db:
            async with open_engine(loaded, db, metrics=self.metrics,
                                   validate=self.validate) as engine:
                res = await engine.run_task(task, start=start, end=end)
                post = engine.last_postprocess
        out = result_dict(res)
        out["destination"] = task.destination
        out["enrichments"] = list(task.enrich)
        out["feature_rows"] = int(post.get("feature_rows", 0))
        return out

    def run(
        self,
        account_id: str,
        date_range: DateRange,
        batch_size: int = 1000,
    ) -> dict[str, Any]:
        """The seed's call: ``arun`` to completion, for code without an event loop."""
        return run_blocking(lambda: self.arun(account_id, date_range, batch_size),
                            call=f"{type(self).__name__}.run",
                            twin=f"{type(self).__name__}.arun")

    def run_sync(
        self, account_id: str, date_range: DateRange, batch_size: int = 1000
    ) -> dict[str, Any]:
        """Same as :meth:`run` (kept for callers of the earlier name)."""
        return self.run(account_id, date_range, batch_size)


class AdDataPipeline(_Pipeline):
    """Ad-level daily performance joined with creative text, into ``ad_data``."""

    pipeline_name = "AdDataPipeline"


class AccountDataPipeline(_Pipeline):
    """Account-level daily stats, into ``account_data``."""

    pipeline_name = "AccountDataPipeline"
