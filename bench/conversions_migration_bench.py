"""Schema migration 13 (conversion columns to REAL) on a SQLite database of N ad-day rows.

Builds a database from before migration 13 (the daemon as it was before it) with N ``ad_data``
rows and their rollups, then opens it with this version and times the migration, which
rebuilds the tables that hold conversions.

    python bench/conversions_migration_bench.py --rows 1000000 --db /tmp/m13.db
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.schema import migrations as sq
from within_daemon.loaders.schema.dialect import SQLITE
from within_daemon.schema import AD_FIELDS


def rec(i: int, day: str) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="google", account_id=f"acct{i % 4}", ad_id=f"ad{i}", campaign_id="c",
             date=day, impressions=1000, clicks=40, spend=20.0, conversions=3, revenue=50.0,
             currency="USD")
    return r


async def build(url: str, rows: int, ads: int) -> None:
    released = sq.migrations
    sq.migrations = (  # type: ignore[assignment]
        lambda d=SQLITE: tuple(x for x in released(d) if x.version < 13))
    try:
        async with DatabaseLoader.from_url(url) as db:
            days = rows // ads
            for d in range(days):
                day = f"2025-{1 + d // 28:02d}-{1 + d % 28:02d}"
                await db.write_batch(run_id="r", task="t", kind="ad",
                                     fetched_at="2026-01-01T00:00:00+00:00",
                                     records=[rec(i, day) for i in range(ads)])
            await store.refresh_rollups(db, [f"2025-{1 + d // 28:02d}-{1 + d % 28:02d}"
                                             for d in range(days)])
    finally:
        sq.migrations = released  # type: ignore[assignment]


async def migrate(url: str) -> float:
    t0 = time.perf_counter()
    async with DatabaseLoader.from_url(url):
        pass
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--ads", type=int, default=1000)
    ap.add_argument("--db", default="/tmp/within-m9-bench.db")
    args = ap.parse_args()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.db + suffix):
            os.remove(args.db + suffix)
    url = f"sqlite:///{args.db}"
    asyncio.run(build(url, args.rows, args.ads))
    size = os.path.getsize(args.db) / 1e6
    secs = asyncio.run(migrate(url))
    print(f"{args.rows} ad rows, {size:.0f} MB before: migration 13 took {secs:.1f}s")


if __name__ == "__main__":
    main()
