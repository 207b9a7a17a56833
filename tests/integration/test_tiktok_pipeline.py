"""TikTok end to end through the real engine: config file -> run_once -> database, exact.

The loading test runs on SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import anyio
import pytest

from within_daemon.config import LoadedConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.errors import ConfigError
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.tiktok.server import TikTokEmulator
from within_daemon.sources import build_connector
from within_daemon.sources.tiktok import connector as _connector  # noqa: F401  (registers "tiktok")

from .. import dbq

LA, BERLIN = "7100000000000000001", "7100000000000000002"
LOOKBACK = 5


def write_config(tmp_path: Path, base_url: str, accounts: list[str], *,
                 with_token: bool = True, db: str = "sqlite:///x.db") -> Path:
    token = 'access_token = { env = "TT_TOKEN" }\n' if with_token else ""
    acct = "\n".join(
        f'[[accounts]]\nplatform = "tiktok"\naccount_id = "{a}"\n{token}rate_limit = 60000\n'
        for a in accounts
    )
    text = f"""
[database]
url = "{db}"

[metrics]
enabled = false

[runtime]
timezone = "America/Los_Angeles"

[platforms.tiktok]
base_url = "{base_url}"
page_size = 20
throttle_pause_seconds = 0.02
backoff_base_seconds = 0.01
max_pace_delay_seconds = 0.02
breaker_reset_seconds = 0.2

{acct}
[[tasks]]
name = "tiktok_ads"
pipeline = "AdDataPipeline"
platform = "tiktok"
lookback_days = {LOOKBACK}

[[tasks]]
name = "tiktok_accounts"
pipeline = "AccountDataPipeline"
platform = "tiktok"
lookback_days = {LOOKBACK}
"""
    path = tmp_path / "within.toml"
    path.write_text(text)
    return path


def window() -> tuple[str, str]:
    end = datetime.now(ZoneInfo("America/Los_Angeles")).date() - timedelta(days=1)
    return (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()


def query(loaded: LoadedConfig, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return dbq.rows(loaded, sql, *args)


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TikTokEmulator]:
    monkeypatch.setenv("TT_TOKEN", "tt-token-0123456789")
    e = TikTokEmulator()
    async with e.serve():
        yield e


async def test_run_once_loads_exact_rows_and_totals(emu: TikTokEmulator, tmp_path: Path,
                                                    db_url: str) -> None:
    """Ad and account tasks for two advertisers load every row once with exact totals."""
    loaded = load_config(write_config(tmp_path, emu.base_url, [LA, BERLIN], db=db_url))
    with anyio.fail_after(30):
        results = await run_once(loaded, metrics=Metrics())
    assert [r.status for r in results] == ["success", "success"], [
        a.error for r in results for a in r.accounts]
    since, until = window()
    for adv in (LA, BERLIN):
        want = emu.expected_totals(adv, since, until)
        [(rows, spend, clicks, imps, revenue)] = query(
            loaded, "SELECT COUNT(*), SUM(spend), SUM(clicks), SUM(impressions), SUM(revenue) "
            "FROM ad_data WHERE platform='tiktok' AND account_id=?", adv)
        assert rows == emu.expected_rows(adv, since, until)
        # Purchase value is total_complete_payment_rate (a value despite its name).
        assert round(revenue, 2) == want["revenue"] > 0
        [(daily_rev, roas_rows)] = query(
            loaded, "SELECT SUM(daily_revenue), COUNT(daily_roas) FROM account_data"
            " WHERE account_id=?", adv)
        assert round(daily_rev, 2) == want["revenue"] and roas_rows == LOOKBACK
        assert (round(spend, 2), clicks, imps) == (want["spend"], want["clicks"],
                                                   want["impressions"])
        days = query(loaded, "SELECT date, daily_spend, daily_clicks, campaign_count, ad_count, "
                     "currency FROM account_data WHERE account_id=? ORDER BY date", adv)
        assert len(days) == LOOKBACK
        assert round(sum(d[1] for d in days), 2) == want["spend"]
        counts = emu.expected_counts(adv, since, until)
        assert {d[0]: (d[3], d[4]) for d in days} == counts
        assert {d[5] for d in days} == {emu.advertisers[adv].currency}
    assert query(loaded, "SELECT COUNT(*) FROM ledger WHERE status='complete'") == [
        (LOOKBACK * 2 * 2,)]
    assert query(loaded, "SELECT COUNT(*) FROM quarantine") == [(0,)]
    [(deleted,)] = query(loaded, "SELECT COUNT(DISTINCT ad_id) FROM ad_data "
                         "WHERE status='deleted' AND headline IS NOT NULL")
    assert deleted == 3  # one deleted ad in LA's 12, two in Berlin's 18


async def test_missing_token_is_a_config_error(emu: TikTokEmulator, tmp_path: Path) -> None:
    """An account without an access token fails to build with a ConfigError naming it."""
    loaded = load_config(write_config(tmp_path, emu.base_url, [LA], with_token=False))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigError, match=f"tiktok/{LA} access_token"):
            build_connector(loaded.config.accounts[0], loaded, session, Metrics())
