"""Which package files one Facebook record's path runs through, tick to feature store.

One scheduled ``AdDataPipeline`` task (destination ``feature_store``, one Facebook account on
the emulator, a SQLite file) is started with ``Service.on_tick`` and awaited; ``sys.setprofile``
notes the file of every function of ``within_daemon`` that runs meanwhile, the sandbox
excluded (it stands for the platform). ``tasks/scheduler.py`` sends the tick and is not in
the count. This counts files, not time: run it as
``python bench/record_path.py [--list]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import anyio

import within_daemon
from within_daemon.config import load_config
from within_daemon.daemon import Service, open_database
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.engine import open_engine
from within_daemon.sandbox import FacebookEmulator, default_accounts

PKG = Path(within_daemon.__file__).resolve().parent
TOKEN_ENV = "WITHIN_BENCH_TOKEN"


def config_text(base_url: str, db: Path, account_id: str) -> str:
    return f"""
[database]
url = "sqlite:///{db}"

[metrics]
enabled = false

[runtime]
timezone = "America/Los_Angeles"

[platforms.facebook]
base_url = "{base_url}"
poll_interval_seconds = 0.01

[[accounts]]
platform = "facebook"
account_id = "{account_id}"
access_token = {{ env = "{TOKEN_ENV}" }}
rate_limit = 60000

[[tasks]]
name = "ads"
pipeline = "AdDataPipeline"
lookback_days = 3
destination = "feature_store"
"""


async def run(tmp: Path) -> set[str]:
    account = default_accounts()[0]
    emu = FacebookEmulator([account], job_step=50)
    seen: set[str] = set()
    pkg = str(PKG)
    sandbox = str(PKG / "sandbox")

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            f = frame.f_code.co_filename
            if f.startswith(pkg) and not f.startswith(sandbox):
                seen.add(f)

    async with emu.serve():
        cfg = tmp / "within.toml"
        cfg.write_text(config_text(emu.base_url, tmp / "within.db", account.account_id))
        loaded = load_config(cfg)
        metrics = Metrics()
        svc = Service(loaded, metrics)
        db = await open_database(loaded)
        try:
            async with open_engine(loaded, db, metrics=metrics) as engine:
                svc.db, svc.engine = db, engine
                sys.setprofile(profile)
                try:
                    # The task group ends when the whole run has (post-load steps too; an
                    # account leaves ``svc.running`` as soon as its own pull is committed).
                    with anyio.fail_after(120):
                        async with anyio.create_task_group() as work:
                            svc.work = work
                            svc.on_tick("ads", jitter=False)
                finally:
                    sys.setprofile(None)
        finally:
            await db.close()
    status = svc.last.get("ads", {}).get("status")
    if status != "success":
        raise SystemExit(f"the task did not succeed: {svc.last}")
    return {str(Path(f).relative_to(PKG)) for f in seen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print the files too")
    args = ap.parse_args()
    os.environ.setdefault(TOKEN_ENV, "bench-token")
    with tempfile.TemporaryDirectory() as d:
        files = anyio.run(run, Path(d))
    if args.list:
        for f in sorted(files):
            print(f)
    print(f"{len(files)} files of within_daemon (sandbox excluded) run for one Facebook task")


if __name__ == "__main__":
    main()
