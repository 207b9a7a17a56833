"""Loader throughput: ad-day rows/s into SQLite and PostgreSQL through ``write_batch``.

The same batches the pipelines send (one day of one account's ads per batch, the day
marked complete in the same transaction) go to each backend in turn; nothing else runs, so
this is the database loader alone. PostgreSQL is a throwaway server started from the
installed binaries with its default (durable) settings, unless ``--db-url`` names one.

    python bench/loader_bench.py --ads 1000 --days 200
    python bench/loader_bench.py --backend postgresql --db-url postgresql://u@host/db
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio

from within_daemon.loaders import DatabaseLoader
from within_daemon.schema import AD_FIELDS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.pgserver import start_server  # noqa: E402 - the tests' throwaway server


def records(day: str, ads: int, account: str) -> list[dict[str, Any]]:
    out = []
    for i in range(ads):
        r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
        r.update(platform="facebook", account_id=account, ad_id=f"ad{i}", date=day,
                 campaign_id=f"c{i % 10}", headline=f"headline {i}",
                 impressions=1000 + i, clicks=i % 50, spend=round(0.37 * i, 2),
                 conversions=i % 5, revenue=round(1.1 * i, 2), ctr=(i % 50) / (1000 + i),
                 currency="USD")
        out.append(r)
    return out


async def run(url: str, ads: int, days: int, accounts: int) -> tuple[int, float]:
    start = date(2022, 1, 1)
    async with DatabaseLoader.from_url(url) as db:
        run_id = await db.start_run(task="bench", platform="facebook")
        n, elapsed = 0, 0.0
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            for a in range(accounts):
                acct = f"act_{a}"
                recs = records(day, ads, acct)  # built outside the clock: the loader only
                t0 = time.perf_counter()
                await db.write_batch(run_id=run_id, task="bench", kind="ad", records=recs,
                                     fetched_at="2024-01-01T00:00:00Z", count_in_run=True,
                                     complete_days=[("facebook", acct, day, ads)])
                elapsed += time.perf_counter() - t0
                n += len(recs)
        assert await db.count_rows("ad_data") == n
    return n, elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ads", type=int, default=1000, help="ads per account and batch")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--accounts", type=int, default=2)
    ap.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--db-url", help="an existing, empty PostgreSQL database instead")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}")
    results = []
    if args.backend in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            results.append(("sqlite", *anyio.run(run, url, args.ads, args.days, args.accounts)))
    if args.backend in ("both", "postgresql"):
        server = None if args.db_url else start_server(durable=True)
        try:
            url = args.db_url or (server.create_database() if server else "")
            results.append(("postgresql",
                            *anyio.run(run, url, args.ads, args.days, args.accounts)))
        finally:
            if server is not None:
                server.stop()
    for name, n, secs in results:
        print(f"{name:<11} {n:>9,} rows in {secs:6.1f} s = {n / secs:>9,.0f} rows/s "
              f"(batches of {args.ads}, ledger in the same transaction)")


if __name__ == "__main__":
    main()
