"""The daemon's ``backfill`` command against the bare floor, same emulator, same run.

Starts the Facebook emulator in its own process, then for each repeat runs, back to back,
the floor (``bench/bare_floor.py``) and the daemon (``within-daemon backfill``), each as
whole processes, one process per account, accounts one after another. The daemon gets the
config a user gets: default page size and windows, validation and the ledger on, metrics
served; only the account's ``rate_limit`` is raised (the default, 200 requests a minute,
would measure the limiter). Prints rows/s of both, the ratio daemon / floor, the peak RSS
of each daemon process and the load average, per repeat.

    python bench/floor_ratio.py --case many-ads            # 23,000 ads x 7 days
    python bench/floor_ratio.py --case many-days           # 250 ads x 1,000 days x 4 accounts
    python bench/floor_ratio.py --accounts 1 --ads 2000 --days 7   # small, while developing
    python bench/floor_ratio.py --case many-ads --postgres         # both sides on PostgreSQL
    python bench/floor_ratio.py --case many-ads --enrich           # daemon with every enrichment
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {"many-ads": (1, 23_000, 7), "many-days": (4, 250, 1000)}
ENRICH = ["sentiment", "topic_classification", "entity_extraction", "image_analysis",
          "historical_performance", "competitive_analysis"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: CPU seconds (user + system) of the processes timed, by side: the emulator bounds the
#: floor's wall time, so CPU per row shows the work each side does for the same rows.
CPU: dict[str, float] = {}


#: --log PATH: the daemon's log lines (post-load step timings) are appended there.
LOG: str | None = None


def _timed(cmd: list[str], env: dict[str, str] | None = None,
           side: str = "") -> tuple[float, float, str]:
    """Run ``cmd`` to completion: (seconds, peak RSS MB of that process, stdout)."""
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fout, stderr=ferr, text=True, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own peak RSS
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    CPU[side] = CPU.get(side, 0.0) + usage.ru_utime + usage.ru_stime
    if LOG and side != "floor":
        with open(LOG, "a") as f:
            f.write(f"== {' '.join(cmd[-10:])}\n{err}")
    if proc.returncode:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{out}\n{err[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--accounts", type=int, default=1)
    ap.add_argument("--ads", type=int, default=2000, help="ads per account")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--postgres", action="store_true", help="both sides load into PostgreSQL")
    ap.add_argument("--enrich", action="store_true", help="daemon runs every enrichment")
    ap.add_argument("--workers", type=int, metavar="N",
                    help="with --enrich: [enrichment] workers = N (default: the config's)")
    ap.add_argument("--sync", action="store_true",
                    help="daemon config async_after_days = 100000: sync paging like the floor "
                         "(by default a backfill longer than 14 days uses async report jobs, "
                         "one per 7-day window, each polled from 2 s on)")
    ap.add_argument("--profile", metavar="PATH",
                    help="cProfile the (first account's) daemon process into PATH "
                         "(with --enrich, the enriched run into PATH.enrich too)")
    ap.add_argument("--keep", metavar="DIR",
                    help="copy the enriched run's SQLite database into DIR (to inspect it)")
    ap.add_argument("--log", metavar="PATH", help="append the daemon processes' logs to PATH")
    args = ap.parse_args()
    global LOG
    LOG = args.log
    accounts, ads, days = CASES[args.case] if args.case else (args.accounts, args.ads, args.days)
    sys.path.insert(0, str(ROOT))
    end = date.today() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    image_ctx = None
    image_base = "https://cdn.example.test"
    if args.enrich:
        image_ctx, image_base = _serve_images()
    emu = subprocess.Popen(
        [sys.executable, "-m", "within_daemon.sandbox", "facebook", "--port", "0",
         "--accounts", str(accounts), "--ads-per-account", str(ads),
         "--active-from", start.isoformat(), "--image-base-url", image_base],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert emu.stdout is not None
    base_url = emu.stdout.readline().strip()
    server = None
    if args.postgres:
        from tests.pgserver import start_server
        server = start_server(durable=True)
    ids = [str(1_000_000_001 + i) for i in range(accounts)]
    rows = accounts * ads * days
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.platform()}")
    print("command: python bench/floor_ratio.py " + " ".join(sys.argv[1:]))
    print(f"case: {accounts} account(s) x {ads} ads x {days} days = {rows:,} rows")
    try:
        for rep in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="within-floor-") as tmp:
                work = Path(tmp)
                floor_db = (server.create_database() if server is not None
                            else str(work / "floor.db"))
                def new_db(name: str) -> str:
                    return (server.create_database() if server is not None
                            else f"sqlite:///{name}.db")
                load0 = os.getloadavg()[0]
                CPU.clear()
                f_s = 0.0
                for acc in ids:
                    s, _rss, _out = _timed([
                        sys.executable, str(ROOT / "bench" / "bare_floor.py"),
                        "--base-url", base_url, "--account", acc, "--from", start.isoformat(),
                        "--to", end.isoformat(), "--db", floor_db], side="floor")
                    f_s += s
                env = {**os.environ, "BENCH_TOKEN": "bench-token"}
                cfg = _config(work, "daemon", base_url, new_db("daemon"), ids, days, args.sync)
                d_s, peak = _daemon(args, cfg, env, ids, start, end, ads * days, "backfill")
                p_s = e_s = e_peak = 0.0
                if args.enrich:  # each on a fresh database: the ledger would skip the days
                    cfg = _config(work, "plain", base_url, new_db("plain"), ids, days, args.sync)
                    p_s, _ = _daemon(args, cfg, env, ids, start, end, rows, "plain")
                    cfg = _config(work, "enrich", base_url, new_db("enrich"), ids, days,
                                  args.sync, args.workers)
                    e_s, e_peak = _daemon(args, cfg, env, ids, start, end, rows, "enrich")
                    if args.keep and server is None:
                        Path(args.keep).mkdir(parents=True, exist_ok=True)
                        for f in work.glob("enrich.db*"):
                            shutil.copy(f, Path(args.keep) / f.name)
                load1 = os.getloadavg()[0]
                print(f"[{rep + 1}] floor {rows / f_s:,.0f} rows/s ({f_s:.1f}s)  daemon "
                      f"{rows / d_s:,.0f} rows/s ({d_s:.1f}s)  ratio {f_s / d_s:.2f}  "
                      f"daemon peak RSS {peak:.0f} MB  load {load0:.1f}->{load1:.1f}",
                      flush=True)
                print(f"    CPU s: floor {CPU['floor']:.1f}, daemon {CPU['backfill']:.1f} "
                      f"(ratio {CPU['floor'] / CPU['backfill']:.2f})", flush=True)
                if args.enrich:
                    print(f"    once, plain {rows / p_s:,.0f} rows/s ({p_s:.1f}s), enrich "
                          f"{rows / e_s:,.0f} rows/s ({e_s:.1f}s): enrich / plain "
                          f"{p_s / e_s:.2f}, peak RSS {e_peak:.0f} MB", flush=True)
                    # The daemon's own CPU (the emulator and the image server, the
                    # "world", share these 2 cores and slow both runs' wall time).
                    print(f"    CPU s (daemon, and the children it reaped): plain "
                          f"{CPU['plain']:.1f}, enrich {CPU['enrich']:.1f} (ratio "
                          f"{CPU['plain'] / CPU['enrich']:.2f})", flush=True)
    finally:
        emu.terminate()
        emu.wait(10)
        if server is not None:
            server.stop()
        if image_ctx is not None:
            image_ctx.terminate()
            image_ctx.wait(10)


def _serve_images() -> tuple[subprocess.Popen[str], str]:
    """A local image server in its own process (enrichment fetches every creative)."""
    proc = subprocess.Popen([sys.executable, "-m", "within_daemon.sandbox", "images"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _daemon(args: argparse.Namespace, cfg: Path, env: dict[str, str], ids: list[str],
            start: date, end: date, want: int, what: str) -> tuple[float, float]:
    """``backfill`` per account (``what == "backfill"``), or ``once --task what``: (s, MB)."""
    total, peak = 0.0, 0.0
    runs = ids if what == "backfill" else [""]
    for i, acc in enumerate(runs):
        out_file = args.profile if what == "backfill" else f"{args.profile}.{what}"
        pre = ([sys.executable, "-m", "cProfile", "-o", out_file, "-m", "within_daemon"]
               if args.profile and i == 0 and what in ("backfill", "plain", "enrich")
               else [sys.executable, "-m", "within_daemon"])
        cmd = (["backfill", "--config", str(cfg), "--platform", "facebook", "--account", acc,
                "--from", start.isoformat(), "--to", end.isoformat()] if what == "backfill"
               else ["once", "--config", str(cfg), "--task", what])
        s, rss, out = _timed(pre + cmd, env, side=what)
        total += s
        peak = max(peak, rss)
        loaded = _loaded(out)
        if loaded != want:
            raise SystemExit(f"daemon loaded {loaded}, expected {want}:\n{out}")
    return total, peak


def _config(work: Path, name: str, base_url: str, db_url: str, ids: list[str],
            days: int, sync: bool, workers: int | None = None) -> Path:
    accounts = "".join(
        f'[[accounts]]\nplatform = "facebook"\naccount_id = "{a}"\n'
        f'access_token = {{ env = "BENCH_TOKEN" }}\nrate_limit = 600000\n' for a in ids)
    # Tasks for --enrich (``once``): one plain, one with every enrichment, same days.
    task = "".join(
        f'[[tasks]]\nname = "{name}"\npipeline = "AdDataPipeline"\nlookback_days = {days}\n'
        f'enrich = {enrich}\n' for name, enrich in (("plain", []), ("enrich", ENRICH)))
    path = work / f"{name}.toml"
    # The images are served on loopback (_serve_images): allowed, so that image analysis
    # really fetches and decodes them (until 2026-12-05 every one was refused as an inward
    # address, and the enriched figures before that date include no image work).
    path.write_text(f'[database]\nurl = "{db_url}"\n[metrics]\nlisten = '
                    f'"127.0.0.1:{_free_port()}"\n[enrichment]\nimage_allow_loopback = true\n'
                    + (f"workers = {workers}\n" if workers is not None else "") +
                    f'[platforms.facebook]\nbase_url = '
                    f'"{base_url}"\n' + ("async_after_days = 100000\n" if sync else "")
                    + f"{accounts}{task}")
    return path


def _loaded(out: str) -> int:
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("backfill_facebook", "plain", "enrich"):
            return int(parts[3])
    raise SystemExit(f"no result line in:\n{out}")


if __name__ == "__main__":
    main()
