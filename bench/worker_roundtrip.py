"""What a worker process costs per image: ``EnrichWorkers.analyze_image`` against a thread.

    python bench/worker_roundtrip.py [--images 1500]

Analyses the sandbox's JPEGs (``within_daemon.sandbox.images.render_image``, 64-512 px a
side, as the many-ads benchmark fetches them) four ways and prints, per image, the wall time
and the CPU time of this (the daemon's) process: in the event loop's thread; in a worker
thread (``EnrichWorkers(0)``, what ``[enrichment] workers = 0`` does); one at a time in a
worker process (``EnrichWorkers(1)``); and with the calls concurrent, as the enrich actor
makes them (up to ``image_max_concurrency`` = 8 at once). The CPU column is what the
daemon's own process spends; a worker's CPU is on top of it, on another core if there is one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from within_daemon.sandbox.images import render_image  # noqa: E402
from within_daemon.transforms.enrichment.workers import EnrichWorkers, analyze_bytes  # noqa: E402

MAX_PIXELS = 40_000_000


def _report(label: str, n: int, wall: float, cpu: float) -> None:
    print(f"{label:<34} {wall / n * 1e3:6.3f} ms wall/image  {cpu / n * 1e3:6.3f} ms "
          "daemon CPU/image", flush=True)


async def _measure(images: list[bytes]) -> None:
    n = len(images)
    t, c = time.perf_counter(), time.process_time()
    for d in images:
        analyze_bytes(d, MAX_PIXELS)
    _report("in the event loop's thread", n, time.perf_counter() - t, time.process_time() - c)
    for label, workers, concurrent in (("worker thread (workers = 0)", 0, False),
                                       ("worker process, one at a time", 1, False),
                                       ("worker process, 8 at a time", 1, True)):
        pool = EnrichWorkers(workers)
        await pool.analyze_image(images[0], MAX_PIXELS)  # start the worker outside the clock
        t, c = time.perf_counter(), time.process_time()
        if concurrent:
            limit = anyio.Semaphore(8)

            async def one(d: bytes, pool: EnrichWorkers = pool,
                          limit: anyio.Semaphore = limit) -> None:
                async with limit:
                    await pool.analyze_image(d, MAX_PIXELS)

            async with anyio.create_task_group() as tg:
                for d in images:
                    tg.start_soon(one, d)
        else:
            for d in images:
                await pool.analyze_image(d, MAX_PIXELS)
        _report(label, n, time.perf_counter() - t, time.process_time() - c)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1500)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load {os.getloadavg()[0]:.1f}")
    print("command: python bench/worker_roundtrip.py " + " ".join(sys.argv[1:]))
    images = [render_image(f"cr_{i}", "JPEG") for i in range(args.images)]
    anyio.run(_measure, images)


if __name__ == "__main__":
    main()
