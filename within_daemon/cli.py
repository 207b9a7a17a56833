"""Command line: ``within-daemon COMMAND`` (run, once, backfill, check-config, status, ...).

Exit codes (also in the README):

====  ==========================================================
0     success (``once``/``demo``/``backfill``: every account succeeded)
1     a task or account failed or was only partly loaded
2     bad command line or bad config (one line on stderr names the key)
3     the database could not be opened or written
4     internal error (a bug: the traceback is logged)
====  ==========================================================
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import anyio

from . import __version__
from .cli_data import cmd_features, cmd_quality, cmd_train, config_of
from .config import LoadedConfig
from .errors import ConfigError, LoaderError
from .loaders.backends import redact
from .observability.logging import RedactingStream, setup_logging
from .observability.metrics import Metrics
from .pipelines.engine import Engine
from .pipelines.results import EXIT_FAILED, EXIT_OK, TaskResult, exit_code, print_results
from .sources.versions import enforce_config_versions

log = logging.getLogger("within_daemon")

EXIT_CONFIG, EXIT_DB, EXIT_INTERNAL = 2, 3, 4


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {s!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="within-daemon",
        description="Async ETL daemon for ad performance and creative data.",
        epilog="Exit codes: 0 ok, 1 task failed/partial, 2 bad config or usage, "
               "3 database error, 4 internal error.",
    )
    p.add_argument("--version", action="version", version=f"within-daemon {__version__}")
    p.add_argument("--log-level", default=os.environ.get("WITHIN_LOG_LEVEL", "INFO"))
    p.add_argument("--log-json", action=argparse.BooleanOptionalAction, default=None,
                   help="JSON log lines (default: when stderr is not a terminal)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(name: str, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--config", metavar="PATH",
                        help="config file (default: $WITHIN_CONFIG, then ./within.toml, "
                             "then /etc/within-daemon/within.toml)")
        return sp

    run = cmd("run", "run the daemon: fire tasks at their cadence until SIGTERM")
    run.add_argument("--ready-file", help=argparse.SUPPRESS)
    run.add_argument("--run-at-start", action="store_true",
                     help="run every task once at start, then keep the schedule")
    once = cmd("once", "run every configured task one time and exit")
    once.add_argument("--task", action="append", help="only this task (repeatable)")
    bf = cmd("backfill", "pull one account over a date range, with progress")
    bf.add_argument("--platform", required=True)
    bf.add_argument("--account", required=True)
    bf.add_argument("--from", dest="start", required=True, type=_date)
    bf.add_argument("--to", dest="end", required=True, type=_date)
    bf.add_argument("--pipeline", default="AdDataPipeline",
                    choices=["AdDataPipeline", "AccountDataPipeline"])
    bf.add_argument("--force", action="store_true",
                    help="re-pull days the ledger already has complete")
    cmd("check-config", "validate the config file and print what it configures")
    cmd("status", "print the running daemon's /status (tasks, runs, parked accounts)")
    cmd("cluster", "print the replicas sharing the database and who leases each account")
    sub.add_parser("features", help="list the feature definitions of the feature store",
                   description="list the feature definitions of the feature store")
    train = cmd("train", "build versioned training datasets (Parquet + manifest) now")
    train.add_argument("--dataset", default="all", choices=["all", "ad_score", "account_health"])
    train.add_argument("--output", help="model store folder (default: [model_store] root)")
    train.add_argument("--as-of", type=_date, help="build as of this day (default: all data)")
    qual = cmd("quality", "print the latest data quality scores per platform, account and "
                          "dimension")
    qual.add_argument("--db", help="read this SQLite file (or a postgresql:// url) instead of "
                                   "the config's database")
    demo = cmd("demo", "start the bundled emulators on loopback and run `once` against them")
    demo.add_argument("--db", default="within-demo.db",
                      help="SQLite file for the demo (default ./within-demo.db)")
    demo.add_argument("--faults", action="store_true",
                      help="switch on throttling, 5xx and bad rows in the emulator")
    return p


def _load_checked(args: argparse.Namespace) -> LoadedConfig:
    """The config, refused (exit 2, one line per problem) if it has any problem.

    The problems are those of :func:`within_daemon.checks.config_problems`, which
    check-config prints and a reload refuses.
    """
    from .checks import config_problems

    loaded = config_of(args)
    warnings: list[str] = []
    problems = config_problems(loaded, warnings=warnings)
    for w in warnings:
        log.warning("%s", w)
    if problems:
        raise ConfigError("\n".join(problems))
    return loaded


def cmd_check_config(args: argparse.Namespace) -> int:
    loaded = _load_checked(args)
    warnings = enforce_config_versions(loaded)
    cfg = loaded.config
    print(f"{loaded.path}: OK")
    for w in warnings:
        print(f"  warning: {w}")
    print(f"  database: {redact(cfg.database.url)}")
    print(f"  metrics:  {cfg.metrics.listen if cfg.metrics.enabled else 'disabled'}")
    for a in cfg.accounts:
        src = loaded.secret_for(a.platform, a.account_id)
        print(f"  account {a.platform}/{a.account_id}: {a.rate_limit:g} req/min, token from "
              f"{src.source if src else 'nowhere (missing)'}")
    from .daemon import all_tasks
    from .pipelines.registry import spec_for

    for t in all_tasks(loaded):
        scope = ("all platforms" if spec_for(t).accountless
                 else f"{len(loaded.accounts_for(t))} {t.platform} account(s)")
        print(f"  task {t.name}: {t.pipeline} {t.cadence} at {t.run_time}, "
              f"lookback {t.lookback_days}d, {scope}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    import json
    import urllib.error
    import urllib.request

    from .daemon.status import describe

    loaded = config_of(args)
    host, _, port = loaded.config.metrics.listen.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    url = f"http://{host}:{port}/status"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            st = json.load(resp)
    except (urllib.error.URLError, OSError) as exc:
        print(f"no daemon answering at {url}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"daemon at {url}: {'stopping' if st['stopping'] else 'serving'}, "
          f"config {st['config']}, {st['reloads']} reload(s)")
    if st.get("cluster"):
        c = st["cluster"]
        print(f"  replica {c['replica_id']}: leases {len(c['leased_accounts'])} account(s)"
              + (f": {', '.join(c['leased_accounts'])}" if c["leased_accounts"] else ""))
    for t in st["tasks"]:
        last = t["last_run"] or {}
        print(f"  task {t['name']:<28} {t['cadence']:<7} running {len(t['running_accounts'])} "
              f"account(s); last: {last.get('status', 'none')} loaded {last.get('loaded', 0)}; "
              f"next: {t.get('next_run') or 'none scheduled'}")
    for a in st["accounts"]:
        print("  " + describe(a))
    return EXIT_OK


def cmd_cluster(args: argparse.Namespace) -> int:
    from .daemon.cluster import cluster_view
    from .loaders import DatabaseLoader

    loaded = config_of(args)

    async def go() -> dict[str, list[dict[str, Any]]]:
        async with DatabaseLoader.from_url(loaded.config.database.url,
                                           base_dir=loaded.base_dir) as db:
            return await cluster_view(db)

    view = anyio.run(go, backend="asyncio")
    if not view["replicas"] and not view["leases"]:
        print("no replicas have registered (cluster mode is off, or no daemon has started)")
        return EXIT_OK
    print(f"{len(view['replicas'])} replica(s):")
    for r in view["replicas"]:
        state = "alive" if r["alive"] else "DEAD (its accounts move once their leases expire)"
        print(f"  {r['replica_id']} on {r['host']} pid {r['pid']}: heartbeat "
              f"{float(r['age']):.1f}s ago, {state}")
    print(f"{len(view['leases'])} account lease(s):")
    for lease in view["leases"]:
        left = float(lease["left_seconds"])
        when = f"expires in {left:.1f}s" if left >= 0 else f"EXPIRED {-left:.1f}s ago"
        print(f"  {lease['resource']}: {lease['holder']} (generation {lease['generation']}, "
              f"{when})")
    return EXIT_OK


def cmd_once(args: argparse.Namespace) -> int:
    from .daemon import run_once

    loaded = _load_checked(args)
    metrics = Metrics()
    enforce_config_versions(loaded, metrics)

    async def go() -> list[TaskResult]:
        return await run_once(loaded, metrics=metrics, task_names=args.task)

    results = anyio.run(go, backend="asyncio")
    print_results(results)
    return exit_code(results)


def cmd_run(args: argparse.Namespace) -> int:
    from .daemon import run_daemon

    loaded = _load_checked(args)
    metrics = Metrics()
    enforce_config_versions(loaded, metrics)

    async def go() -> int:
        return await run_daemon(loaded, metrics=metrics, ready_file=args.ready_file,
                                run_at_start=args.run_at_start)

    return anyio.run(go, backend="asyncio")


def _progress_printer() -> Any:
    tty = sys.stderr.isatty()
    last = [0.0]

    def show(engine: Engine, elapsed: float) -> None:
        runs = list(engine.tracker.runs.values())
        loaded = sum(r.loaded for r in runs)
        days = sum(r.days_completed for r in runs)
        rate = loaded / elapsed if elapsed > 0 else 0.0
        line = f"backfill: {days} day(s) complete, {loaded} records loaded, {rate:,.0f}/s, " \
               f"{elapsed:,.0f}s"
        down = [a for a in engine.account_states() if a["circuit"] != "closed"]
        if down:  # an outage: the backfill waits for it (no budget) until Ctrl-C
            line += f"; platform failing, next probe in {down[0]['next_probe_in_seconds']:.0f}s"
        if tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif elapsed - last[0] >= 5:
            last[0] = elapsed
            print(line, file=sys.stderr, flush=True)

    return show


def cmd_backfill(args: argparse.Namespace) -> int:
    from .daemon import run_backfill

    if args.end < args.start:
        raise ConfigError(f"--to {args.end} is before --from {args.start}")
    loaded = _load_checked(args)
    metrics = Metrics()
    enforce_config_versions(loaded, metrics)

    async def go() -> TaskResult:
        return await run_backfill(
            loaded, metrics=metrics, platform=args.platform, account_id=args.account,
            start=args.start, end=args.end, pipeline=args.pipeline, force=args.force,
            progress=_progress_printer(),
        )

    res = anyio.run(go, backend="asyncio")
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print_results([res])
    for a in res.accounts:
        print(f"days requested {a.days_requested}, skipped (already complete) {a.days_skipped}, "
              f"completed now {a.days_completed}")
    return exit_code([res])


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    explicit = args.config or None
    return anyio.run(lambda: run_demo(Path(args.db), config=explicit, faults=args.faults),
                     backend="asyncio")


COMMANDS = {
    "run": cmd_run, "once": cmd_once, "backfill": cmd_backfill,
    "check-config": cmd_check_config, "demo": cmd_demo, "status": cmd_status,
    "quality": cmd_quality, "train": cmd_train, "features": cmd_features,
    "cluster": cmd_cluster,
}


def main(argv: Sequence[str] | None = None) -> int:
    # Everything a command prints (results, errors, /status, tracebacks) passes the same
    # redaction as the logs: the one place where text leaves for a terminal or a pipe.
    out, err = sys.stdout, sys.stderr
    sys.stdout = RedactingStream.wrap(out)
    sys.stderr = RedactingStream.wrap(err)
    try:
        return _main(argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, json_lines=args.log_json)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        for line in str(exc).splitlines():  # one line per problem
            print(f"config error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except LoaderError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return EXIT_DB
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception:
        log.exception("internal error")
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
