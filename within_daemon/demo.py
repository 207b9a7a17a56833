"""``within-daemon demo``: the bundled Facebook emulator on loopback, then ``once``.

The demo needs no credentials and no network: it serves three sandbox ad accounts from
``within_daemon.sandbox`` on an ephemeral loopback port, points the config at it, runs
every task one time into a local SQLite file and prints what was loaded. ``--faults``
switches on throttling, server errors and invalid rows so the recovery paths show.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import msgspec

from .config import LoadedConfig, load_config, parse_config, resolve_config
from .daemon import run_once
from .observability.metrics import Metrics
from .pipelines.results import exit_code, print_results
from .sandbox import FacebookEmulator
from .sandbox.amazon.server import CLIENT_ID as AMAZON_CLIENT_ID
from .sandbox.amazon.server import CLIENT_SECRET as AMAZON_CLIENT_SECRET
from .sandbox.amazon.server import AmazonEmulator
from .sandbox.google.server import GoogleAdsEmulator
from .sandbox.images import ImageServer
from .sandbox.tiktok.server import TikTokEmulator

SANDBOX_TOKEN = "sandbox-token"


#: Secrets the bundled demo config references, with the emulators' sandbox values.
SANDBOX_ENV = {
    "WITHIN_SANDBOX_TOKEN": SANDBOX_TOKEN,
    "WITHIN_SANDBOX_GOOGLE_DEV_TOKEN": "sandbox-developer-token",
    "WITHIN_SANDBOX_GOOGLE_CLIENT_ID": "sandbox-client-id",
    "WITHIN_SANDBOX_GOOGLE_CLIENT_SECRET": "sandbox-client-secret",
    "WITHIN_SANDBOX_AMAZON_CLIENT_ID": AMAZON_CLIENT_ID,
    "WITHIN_SANDBOX_AMAZON_CLIENT_SECRET": AMAZON_CLIENT_SECRET,
}


def demo_config(db: Path, urls: dict[str, tuple[str, str]], explicit: str | None) -> LoadedConfig:
    """The bundled demo config (or ``explicit``), pointed at the emulators and ``db``.

    ``urls`` maps a platform to its emulator's (base_url, token_url).
    """
    for k, v in SANDBOX_ENV.items():
        os.environ.setdefault(k, v)
    if explicit:
        cfg = load_config(explicit).config
        path = Path(explicit).resolve()
    else:
        text = resources.files("within_daemon").joinpath("data/demo.toml").read_bytes()
        path = Path.cwd() / "demo.toml"
        cfg = parse_config(text, path)
    platforms = cfg.platforms
    for name, (base, token) in urls.items():
        section = platforms.get(name)
        kw: dict[str, str] = {"base_url": base}
        if token:
            kw["token_url"] = token
        platforms = msgspec.structs.replace(
            platforms, **{name: msgspec.structs.replace(section, **kw)})
    drop = db.resolve().parent / "within-demo-drop"
    write_drop_file(drop)
    platforms = msgspec.structs.replace(platforms, internal=msgspec.structs.replace(
        platforms.internal, drop_folder=str(drop)))
    cfg = msgspec.structs.replace(
        cfg, model_store=msgspec.structs.replace(
            cfg.model_store, root=str(db.resolve().parent / "within-demo-models")),
        platforms=platforms,
        database=msgspec.structs.replace(cfg.database, url=f"sqlite:///{db.resolve()}"),
    )
    return resolve_config(cfg, path)


def write_drop_file(folder: Path, days: int = 14) -> Path:
    """A CSV export of internal (newsletter) ads, as a team would drop it for the daemon."""
    folder.mkdir(parents=True, exist_ok=True)
    end = datetime.now(UTC).date() - timedelta(days=1)
    path = folder / f"newsletter-{end.isoformat()}.csv"
    lines = ["creative_id,team,campaign,title,day,views,clicks,cost,orders,order_value"]
    titles = ("Weekly picks: 20% off hiking gear", "New arrivals in home decor",
              "Last chance: free shipping ends today", "Meet our coffee of the month")
    for i in range(days):
        day = (end - timedelta(days=i)).isoformat()
        for c, title in enumerate(titles):
            views = 4000 + 97 * ((i * 7 + c * 13) % 31)
            clicks = views // (40 + c * 5)
            lines.append(f"nl-{c + 1},newsletter,nl-weekly,\"{title}\",{day},{views},{clicks},"
                         f"{clicks * 0.05:.2f},{clicks // 12},{clicks // 12 * 42.5:.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _summary(db: Path) -> None:
    con = sqlite3.connect(db)
    try:
        # Conversions are fractional (modelled and shared credit), so their float sum is
        # rounded like spend rather than printed with binary noise.
        ads = con.execute("SELECT COUNT(*), COUNT(DISTINCT account_id), COUNT(DISTINCT ad_id), "
                          "MIN(date), MAX(date), ROUND(SUM(spend), 2), SUM(impressions), "
                          "SUM(clicks), ROUND(SUM(conversions), 2) FROM ad_data").fetchone()
        acc = con.execute("SELECT COUNT(*) FROM account_data").fetchone()[0]
        per_platform = con.execute(
            "SELECT platform, COUNT(*), COUNT(DISTINCT account_id), COUNT(DISTINCT ad_id), "
            "GROUP_CONCAT(DISTINCT currency), ROUND(SUM(spend), 2) FROM ad_data "
            "GROUP BY platform ORDER BY platform").fetchall()
        quar = con.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
        days = con.execute("SELECT COUNT(*) FROM ledger WHERE status = 'complete'").fetchone()[0]
        sample = con.execute("SELECT date, account_id, ad_id, substr(headline, 1, 40), "
                             "impressions, clicks, ROUND(ctr, 4), spend, conversions "
                             "FROM ad_data ORDER BY date DESC, spend DESC LIMIT 3").fetchall()
        feats = con.execute("SELECT COUNT(*), SUM(image_status = 'ok'), "
                            "COUNT(DISTINCT topic) FROM ad_creative_features").fetchone()
        feat_sample = con.execute(
            "SELECT substr(h.headline, 1, 34), f.topic, ROUND(f.topic_confidence, 2), "
            "ROUND(f.sentiment_compound, 2), f.discount_percent_max, "
            "f.image_width || 'x' || f.image_height, ROUND(f.image_brightness, 2) "
            "FROM ad_creative_features f JOIN (SELECT ad_id, MAX(headline) AS headline "
            "FROM ad_data GROUP BY ad_id) h ON h.ad_id = f.ad_id LIMIT 3").fetchall()
        unified = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT platform), ROUND(SUM(spend_reporting), 2), "
            "MAX(reporting_currency) FROM unified_ad_data").fetchone()
        audience = con.execute("SELECT COUNT(*), (SELECT COUNT(*) FROM ad_audience_summary), "
                               "(SELECT top_age_band FROM ad_audience_summary GROUP BY 1 "
                               "ORDER BY COUNT(*) DESC LIMIT 1) FROM audience_data").fetchone()
        hist = con.execute("SELECT COUNT(*), COUNT(ad_ctr_7d) FROM ad_history").fetchone()
        bench = con.execute("SELECT COUNT(*), COUNT(ctr_percentile) FROM ad_benchmarks"
                            ).fetchone()
        rollups = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in (
            "rollup_campaign_daily", "rollup_account_weekly", "rollup_account_monthly",
            "rollup_platform_monthly")}
        quality = con.execute(
            "SELECT dimension, ROUND(MIN(score), 3), SUM(passed = 0) FROM quality_reports "
            "WHERE id IN (SELECT MAX(id) FROM quality_reports GROUP BY platform, account_id, "
            "dimension) GROUP BY dimension ORDER BY dimension").fetchall()
    finally:
        con.close()
    print()
    print(f"Loaded into {db}:")
    print(f"  ad_data:      {ads[0]} ad-day rows, {ads[2]} ads in {ads[1]} accounts, "
          f"{ads[3]} .. {ads[4]}")
    print(f"                spend {ads[5]}, impressions {ads[6]}, clicks {ads[7]}, "
          f"conversions {ads[8]}")
    for platform, rows, accounts, ads, currencies, spend in per_platform:
        print(f"    {platform:<9} {rows:>6} ad-day rows, {ads:>4} ads in {accounts} accounts, "
              f"spend {spend} ({currencies})")
    print(f"  account_data: {acc} account-day rows")
    print(f"  unified_ad_data: {unified[0]} rows from {unified[1]} platforms, spend "
          f"{unified[2]} {unified[3]} (converted with [reporting] fx_rates, originals kept)")
    print(f"  quarantine:   {quar} rejected records (reason and raw record kept)")
    print(f"  ledger:       {days} complete (task, account, day) entries")
    if sample:
        print("  top rows of the last day:")
        for row in sample:
            print("    " + " | ".join(str(v) for v in row))
    print(f"  ad_creative_features: {feats[0]} creatives enriched ({feats[1] or 0} images "
          f"analysed, {feats[2]} topics), e.g. headline | topic | confidence | sentiment | "
          "discount % | image | brightness:")
    for row in feat_sample:
        print("    " + " | ".join(str(v) for v in row))
    print(f"  ad_history:   {hist[0]} ad-days with rolling 7/28-day features "
          f"({hist[1]} with a 7-day CTR)")
    print(f"  ad_benchmarks: {bench[0]} ad-days ranked within platform and topic "
          f"({bench[1]} with a CTR percentile)")
    print(f"  audience:     {audience[0]} age x gender rows, {audience[1]} ads summarised "
          f"(most common top age band {audience[2]})")
    print("  rollups:      " + ", ".join(f"{t.removeprefix('rollup_')} {n}"
                                          for t, n in rollups.items()))
    if quality:
        print("  quality (worst account): " + ", ".join(
            f"{d} {s}" + (f" ({f} failing)" if f else "") for d, s, f in quality))
    models = db.resolve().parent / "within-demo-models"
    for manifest in sorted(models.glob("*/*/manifest.json")):
        info = json.loads(manifest.read_text())
        rows = {k: v["rows"] for k, v in info.get("splits", {}).items()}
        split = ", ".join(f"{k} {v}" for k, v in rows.items())
        print(f"  training dataset {info.get('dataset')} v{info.get('version')}: "
              f"{sum(rows.values())} rows ({split}), {len(info.get('features', []))} features,"
              f" label: {str(info.get('label_definition', ''))[:70]}")
        print(f"    {manifest.parent}")
    print(f"\nLook inside: sqlite3 {db} 'SELECT * FROM runs'")


async def run_demo(db: Path, *, config: str | None = None, faults: bool = False) -> int:
    """Serve the emulator, run every task once against it, print a summary."""
    images = ImageServer()
    async with images.serve() as image_base:
        return await _run_demo(db, config=config, faults=faults, image_base=image_base)


async def _run_demo(db: Path, *, config: str | None, faults: bool, image_base: str) -> int:
    fb = FacebookEmulator(image_base_url=image_base)
    google, amazon, tiktok = GoogleAdsEmulator(), AmazonEmulator(), TikTokEmulator()
    if faults:
        fb.set_fault("1000000001", "throttle", count=2, path="insights",
                     estimated_time_to_regain_access=0)
        fb.set_fault("1000000002", "server_error", count=3)
        fb.set_fault("1000000003", "bad_rows", every=40)
        google.set_fault("5550000001", "expired_token", count=1)
        tiktok.set_fault("7100000000000000001", "throttle", count=2)
        amazon.set_fault(None, "throttle", count=2, path="status", retry_after=1)
    async with fb.serve() as fb_url, google.serve() as g_url, amazon.serve() as a_url, \
            tiktok.serve() as t_url:
        print(f"sandbox APIs on loopback: facebook {fb_url}, google {g_url}, amazon {a_url}, "
              f"tiktok {t_url}", file=sys.stderr)
        urls = {"facebook": (fb_url, ""), "google": (g_url, google.token_url),
                "amazon": (a_url, amazon.token_url), "tiktok": (t_url, "")}
        loaded = demo_config(db, urls, config)
        results = await run_once(loaded, metrics=Metrics())

    print_results(results)
    _summary(db)
    return exit_code(results)
