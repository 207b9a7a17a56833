"""The engine's post-load analytics end to end on PostgreSQL, against the same run on SQLite.

One ad task with the text, history, benchmark and audience enrichments, plus the
cross-platform build, runs against the Facebook emulator twice: into a SQLite file and into
a fresh PostgreSQL database. Every derived table must come out the same (the columns that
hold write times or run ids aside; floats approximately).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from within_daemon.config import LoadedConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator

from ..conftest import fb_account, write_config

ENRICH = ["sentiment", "topic_classification", "entity_extraction", "historical_performance",
          "competitive_analysis", "audience_insights"]
TASKS = [{"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 10, "enrich": ENRICH},
         {"name": "unify", "pipeline": "PlatformDataPipeline", "lookback_days": 10}]
TABLES = ["ad_data", "rollup_campaign_daily", "rollup_account_daily", "rollup_account_weekly",
          "rollup_account_monthly", "rollup_platform_weekly", "rollup_platform_monthly",
          "ad_history", "ad_benchmarks", "quality_reports", "audience_data",
          "ad_audience_summary", "ad_creative_features", "unified_ad_data"]
#: Write times, surrogate ids and run ids: different in every run by design.
VOLATILE = {"id", "created_at", "computed_at", "built_at", "loaded_at", "fetched_at",
            "enriched_at", "run_id"}


async def snapshot(loaded: LoadedConfig) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    async with DatabaseLoader.from_url(loaded.config.database.url,
                                       base_dir=loaded.base_dir) as db:
        for table in TABLES:
            rows = [{k: v for k, v in r.items() if k not in VOLATILE}
                    for r in await db.fetch_dicts(f"SELECT * FROM {table}")]
            # Ordered by the exact columns (keys among them): floats may differ in the
            # last bit between the backends, and must not reorder the rows.
            out[table] = sorted(rows, key=lambda r: [(v is not None, repr(v))
                                                     for _, v in sorted(r.items())
                                                     if not isinstance(v, float)])
    return out


async def test_engine_run_on_postgres_matches_sqlite(
    emulator: FacebookEmulator, tmp_path: Path, pg_url: str,
) -> None:
    """Same emulator, same tasks: every derived table is the same on both backends."""
    snaps = []
    for url in ("sqlite:///data/within.db", pg_url):
        loaded = load_config(write_config(
            tmp_path, base_url=emulator.base_url, tasks=TASKS, db=url,
            accounts=[fb_account(a) for a in emulator.accounts]))
        results = await run_once(loaded, metrics=Metrics())
        assert [r.status for r in results] == ["success", "success"], url
        snaps.append(await snapshot(loaded))
    lite, pg = snaps
    for table in TABLES:
        assert lite[table], f"{table} is empty on SQLite: nothing would be compared"
        assert len(pg[table]) == len(lite[table]), table
        for got, want in zip(pg[table], lite[table], strict=True):
            assert got == {k: pytest.approx(v) if isinstance(v, float) else v
                           for k, v in want.items()}, table

