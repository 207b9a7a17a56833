"""Audience insights for Google and TikTok end to end: emulator -> run_once -> database.

Both tests run on SQLite and PostgreSQL (the ``db_url`` fixture). The emulators split each
ad group-day (Google) or ad-day (TikTok) into segments that add up to the unsplit rows, so
the stored demographics must add up to the ad rows the same run loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from within_daemon.config import load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.tiktok.server import TikTokEmulator

from .. import dbq

ENRICH = '["audience_insights"]'


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"G_DEV": "sandbox-developer-token", "G_SECRET": "sandbox-client-secret",
                 "G_RT": "rt-direct", "TT_TOKEN": "tt-token"}.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
async def gemu() -> AsyncIterator[GoogleAdsEmulator]:
    emu = GoogleAdsEmulator(stream_batch_size=25)
    async with emu.serve():
        yield emu


@pytest.fixture
async def temu() -> AsyncIterator[TikTokEmulator]:
    emu = TikTokEmulator()
    async with emu.serve() as _base:
        yield emu


def _write(tmp_path: Path, db: str, body: str) -> Path:
    path = tmp_path / "within.toml"
    path.write_text(f'[database]\nurl = "{db}"\n[metrics]\nenabled = false\n'
                    '[runtime]\ntimezone = "Etc/GMT+12"\naccount_jitter_seconds = 0\n' + body)
    return path


async def test_google_demographics_per_ad_group_add_up(
    tmp_path: Path, gemu: GoogleAdsEmulator, db_url: str
) -> None:
    """A Google task with audience_insights stores age and gender rows per ad group."""
    cfg = _write(tmp_path, db_url, f"""
[platforms.google]
base_url = "{gemu.base_url}"
token_url = "{gemu.token_url}"
developer_token = {{ env = "G_DEV" }}
client_id = "sandbox-client-id"
client_secret = {{ env = "G_SECRET" }}
backoff_base_seconds = 0.01
[[accounts]]
platform = "google"
account_id = "5550000001"
refresh_token = {{ env = "G_RT" }}
rate_limit = 60000
[[tasks]]
name = "g"
accounts = ["5550000001"]
lookback_days = 4
enrich = {ENRICH}
""")
    loaded = load_config(cfg)
    with anyio.fail_after(60):
        [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    q = dbq.rows
    assert q(loaded, "SELECT DISTINCT platform, level FROM audience_data") == [
        ("google", "ad_group")]
    # Performance Max rows are campaign-level (no ad group): Google has no demographics
    # for them in age_range_view / gender_view.
    ads = dict(q(loaded, "SELECT ad_group_id || '/' || date, SUM(impressions) FROM ad_data "
                         "WHERE ad_group_id IS NOT NULL GROUP BY ad_group_id, date"))
    for split in ("gender = 'all'", "age = 'all'"):
        got = dict(q(loaded, "SELECT ad_id || '/' || date, SUM(impressions) FROM "
                             f"audience_data WHERE {split} GROUP BY ad_id, date"))
        assert got == ads, split
    bands = {r[0] for r in q(loaded, "SELECT DISTINCT age FROM audience_data")}
    assert "all" in bands and bands - {"all"} <= {
        "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"}
    summaries = q(loaded, "SELECT level, top_age_band, female_share + male_share + "
                          "unknown_gender_share FROM ad_audience_summary")
    assert summaries and all(lv == "ad_group" and band != "all" and abs(total - 1) < 1e-9
                             for lv, band, total in summaries)


async def test_tiktok_demographics_per_ad_add_up(
    tmp_path: Path, temu: TikTokEmulator, db_url: str
) -> None:
    """A TikTok task with audience_insights stores age x gender rows per ad and day."""
    cfg = _write(tmp_path, db_url, f"""
[platforms.tiktok]
base_url = "{temu.base_url}"
page_size = 50
backoff_base_seconds = 0.01
[[accounts]]
platform = "tiktok"
account_id = "7100000000000000001"
access_token = {{ env = "TT_TOKEN" }}
rate_limit = 60000
[[tasks]]
name = "t"
accounts = ["7100000000000000001"]
lookback_days = 4
enrich = {ENRICH}
""")
    loaded = load_config(cfg)
    with anyio.fail_after(60):
        [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    q = dbq.rows
    # An ad-day without impressions has a BASIC row but no audience segment.
    ads = dict(q(loaded, "SELECT ad_id || '/' || date, SUM(impressions) FROM ad_data "
                         "WHERE impressions > 0 GROUP BY ad_id, date"))
    got = dict(q(loaded, "SELECT ad_id || '/' || date, SUM(impressions) FROM audience_data "
                         "WHERE platform = 'tiktok' GROUP BY ad_id, date"))
    assert got == ads and got
    assert q(loaded, "SELECT COUNT(*) FROM audience_data WHERE age = 'all' OR "
                     "gender = 'all'") == [(0,)]
    [(n_ads,)] = q(loaded, "SELECT COUNT(DISTINCT ad_id) FROM ad_data WHERE impressions > 0")
    assert q(loaded, "SELECT COUNT(*), MIN(level) FROM ad_audience_summary") == [
        (n_ads, "ad")]
