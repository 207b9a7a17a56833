"""Post-load steps of an enriched run, timed alone: rolling history, benchmarks, feature store.

    python bench/post_load_bench.py [--accounts 4] [--ads 250] [--days 200] [--workers 1]
                                    [--postgres]
                                    [--profile PATH]

Seeds ``ad_data`` of ``accounts x ads x days`` synthetic rows (random counts, some gaps)
into a temporary SQLite file through the loader, then runs, as an enriched task's
post-load would (``pipelines.analytics``), the history step, the benchmark step and the
feature store's materialize per account, printing each step's wall time (creatives with
topics and the rollups are seeded too: the benchmarks group by topic, the feature store
reads both). No emulator, no ingest: the figures are the steps' own, to compare code
versions on one machine. The process's peak RSS so far is printed after the seeding and
after each step (``ru_maxrss``): a step that raises it holds more than the seeding did.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.feature_store import FeatureStore
from within_daemon.pipelines import analytics
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.enrichment.workers import EnrichWorkers

TOPICS = ("apparel", "food", "travel", "finance", "tech", None)


async def _seed(db: DatabaseLoader, accounts: int, ads: int, days: list[str]) -> None:
    rnd = random.Random(11)
    for a in range(accounts):
        recs: list[dict[str, Any]] = []
        for d in days:
            for ad in range(ads):
                if rnd.random() < 0.03:
                    continue
                r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
                imp = rnd.randint(0, 5000)
                clk = rnd.randint(0, max(1, imp // 40))
                r.update(platform="facebook", account_id=f"act_{a}", ad_id=f"{a}{ad:05d}",
                         date=d, currency="USD", impressions=imp, clicks=clk,
                         spend=round(rnd.random() * 50, 2),
                         conversions=float(rnd.randint(0, 3)),
                         revenue=round(rnd.random() * 120, 2))
                recs.append(r)
            if len(recs) >= 5000:
                await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                                     fetched_at="2024-12-01T00:00:00Z")
                recs = []
        if recs:
            await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                                 fetched_at="2024-12-01T00:00:00Z")
        # Each ad's creative as enrichment stores it (a version from the beginning, one
        # ad in ten edited half way): the feature store joins each ad-day to its version.
        creatives = [{"platform": "facebook", "account_id": f"act_{a}", "ad_id": f"{a}{ad:05d}",
                      "creative_hash": f"{ad}", "enrichments": "[]",
                      "enriched_at": "2024-01-01T00:00:00Z", "observed_on": days[0],
                      "topic": rnd.choice(TOPICS), "sentiment_compound": rnd.random(),
                      "topic_confidence": rnd.random(), "has_urgency": ad % 2,
                      "image_brightness": rnd.random()} for ad in range(ads)]
        edited = [{**c, "creative_hash": c["creative_hash"] + "b",
                   "observed_on": days[len(days) // 2], "sentiment_compound": rnd.random()}
                  for c in creatives[::10]]
        await store.upsert_creative_features(db, creatives + edited)
    await store.refresh_rollups(db, days)


async def main(args: argparse.Namespace) -> None:
    days = [(date(2024, 1, 1) + timedelta(days=i)).isoformat() for i in range(args.days)]
    server = None
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.pgserver
        from tests.pgserver import start_server
        server = start_server(durable=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = (server.create_database() if server is not None
                   else f"sqlite:///{Path(tmp) / 'b.db'}")
            async with DatabaseLoader.from_url(url) as db:
                t = time.perf_counter()
                await _seed(db, args.accounts, args.ads, days)
                print(f"seeded {args.accounts * args.ads * args.days:,} ad-days "
                      f"in {time.perf_counter() - t:.1f}s, peak RSS {_peak_mb()} MB")
                touched = [analytics.AccountDays("facebook", f"act_{a}", None, days, days,
                                                 days[-1]) for a in range(args.accounts)]
                prof = cProfile.Profile() if args.profile else None
                if prof:
                    prof.enable()
                workers = EnrichWorkers(args.workers)
                await workers.usable()  # the worker's start is not the steps' time
                t = time.perf_counter()
                n = await analytics._history(db, touched, workers)
                t1 = time.perf_counter()
                peak_history = _peak_mb()
                m = await analytics._benchmarks(db, "facebook", days, workers)
                t2 = time.perf_counter()
                fs = FeatureStore(db)
                f = 0
                for a in touched:
                    f += await fs.materialize(platform=a.platform, account_id=a.account_id,
                                              days=a.days)
                t3 = time.perf_counter()
                if prof:
                    prof.disable()
                    prof.dump_stats(args.profile)
                print(f"history {t1 - t:.2f}s ({n:,} rows), benchmarks {t2 - t1:.2f}s "
                      f"({m:,} rows), features {t3 - t2:.2f}s ({f:,} values)")
                print(f"peak RSS after history {peak_history} MB, at the end {_peak_mb()} MB")
    finally:
        if server is not None:
            server.stop()


def _peak_mb() -> int:
    """The process's peak resident set so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=4)
    ap.add_argument("--ads", type=int, default=250)
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--profile", metavar="PATH")
    ap.add_argument("--postgres", action="store_true",
                    help="a throwaway PostgreSQL server (tests/pgserver.py) instead of SQLite")
    ap.add_argument("--workers", type=int, default=1,
                    help="worker processes computing history and benchmarks, as the "
                         "daemon's [enrichment] workers (0: in this process)")
    asyncio.run(main(ap.parse_args()))
