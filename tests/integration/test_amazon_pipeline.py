"""Amazon end to end: TOML config -> real engine -> emulator over sockets -> database.

Runs on SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

import within_daemon.sources.amazon.connector  # noqa: F401 - registers the connector
from within_daemon.config import LoadedConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.amazon.server import AmazonEmulator

from .. import dbq

US, CA = "3000000001", "3000000002"
LOOKBACK = 5


def config_text(emu: AmazonEmulator, db: str = "sqlite:///x.db") -> str:
    accounts = "".join(
        f'\n[[accounts]]\nplatform = "amazon"\naccount_id = "{pid}"\n'
        'refresh_token = { env = "WITHIN_TEST_AMZ_REFRESH" }\nrate_limit = 60000\n'
        for pid in (US, CA)
    )
    tasks = "".join(
        f'\n[[tasks]]\nname = "{name}"\npipeline = "{pipeline}"\nplatform = "amazon"\n'
        f"lookback_days = {LOOKBACK}\n"
        for name, pipeline in (("amazon_ads", "AdDataPipeline"),
                               ("amazon_accounts", "AccountDataPipeline"))
    )
    return f"""
[database]
url = "{db}"

[metrics]
enabled = false

[runtime]
timezone = "America/Los_Angeles"

[platforms.amazon]
base_url = "{emu.base_url}"
token_url = "{emu.token_url}"
client_id = {{ env = "WITHIN_TEST_AMZ_CLIENT_ID" }}
client_secret = {{ env = "WITHIN_TEST_AMZ_CLIENT_SECRET" }}
attribution_window = "14d"
poll_interval_seconds = 0.01
backoff_base_seconds = 0.01
throttle_pause_seconds = 0.01
breaker_reset_seconds = 0.2
stall_seconds = 5.0
{accounts}{tasks}"""


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AmazonEmulator]:
    emulator = AmazonEmulator()
    monkeypatch.setenv("WITHIN_TEST_AMZ_REFRESH", "Atzr|pipeline")
    monkeypatch.setenv("WITHIN_TEST_AMZ_CLIENT_ID", emulator.client_id)
    monkeypatch.setenv("WITHIN_TEST_AMZ_CLIENT_SECRET", emulator.client_secret)
    async with emulator.serve():
        yield emulator


def query(loaded: LoadedConfig, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return dbq.rows(loaded, sql, *args)


async def test_ad_and_account_tasks_load_exact_rows_and_totals(
    emu: AmazonEmulator, tmp_path: Path, db_url: str
) -> None:
    """run_once loads every Amazon ad-day and account-day row with the oracle's totals."""
    path = tmp_path / "within.toml"
    path.write_text(config_text(emu, db_url))
    loaded = load_config(path)
    with anyio.fail_after(30):
        ads, accounts = await run_once(loaded, metrics=Metrics())
    end = datetime.now(ZoneInfo("America/Los_Angeles")).date() - timedelta(days=1)
    since, until = (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()
    assert (ads.status, accounts.status) == ("success", "success"), (ads, accounts)
    want_rows = sum(emu.expected_rows(p, since, until, "all_ads") for p in (US, CA))
    assert ads.fetched == ads.loaded == want_rows and ads.quarantined == 0
    for pid, currency in ((US, "USD"), (CA, "CAD")):
        # Sponsored Products (14d configured) + Brands + Display: the console's totals.
        want = emu.console_totals(pid, since, until, window="14d")
        [(n, spend, clicks, imp, conv, rev, cur)] = query(
            loaded, "SELECT COUNT(*), SUM(spend), SUM(clicks), SUM(impressions), "
            "SUM(conversions), SUM(revenue), MIN(currency) FROM ad_data "
            "WHERE platform = 'amazon' AND account_id = ? AND date BETWEEN ? AND ?",
            pid, since, until)
        assert n == emu.expected_rows(pid, since, until, "all_ads")
        assert (round(spend, 2), clicks, imp) == (want["spend"], want["clicks"],
                                                  want["impressions"])
        assert (conv, round(rev, 2), cur) == (want["purchases"], want["sales"], currency)
        [(days, a_spend, a_imp, camps)] = query(
            loaded, "SELECT COUNT(*), SUM(daily_spend), SUM(daily_impressions), "
            "MIN(campaign_count) FROM account_data WHERE platform = 'amazon' AND "
            "account_id = ?", pid)
        # Account totals are the console's too, so ad sums and account totals agree.
        assert (days, round(a_spend, 2), a_imp) == (LOOKBACK, want["spend"],
                                                    want["impressions"])
        assert camps >= 1
    [(complete,)] = query(loaded, "SELECT COUNT(*) FROM ledger WHERE platform = 'amazon' "
                                  "AND status = 'complete'")
    assert complete == 2 * 2 * LOOKBACK  # 2 profiles x (ad, account) x days
    # The configured window (14d here) is recorded with every row it counted conversions by.
    assert query(loaded, "SELECT DISTINCT attribution_window FROM ad_data") == [("14d",)]
