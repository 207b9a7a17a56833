"""PlatformDataPipeline builds unified_ad_data across platforms with FX (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from within_daemon.config import load_config
from within_daemon.loaders import DatabaseLoader
from within_daemon.pipelines import PlatformDataPipeline
from within_daemon.schema import AD_FIELDS
from within_daemon.utils.sync import BlockingCallInEventLoopError

from .. import dbq


def record(platform: str, ad: str, day: str, currency: str, spend: float) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform=platform, account_id="1", ad_id=ad, date=day, currency=currency,
             spend=spend, impressions=100, clicks=5, conversions=1, revenue=spend * 3)
    return r


def config(tmp_path: Path, rates: str, db_url: str) -> Path:
    path = tmp_path / "within.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n[reporting]\ncurrency = "USD"\n'
                    f"fx_rates = {{ {rates} }}\n")
    return path


async def seed(path: Path, db_url: str) -> None:
    rows = [record("facebook", "f1", "2024-01-31", "USD", 10.0),
            record("google", "g1", "2024-02-01", "EUR", 20.0),
            record("tiktok", "t1", "2024-02-01", "EUR", 30.0)]
    async with DatabaseLoader.from_url(db_url, base_dir=path.parent) as db:
        await db.write_batch(run_id="r", task="t", kind="ad", records=rows,
                             fetched_at="2024-02-02T00:00:00Z")


async def test_unified_rows_with_reporting_currency(tmp_path: Path, db_url: str) -> None:
    """Every platform's rows land once, with spend in USD beside the original amount."""
    path = config(tmp_path, "EUR = 1.1", db_url)
    await seed(path, db_url)
    res = await PlatformDataPipeline(load_config(path)).arun(("2024-01-01", "2024-02-29"))
    assert res["success"] and res["records_processed"] == 3
    rows = dbq.rows(db_url, "SELECT platform, currency, spend, spend_reporting, "
                            "reporting_currency FROM unified_ad_data ORDER BY platform")
    assert [(p, c, s, round(r, 6), rc) for p, c, s, r, rc in rows] == [
        ("facebook", "USD", 10.0, 10.0, "USD"), ("google", "EUR", 20.0, 22.0, "USD"),
        ("tiktok", "EUR", 30.0, 33.0, "USD")]
    # A re-run replaces the range instead of adding to it.
    await PlatformDataPipeline(load_config(path)).arun(("2024-01-01", "2024-02-29"))
    assert dbq.rows(db_url, "SELECT COUNT(*) FROM unified_ad_data") == [(3,)]


async def test_missing_rate_fails_the_run_with_a_clear_error(tmp_path: Path,
                                                            db_url: str) -> None:
    """Without an EUR rate the pipeline reports the currency instead of loading wrong totals."""
    path = config(tmp_path, "CAD = 0.7", db_url)
    await seed(path, db_url)
    res = await PlatformDataPipeline(load_config(path)).arun(("2024-01-01", "2024-02-29"))
    assert res["success"] is False and "no FX rate for EUR" in res["error"]


async def test_run_blocks_in_a_thread_and_refuses_inside_the_loop(tmp_path: Path) -> None:
    """run() is the blocking spelling (a worker thread); inside the loop it names arun."""
    db_url = f"sqlite:///{tmp_path}/within.db"
    path = config(tmp_path, "EUR = 1.1", db_url)
    await seed(path, db_url)
    pipe = PlatformDataPipeline(load_config(path))
    with pytest.raises(BlockingCallInEventLoopError, match=r"await PlatformDataPipeline\.arun"):
        pipe.run(("2024-01-01", "2024-02-29"))
    with anyio.fail_after(30):
        res = await anyio.to_thread.run_sync(lambda: pipe.run(("2024-01-01", "2024-02-29")),
                                             abandon_on_cancel=True)
    assert res["success"] and res["records_processed"] == 3
