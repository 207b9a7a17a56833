"""Fleet benchmark: hundreds of accounts on four platforms, each at its own rate limit.

Starts the four emulators in their own processes (``fleet.py --serve PLATFORM``), each
with N generated accounts, ``latency`` ms on every request and a per-account rate limit
enforced server-side (a token bucket of 2; over it the emulator answers 429 and counts a
refusal). The daemon side runs the four ``AdDataPipeline`` tasks at once through one engine
(one source actor per account, the shared pooled HTTP session), each account configured
with the same ``rate_limit`` the emulator enforces. It reports:

- wall time against the rate-limit bound, the time the slowest account needs at its limit:
  ``max over accounts of max((n-1) * 60/rate + latency, n * latency)`` for the n requests
  it made (report downloads, which are not rate limited, are left out). Two wall times:
  until the last account's rows are committed (the pull), and until the tasks' post-load
  steps (rollups, feature store) are done too;
- requests the emulators refused for rate (must be 0);
- peak RSS and peak open file descriptors of the daemon process, and the event loop's lag
  (p50/p99/max of a 20 ms ticker's lateness).

    python bench/fleet.py --accounts 500            # full scale (125 per platform)
    python bench/fleet.py --accounts 40 --min-rate 30 --max-rate 120   # quick check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as pyplatform
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import anyio

PLATFORMS = ("facebook", "google", "amazon", "tiktok")
ACTIVE_FROM = "2024-01-01"


def account_ids(platform: str, n: int) -> list[str]:
    """The generated ids of a platform (the formats each API uses)."""
    base = {"facebook": 1_000_000_001, "google": 5_550_000_001, "amazon": 3_000_000_001,
            "tiktok": 7_100_000_000_000_000_001}[platform]
    return [str(base + i) for i in range(n)]


def rates(n: int, lo: float, hi: float, seed: int) -> dict[str, dict[str, float]]:
    """Each account's own limit (requests per minute), the same on both sides."""
    rng = random.Random(seed)
    per = n // len(PLATFORMS)
    return {p: {a: round(rng.uniform(lo, hi), 1) for a in account_ids(p, per)}
            for p in PLATFORMS}


# -- the emulator side (a child process per platform) -------------------------------------------


def _emulator(platform: str, ids: list[str]) -> Any:
    from within_daemon.sandbox import FacebookEmulator, SandboxAccount
    from within_daemon.sandbox.amazon.data import AmazonProfile
    from within_daemon.sandbox.amazon.server import AmazonEmulator
    from within_daemon.sandbox.google.data import SandboxCustomer
    from within_daemon.sandbox.google.server import GoogleAdsEmulator
    from within_daemon.sandbox.tiktok.data import TikTokAdvertiser
    from within_daemon.sandbox.tiktok.server import TikTokEmulator

    if platform == "facebook":
        return FacebookEmulator([SandboxAccount.with_ads(a, f"Fleet {a}", 12,
                                                         active_from=ACTIVE_FROM) for a in ids])
    if platform == "google":
        return GoogleAdsEmulator([SandboxCustomer(a, f"Fleet {a}", active_from=ACTIVE_FROM)
                                  for a in ids])
    if platform == "amazon":
        return AmazonEmulator([AmazonProfile(a, f"Fleet {a}", active_from=ACTIVE_FROM)
                               for a in ids], retention_days=None)
    return TikTokEmulator([TikTokAdvertiser(a, f"Fleet {a}", active_from=ACTIVE_FROM)
                           for a in ids])


async def serve(platform: str, limits_file: str, latency_ms: float) -> None:
    limits: dict[str, float] = json.loads(Path(limits_file).read_text())
    emu = _emulator(platform, list(limits))
    emu.faults.add("latency", None, delay=latency_ms / 1000)
    emu.faults.add("rate_limit", None, limits=limits, burst=2)
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with emu.serve():
            print(json.dumps({"base_url": emu.base_url,
                              "token_url": getattr(emu, "token_url", "")}), flush=True)
            async for _ in signals:
                break


# -- the daemon side ----------------------------------------------------------------------------


def config_text(urls: dict[str, dict[str, str]], limits: dict[str, dict[str, float]],
                days: int, db: Path) -> str:
    common = ("window_days = 30\nasync_after_days = 100000\npoll_interval_seconds = 0.05\n"
              "max_pace_delay_seconds = 0\n")
    secrets = {
        "google": 'developer_token = { env = "FLEET_G_DEV" }\nclient_id = { env = "FLEET_G_ID" }\n'
                  'client_secret = { env = "FLEET_G_SECRET" }\n',
        "amazon": 'client_id = { env = "FLEET_A_ID" }\n'
                  'client_secret = { env = "FLEET_A_SECRET" }\n',
    }
    cred = {"facebook": "access_token", "google": "refresh_token", "amazon": "refresh_token",
            "tiktok": "access_token"}
    parts = [f'[database]\nurl = "sqlite:///{db}"\n[metrics]\nenabled = false\n'
             '[runtime]\ntimezone = "UTC"\naccount_jitter_seconds = 0\n'
             '[quality]\nenabled = false\n']
    for p in PLATFORMS:
        tok = f'token_url = "{urls[p]["token_url"]}"\n' if urls[p]["token_url"] else ""
        parts.append(f'[platforms.{p}]\nbase_url = "{urls[p]["base_url"]}"\n{tok}'
                     f'{secrets.get(p, "")}{common}')
    for p in PLATFORMS:
        for a, rate in limits[p].items():
            parts.append(f'[[accounts]]\nplatform = "{p}"\naccount_id = "{a}"\n'
                         f'{cred[p]} = {{ env = "FLEET_TOKEN" }}\nrate_limit = {rate}\n')
        parts.append(f'[[tasks]]\nname = "{p}"\nplatform = "{p}"\npipeline = "AdDataPipeline"\n'
                     f"lookback_days = {days}\n")
    return "\n".join(parts)


class Probe:
    """Event-loop lag (a 20 ms ticker's lateness) and the peak of open descriptors."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.peak_fds = 0

    async def run(self) -> None:
        tick = 0.02
        while True:
            t0 = time.perf_counter()
            await anyio.sleep(tick)
            self.lags.append(max(0.0, time.perf_counter() - t0 - tick))
            if len(self.lags) % 10 == 0:
                self.peak_fds = max(self.peak_fds, len(os.listdir("/proc/self/fd")))

    def quantile(self, q: float) -> float:
        if not self.lags:
            return 0.0
        s = sorted(self.lags)
        return s[min(len(s) - 1, int(q * len(s)))]


def refused(url: str) -> int:
    """Requests the emulator refused for rate (its ``rate_limited`` 429s)."""
    origin = url.split("/", 3)[:3]
    with urllib.request.urlopen("/".join(origin) + "/_sandbox/stats", timeout=30) as resp:
        stats = json.load(resp)
    return sum(c["n"] for c in stats["counts"] if c["kind"] == "rate_limited")


async def run(args: argparse.Namespace) -> None:
    from within_daemon.config import load_config
    from within_daemon.daemon import open_database
    from within_daemon.observability.metrics import Metrics
    from within_daemon.pipelines.engine import TaskResult, open_engine
    from within_daemon.sandbox.amazon.server import CLIENT_ID, CLIENT_SECRET

    work = Path(tempfile.mkdtemp(prefix="within-fleet-"))
    limits = rates(args.accounts, args.min_rate, args.max_rate, args.seed)
    procs: list[subprocess.Popen[str]] = []
    urls: dict[str, dict[str, str]] = {}
    try:
        for p in PLATFORMS:
            lf = work / f"{p}-limits.json"
            lf.write_text(json.dumps(limits[p]))
            proc = subprocess.Popen(
                [sys.executable, __file__, "--serve", p, "--limits", str(lf),
                 "--latency-ms", str(args.latency_ms)],
                stdout=subprocess.PIPE, text=True)
            procs.append(proc)
            assert proc.stdout is not None
            urls[p] = json.loads(proc.stdout.readline())
        os.environ.update({"FLEET_TOKEN": "fleet-token-0123456789",
                           "FLEET_G_DEV": "sandbox-developer-token",
                           "FLEET_G_ID": "sandbox-client-id",
                           "FLEET_G_SECRET": "sandbox-client-secret",
                           "FLEET_A_ID": CLIENT_ID, "FLEET_A_SECRET": CLIENT_SECRET})
        cfg = work / "within.toml"
        cfg.write_text(config_text(urls, limits, args.days, work / "fleet.db"))
        loaded = load_config(cfg)
        metrics = Metrics()
        probe = Probe()
        results: list[TaskResult] = []
        db = await open_database(loaded)
        try:
            async with open_engine(loaded, db, metrics=metrics) as engine:
                async with anyio.create_task_group() as watch:
                    watch.start_soon(probe.run)
                    t0 = time.perf_counter()

                    done: list[float] = []

                    async def one(task: Any) -> None:
                        results.append(await engine.run_task(
                            task, on_account_done=lambda _a: done.append(time.perf_counter())))

                    async with anyio.create_task_group() as tg:
                        for task in loaded.config.tasks:
                            tg.start_soon(one, task)
                    wall = time.perf_counter() - t0
                    pulled = max(done) - t0
                    watch.cancel_scope.cancel()
                conns = {k: v[2] for k, v in engine.connectors.items()}
        finally:
            await db.close()
        lat = args.latency_ms / 1000
        need = {k: max((c.requests_made - 1) * 60 / c.rate_limit + lat, c.requests_made * lat)
                for k, c in conns.items()}
        slowest = max(need, key=lambda k: need[k])
        bound = need[slowest]
        n_refused = sum(refused(urls[p]["base_url"]) for p in PLATFORMS)
        throttled = sum(c.throttle_waited > 0 for c in conns.values())
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    statuses = {r.task: r.status for r in results}
    loaded_rows = sum(r.loaded for r in results)
    print(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {pyplatform.machine()}, {os.cpu_count()} cores, Python "
          f"{pyplatform.python_version()}, {pyplatform.platform()}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"command: python bench/fleet.py --accounts {args.accounts} --days {args.days} "
          f"--min-rate {args.min_rate} --max-rate {args.max_rate} --latency-ms {args.latency_ms}")
    print(f"accounts: {len(conns)} ({', '.join(f'{p} {len(limits[p])}' for p in PLATFORMS)}); "
          f"tasks: {statuses}; rows loaded: {loaded_rows}; requests: "
          f"{sum(c.requests_made for c in conns.values())}")
    print(f"rate-limit bound: {bound:.2f} s (slowest account {slowest[0]}/{slowest[1]}: "
          f"{conns[slowest].requests_made} requests at {conns[slowest].rate_limit}/min)")
    print(f"pull wall time (start -> last account's rows committed): {pulled:.2f} s -> "
          f"{pulled / bound:.3f}x the bound")
    print(f"task wall time (+ post-load: rollups, feature store): {wall:.2f} s -> "
          f"{wall / bound:.3f}x the bound")
    print(f"requests refused for rate: {n_refused}; accounts that waited on a throttle: "
          f"{throttled}")
    print(f"peak RSS: {rss:.0f} MB; peak open fds: {probe.peak_fds}; loop lag p50 "
          f"{probe.quantile(0.5) * 1000:.1f} ms, p99 {probe.quantile(0.99) * 1000:.1f} ms, max "
          f"{max(probe.lags, default=0) * 1000:.1f} ms ({len(probe.lags)} ticks)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=500, help="split evenly over 4 platforms")
    ap.add_argument("--days", type=int, default=7, help="lookback of each task")
    ap.add_argument("--min-rate", type=float, default=12.0, help="requests/min, lowest")
    ap.add_argument("--max-rate", type=float, default=60.0, help="requests/min, highest")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--serve", choices=PLATFORMS, help=argparse.SUPPRESS)
    ap.add_argument("--limits", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        anyio.run(serve, args.serve, args.limits, args.latency_ms, backend="asyncio")
    else:
        anyio.run(run, args, backend="asyncio")


if __name__ == "__main__":
    main()
