"""Feature store benchmark: materialize ads x days into a database, then time key reads.

    python bench/feature_store_bench.py [--ads 1000] [--days 30] [--reads 10000]
                                        [--db-url postgresql://user@host/empty_db]

Without ``--db-url`` the database is a temporary SQLite file. ``--db-url`` measures another
database (PostgreSQL), which must be fresh and empty: the benchmark writes its tables there
and leaves them (drop the database afterwards).

Seeds ``ad_data``, ``ad_history``, ``ad_benchmarks``, ``ad_creative_features`` and the
rollups of one account through the loader's own helpers, times
``FeatureStore.materialize`` over all days, then ``get_online`` for random ads (each call
timed on its own, through the async ``DatabaseLoader`` as the daemon would call it) and one
``get_historical`` over as many (ad, time) rows. Prints p50/p99 in ms with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.feature_store import FeatureStore
from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS
from within_daemon.schema import AD_FIELDS

P, A = "facebook", "act_1"


async def _server(db: DatabaseLoader) -> str:
    if db.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (temporary file)"
    rows = await db.fetch_dicts("SHOW server_version")
    return f"PostgreSQL {rows[0]['server_version']} at {db.display_url}"


def _machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{platform.system()} {platform.release()}")


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


async def seed(db: DatabaseLoader, ads: int, days: list[str]) -> None:
    rnd = random.Random(1)
    hist_cols = [c for c, _ in HISTORY_COLUMNS]
    for d in days:
        recs = []
        hist = []
        bench = []
        for i in range(ads):
            r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
            r.update(platform=P, account_id=A, ad_id=f"ad{i}", date=d, currency="USD",
                     impressions=1000 + i, clicks=rnd.randint(0, 50), spend=rnd.random() * 50,
                     conversions=rnd.randint(0, 5), revenue=rnd.random() * 100)
            recs.append(r)
            h: dict[str, Any] = {c: rnd.random() for c in hist_cols}
            h.update({c: 7 for c in hist_cols if c.endswith(("_days_7d", "_days_28d"))})
            h.update(ad_id=f"ad{i}", date=d)
            hist.append(h)
            bench.append({"platform": P, "account_id": A, "ad_id": f"ad{i}", "date": d,
                          "topic": "apparel", "peer_group_size": ads,
                          "ctr_percentile": rnd.random(), "cpa_percentile": rnd.random(),
                          "roas_percentile": rnd.random()})
        await db.write_batch(run_id="bench", task="bench", kind="ad", records=recs,
                             fetched_at=f"{d}T23:59:59+00:00")
        await store.upsert_history(db, P, A, hist)
        await store.upsert_benchmarks(db, bench)
    await store.upsert_creative_features(db, [
        {"platform": P, "account_id": A, "ad_id": f"ad{i}", "creative_hash": str(i),
         "enrichments": "[]", "enriched_at": "2024-01-01T00:00:00Z", "topic": "apparel",
         "sentiment_compound": rnd.random(), "topic_confidence": rnd.random(),
         "has_urgency": i % 2, "image_brightness": rnd.random()} for i in range(ads)])
    await store.refresh_rollups(db, days)


async def main(ads: int, n_days: int, reads: int, db_url: str | None) -> None:
    first = date(2024, 1, 1)
    days = [(first + timedelta(days=i)).isoformat() for i in range(n_days)]
    with tempfile.TemporaryDirectory() as tmp:
        loader = (DatabaseLoader(Path(tmp) / "bench.db") if db_url is None
                  else DatabaseLoader.from_url(db_url))
        async with loader as db:
            # Rows of an earlier run would be timed (and asserted on) as if seeded now.
            if await db.count_rows("ad_data") or await db.count_rows("feature_history"):
                raise SystemExit(f"{db.display_url} is not empty; give a fresh database")
            t0 = time.perf_counter()
            await seed(db, ads, days)
            t1 = time.perf_counter()
            fs = FeatureStore(db)
            rows = await fs.materialize(platform=P, account_id=A, days=days)
            t2 = time.perf_counter()
            await fs.materialize(platform=P, account_id=A, days=days)
            t3 = time.perf_counter()
            print(f"machine: {_machine()}")
            print(f"database: {await _server(db)}")
            print(f"command: python {' '.join(sys.argv)}")
            print(f"seed {ads} ads x {n_days} days: {t1 - t0:.1f} s")
            print(f"materialize: {rows:,} history rows in {t2 - t1:.1f} s "
                  f"({rows / (t2 - t1):,.0f} rows/s); re-run (idempotent) {t3 - t2:.1f} s")
            rnd = random.Random(2)
            keys = [f"{P}:{A}:ad{rnd.randrange(ads)}" for _ in range(reads)]
            for k in keys[:200]:  # warm the page cache and the statement cache
                await fs.get_online("ad", k)
            lat = []
            for k in keys:
                s = time.perf_counter()
                v = await fs.get_online("ad", k)
                lat.append((time.perf_counter() - s) * 1e3)
                assert v["ad_ctr_7d"] is not None
            print(f"get_online x {reads:,} (all {len(v)} ad features): "
                  f"p50 {_pct(lat, 0.5):.3f} ms, p99 {_pct(lat, 0.99):.3f} ms, "
                  f"mean {statistics.fmean(lat):.3f} ms")
            lat = []
            for _ in keys:
                s = time.perf_counter()
                await fs.get_online("account", f"{P}:{A}", ["acct_ctr_7d"])
                lat.append((time.perf_counter() - s) * 1e3)
            print(f"get_online account x {reads:,} (1 feature): p50 {_pct(lat, 0.5):.3f} ms, "
                  f"p99 {_pct(lat, 0.99):.3f} ms")
            req = [(k, f"{days[rnd.randrange(n_days)]}T12:00:00Z") for k in keys]
            s = time.perf_counter()
            got = await fs.get_historical(req, ["ad_ctr_7d", "ctr_percentile", "topic",
                                                "acct_ctr_7d"])
            el = time.perf_counter() - s
            print(f"get_historical: {len(got):,} rows x 4 features in {el:.2f} s "
                  f"({len(got) / el:,.0f} rows/s)")
            s = time.perf_counter()
            out = await fs.export_parquet(Path(tmp) / "ad.parquet", "ad")
            print(f"export_parquet ad: {time.perf_counter() - s:.1f} s, "
                  f"{out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--ads", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--reads", type=int, default=10_000)
    ap.add_argument("--db-url", default=None,
                    help="database to measure (default: a temporary SQLite file); "
                         "a fresh, empty postgresql:// database for PostgreSQL")
    a = ap.parse_args()
    asyncio.run(main(a.ads, a.days, a.reads, a.db_url))
