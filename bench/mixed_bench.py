"""Mixed benchmark: Facebook, Google, Amazon and TikTok ad tasks in one run.

All four emulators run in THIS process (Google, Amazon and TikTok have no stand-alone
server command yet), so they share the daemon's core: the figure is a floor, not the
daemon's ceiling. Each platform uses its emulator's default sandbox accounts; ``--days``
sets the lookback.

    python bench/mixed_bench.py --days 365
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import anyio

from within_daemon.daemon import run_once
from within_daemon.demo import demo_config
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.amazon.server import AmazonEmulator
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.tiktok.server import TikTokEmulator

CONFIG = """
[database]
url = "sqlite:///bench.db"
[metrics]
enabled = false
[runtime]
timezone = "America/Los_Angeles"
[quality]
enabled = {quality}
[platforms.facebook]
page_size = 2000
window_days = 31
async_after_days = 100000
[platforms.google]
client_id = {{ env = "WITHIN_SANDBOX_GOOGLE_CLIENT_ID" }}
client_secret = {{ env = "WITHIN_SANDBOX_GOOGLE_CLIENT_SECRET" }}
developer_token = {{ env = "WITHIN_SANDBOX_GOOGLE_DEV_TOKEN" }}
window_days = 31
[platforms.amazon]
client_id = {{ env = "WITHIN_SANDBOX_AMAZON_CLIENT_ID" }}
client_secret = {{ env = "WITHIN_SANDBOX_AMAZON_CLIENT_SECRET" }}
poll_interval_seconds = 0.01
[platforms.tiktok]
window_days = 30
{accounts}
{tasks}
"""


def accounts() -> str:
    out = []
    for acc in ("1000000001", "1000000002", "1000000003"):
        out.append(f'[[accounts]]\nplatform = "facebook"\naccount_id = "{acc}"\n'
                   'access_token = { env = "WITHIN_SANDBOX_TOKEN" }\nrate_limit = 600000\n')
    out.append('[[accounts]]\nplatform = "google"\naccount_id = "5550000001"\n'
               'refresh_token = { env = "WITHIN_SANDBOX_TOKEN" }\nrate_limit = 600000\n')
    out.append('[[accounts]]\nplatform = "google"\naccount_id = "5550000002"\n'
               'login_customer_id = "5559999999"\n'
               'refresh_token = { env = "WITHIN_SANDBOX_TOKEN" }\nrate_limit = 600000\n')
    for acc in ("3000000001", "3000000002", "3000000003"):
        out.append(f'[[accounts]]\nplatform = "amazon"\naccount_id = "{acc}"\n'
                   'refresh_token = { env = "WITHIN_SANDBOX_TOKEN" }\nrate_limit = 600000\n')
    for acc in ("7100000000000000001", "7100000000000000002"):
        out.append(f'[[accounts]]\nplatform = "tiktok"\naccount_id = "{acc}"\n'
                   'access_token = { env = "WITHIN_SANDBOX_TOKEN" }\nrate_limit = 600000\n')
    return "\n".join(out)


async def main(days: int, quality: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="within-mixed-"))
    tasks = "\n".join(f'[[tasks]]\nname = "{p}"\nplatform = "{p}"\npipeline = "AdDataPipeline"\n'
                      f"lookback_days = {days}\n" for p in ("facebook", "google", "amazon",
                                                             "tiktok"))
    (work / "within.toml").write_text(CONFIG.format(
        accounts=accounts(), tasks=tasks, quality="true" if quality else "false"))
    fb, google = FacebookEmulator(), GoogleAdsEmulator()
    amazon, tiktok = AmazonEmulator(retention_days=None), TikTokEmulator()
    async with fb.serve() as f, google.serve() as g, amazon.serve() as a, tiktok.serve() as t:
        urls = {"facebook": (f, ""), "google": (g, google.token_url),
                "amazon": (a, amazon.token_url), "tiktok": (t, "")}
        loaded = demo_config(work / "bench.db", urls, str(work / "within.toml"))
        t0 = time.perf_counter()
        results = await run_once(loaded, metrics=Metrics())
        elapsed = time.perf_counter() - t0
    total = sum(r.loaded for r in results)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.platform()}")
    print(f"command: python bench/mixed_bench.py --days {days}"
          + ("" if quality else " --no-quality"))
    for r in results:
        print(f"  {r.task:<9} {r.status:<8} {r.loaded:>8} records in {r.duration_seconds:6.1f}s "
              f"-> {r.loaded / max(r.duration_seconds, 1e-9):>9,.0f}/s")
    print(f"total {total} records in {elapsed:.1f}s -> {total / elapsed:,.0f} records/s "
          "(emulators in the same process)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--no-quality", action="store_true")
    args = ap.parse_args()
    anyio.run(lambda: main(args.days, not args.no_quality), backend="asyncio")
