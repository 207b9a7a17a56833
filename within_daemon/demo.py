"""``within-daemon demo``: the bundled Facebook emulator on loopback, then ``once``.

The demo needs no credentials and no network: it serves three sandbox ad accounts from
``within_daemon.sandbox`` on an ephemeral loopback port, points the config at it, runs
every task one time into a local SQLite file and prints what was loaded. ``--faults``
switches on throttling, server errors and invalid rows so the recovery paths show.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from importlib import resources
from pathlib import Path

import msgspec

from .config import LoadedConfig, Secret, load_config, parse_config
from .daemon import run_once
from .observability.metrics import Metrics
from .sandbox import FacebookEmulator

SANDBOX_TOKEN = "sandbox-token"


def demo_config(db: Path, base_url: str, explicit: str | None) -> LoadedConfig:
    """The bundled demo config (or ``explicit``), pointed at the emulator and ``db``."""
    if explicit:
        loaded = load_config(explicit)
    else:
        os.environ.setdefault("WITHIN_SANDBOX_TOKEN", SANDBOX_TOKEN)
        text = resources.files("within_daemon").joinpath("data/demo.toml").read_bytes()
        path = Path.cwd() / "demo.toml"
        cfg = parse_config(text, path)
        secrets: dict[tuple[str, str], Secret | None] = {
            (a.platform, a.account_id): Secret(SANDBOX_TOKEN, "sandbox") for a in cfg.accounts
        }
        loaded = LoadedConfig(path=path, config=cfg, secrets=secrets)
    cfg = loaded.config
    fb = msgspec.structs.replace(cfg.platforms.facebook, base_url=base_url)
    cfg = msgspec.structs.replace(
        cfg,
        platforms=msgspec.structs.replace(cfg.platforms, facebook=fb),
        database=msgspec.structs.replace(cfg.database, url=f"sqlite:///{db.resolve()}"),
    )
    return msgspec.structs.replace(loaded, config=cfg)


def _summary(db: Path) -> None:
    con = sqlite3.connect(db)
    try:
        ads = con.execute("SELECT COUNT(*), COUNT(DISTINCT account_id), COUNT(DISTINCT ad_id), "
                          "MIN(date), MAX(date), ROUND(SUM(spend), 2), SUM(impressions), "
                          "SUM(clicks), SUM(conversions) FROM ad_data").fetchone()
        acc = con.execute("SELECT COUNT(*) FROM account_data").fetchone()[0]
        quar = con.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
        days = con.execute("SELECT COUNT(*) FROM ledger WHERE status = 'complete'").fetchone()[0]
        sample = con.execute("SELECT date, account_id, ad_id, substr(headline, 1, 40), "
                             "impressions, clicks, ROUND(ctr, 4), spend, conversions "
                             "FROM ad_data ORDER BY date DESC, spend DESC LIMIT 3").fetchall()
    finally:
        con.close()
    print()
    print(f"Loaded into {db}:")
    print(f"  ad_data:      {ads[0]} ad-day rows, {ads[2]} ads in {ads[1]} accounts, "
          f"{ads[3]} .. {ads[4]}")
    print(f"                spend {ads[5]}, impressions {ads[6]}, clicks {ads[7]}, "
          f"conversions {ads[8]}")
    print(f"  account_data: {acc} account-day rows")
    print(f"  quarantine:   {quar} rejected records (reason and raw record kept)")
    print(f"  ledger:       {days} complete (task, account, day) entries")
    if sample:
        print("  top rows of the last day:")
        for row in sample:
            print("    " + " | ".join(str(v) for v in row))
    print(f"\nLook inside: sqlite3 {db} 'SELECT * FROM runs'")


async def run_demo(db: Path, *, config: str | None = None, faults: bool = False) -> int:
    """Serve the emulator, run every task once against it, print a summary."""
    emu = FacebookEmulator()
    if faults:
        emu.set_fault("1000000001", "throttle", count=2, path="insights",
                      estimated_time_to_regain_access=0)
        emu.set_fault("1000000002", "server_error", count=3)
        emu.set_fault("1000000003", "bad_rows", every=40)
    async with emu.serve() as base_url:
        print(f"sandbox Facebook Graph API at {base_url}", file=sys.stderr)
        loaded = demo_config(db, base_url, config)
        results = await run_once(loaded, metrics=Metrics())
    from .cli import _exit_for, _print_results

    _print_results(results)
    _summary(db)
    return _exit_for(results)
