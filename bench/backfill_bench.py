"""End-to-end backfill benchmark: emulator process → daemon pipeline → SQLite or PostgreSQL.

Starts the Facebook emulator in its own process (so the daemon gets its own core), then
runs one task over ``--days`` days for ``--accounts`` accounts of ``--ads`` ads each,
through the same engine the daemon uses (connector, transform actor, loader actor), and
prints records/s end to end and the peak RSS of the daemon process.

    python bench/backfill_bench.py --accounts 4 --ads 250 --days 1000
    python bench/backfill_bench.py --accounts 4 --ads 250 --days 1000 --postgres
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import anyio

from within_daemon.config import load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.images import ImageServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.pgserver import start_server  # noqa: E402 - the tests' throwaway server

ENRICH = ["sentiment", "topic_classification", "entity_extraction", "image_analysis",
          "historical_performance", "competitive_analysis"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=4)
    ap.add_argument("--ads", type=int, default=250, help="ads per account")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--page-size", type=int, default=2000)
    ap.add_argument("--window-days", type=int, default=31)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--async-jobs", action="store_true", help="use async report jobs")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file")
    ap.add_argument("--postgres", action="store_true",
                    help="load into a throwaway PostgreSQL server (durable defaults) instead")
    ap.add_argument("--enrich", action="store_true",
                    help="run every enrichment, images from a local image server")
    args = ap.parse_args()
    anyio.run(lambda: _main(args), backend="asyncio")


async def _main(args: argparse.Namespace) -> None:
    images = ImageServer()
    async with images.serve():
        await _bench(args, images.url("/"))


async def _bench(args: argparse.Namespace, image_base: str) -> None:

    end = date.today() - timedelta(days=1)
    start = end - timedelta(days=args.days - 1)
    emu = subprocess.Popen(
        [sys.executable, "-m", "within_daemon.sandbox", "facebook", "--port", "0",
         "--accounts", str(args.accounts), "--ads-per-account", str(args.ads),
         "--active-from", start.isoformat(), "--job-step", "100",
         "--image-base-url", image_base],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert emu.stdout is not None
    base_url = emu.stdout.readline().strip()
    work = Path(tempfile.mkdtemp(prefix="within-bench-"))
    accounts = "\n".join(
        f'[[accounts]]\nplatform = "facebook"\naccount_id = "{1_000_000_001 + i}"\n'
        f'access_token = {{ env = "BENCH_TOKEN" }}\nrate_limit = 600000\n'
        for i in range(args.accounts)
    )
    server = start_server(durable=True) if args.postgres else None
    db_url = server.create_database() if server is not None else "sqlite:///bench.db"
    (work / "within.toml").write_text(f"""
[database]
url = "{db_url}"
[metrics]
enabled = false
[runtime]
batch_size = {args.batch_size}
queue_size = 8
[platforms.facebook]
base_url = "{base_url}"
page_size = {args.page_size}
window_days = {args.window_days}
async_after_days = {1 if args.async_jobs else 100000}
poll_interval_seconds = 0.02
{accounts}
[[tasks]]
name = "bench"
pipeline = "AdDataPipeline"
lookback_days = {args.days}
enrich = {ENRICH if args.enrich else []}
""")
    os.environ["BENCH_TOKEN"] = "bench-token"
    loaded = load_config(work / "within.toml")
    try:
        t0 = time.perf_counter()
        [res] = await run_once(loaded, metrics=Metrics())
        elapsed = time.perf_counter() - t0
    finally:
        emu.terminate()
        emu.wait(10)
        if server is not None:
            server.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    want = args.accounts * args.ads * args.days
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.platform()}")
    print(f"command: python bench/backfill_bench.py --accounts {args.accounts} --ads {args.ads} "
          f"--days {args.days} --page-size {args.page_size} --window-days {args.window_days} "
          f"--batch-size {args.batch_size}" + (" --async-jobs" if args.async_jobs else "")
          + (" --enrich" if args.enrich else "") + (" --postgres" if args.postgres else ""))
    print(f"status {res.status}: fetched {res.fetched}, loaded {res.loaded} "
          f"(expected {want}), quarantined {res.quarantined}")
    print(f"elapsed {elapsed:.1f}s  ->  {res.loaded / elapsed:,.0f} records/s end to end")
    print(f"peak RSS of the daemon process: {peak_mb:.0f} MB")
    if res.loaded != want:
        raise SystemExit("row count mismatch")
    if args.keep and not args.postgres:
        print(f"database: {work / 'bench.db'}")
    else:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
