"""The seed's pipeline API: ``AdDataPipeline`` and ``AccountDataPipeline``.

Both are thin wiring over the engine: they open the configured database, run one ad-hoc
task for one account and date range through the same actors the daemon uses, and return
the seed's result dict (``success``, ``records_processed``, ``duration_seconds``,
``error``). ``run`` is a coroutine; ``run_sync`` is for scripts without an event loop.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import anyio
import msgspec

from ..config import LoadedConfig, TaskConfig, find_config_path, load_config
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from .engine import open_engine, result_dict


class _Pipeline:
    pipeline_name: ClassVar[str] = ""

    def __init__(
        self,
        source_platform: str = "facebook",
        destination: str = "database",
        validate: bool = True,
        enrich: bool = False,
        *,
        config: LoadedConfig | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if destination != "database":
            raise ValueError(
                f"destination {destination!r} is not available yet; use 'database'"
            )
        if enrich:
            raise ValueError("enrichment is not available yet; pass enrich=False")
        self.source_platform = source_platform
        self.destination = destination
        self.validate = validate
        self.enrich = enrich
        self.config = config
        self.metrics = metrics or Metrics()

    async def run(
        self,
        account_id: str,
        date_range: tuple[str | date, str | date],
        batch_size: int = 1000,
    ) -> dict[str, Any]:
        """Pull ``account_id`` for ``date_range`` (inclusive) and load it."""
        loaded = self.config or load_config(find_config_path(None))
        cfg = loaded.config
        cfg = msgspec.structs.replace(
            cfg, runtime=msgspec.structs.replace(cfg.runtime, batch_size=batch_size)
        )
        loaded = msgspec.structs.replace(loaded, config=cfg)
        start, end = (d if isinstance(d, date) else date.fromisoformat(d) for d in date_range)
        task = TaskConfig(
            name=f"adhoc_{self.source_platform}_{self.pipeline_name}",
            pipeline=self.pipeline_name,  # type: ignore[arg-type]
            platform=self.source_platform,  # type: ignore[arg-type]
            accounts=(account_id,), validate=self.validate,
        )
        if not loaded.accounts_for(task):
            return {"success": False, "records_processed": 0, "duration_seconds": 0.0,
                    "error": f"{self.source_platform} account {account_id} is not configured"}
        async with DatabaseLoader.from_url(cfg.database.url, base_dir=loaded.base_dir) as db:
            async with open_engine(loaded, db, metrics=self.metrics,
                                   validate=self.validate) as engine:
                res = await engine.run_task(task, start=start, end=end)
        return result_dict(res)

    def run_sync(
        self, account_id: str, date_range: tuple[str | date, str | date], batch_size: int = 1000
    ) -> dict[str, Any]:
        """``run`` for code without an event loop."""
        async def go() -> dict[str, Any]:
            return await self.run(account_id, date_range, batch_size)

        return anyio.run(go, backend="asyncio")


class AdDataPipeline(_Pipeline):
    """Ad-level daily performance joined with creative text, into ``ad_data``."""

    pipeline_name = "AdDataPipeline"


class AccountDataPipeline(_Pipeline):
    """Account-level daily stats, into ``account_data``."""

    pipeline_name = "AccountDataPipeline"
