"""Google Ads end to end: TOML config -> run_once -> engine -> emulator -> database, exactly.

Every test that loads rows runs on SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

import within_daemon.sources.google.connector  # noqa: F401 - registers the "google" connector
from within_daemon.config import LoadedConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.errors import ConfigError
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.engine import TaskResult
from within_daemon.sandbox.google.server import GoogleAdsEmulator

from .. import dbq

DIRECT, MANAGED, MANAGER = "5550000001", "5550000002", "5559999999"
#: The westernmost zone: its yesterday is over in every customer's zone, so every day of the
#: window is final and gets completed.
RUN_TZ = "Etc/GMT+12"
LOOKBACK = 5


@pytest.fixture
async def gemu() -> AsyncIterator[GoogleAdsEmulator]:
    emu = GoogleAdsEmulator(stream_batch_size=25)
    async with emu.serve():
        yield emu


def write_config(tmp_path: Path, emu: GoogleAdsEmulator, db: str = "sqlite:///x.db",
                 accounts_first: bool = False, enrich: tuple[str, ...] = (),
                 developer_token: bool = True, **google: Any) -> LoadedConfig:
    knobs = {"throttle_pause_seconds": 0.05, "backoff_base_seconds": 0.01,
             "breaker_reset_seconds": 0.2, "window_days": 3, **google}
    lines = [
        "[database]", f'url = "{db}"', "[metrics]", "enabled = false",
        "[runtime]", f'timezone = "{RUN_TZ}"', "account_jitter_seconds = 0",
        "[platforms.google]", f'base_url = "{emu.base_url}"', f'token_url = "{emu.token_url}"',
        *(['developer_token = { env = "G_DEV" }'] if developer_token else []),
        'client_id = "sandbox-client-id"',
        'client_secret = { env = "G_SECRET" }',
        *(f"{k} = {str(v).lower() if isinstance(v, bool) else v!r}".replace("'", '"')
          for k, v in knobs.items()),
        "[[accounts]]", 'platform = "google"', f'account_id = "{DIRECT}"',
        'refresh_token = { env = "G_RT1" }', "rate_limit = 60000",
        "[[accounts]]", 'platform = "google"', f'account_id = "{MANAGED}"',
        f'login_customer_id = "{MANAGER}"', 'refresh_token = { env = "G_RT2" }',
        "rate_limit = 60000",
    ]
    tasks = [
        ["[[tasks]]", 'name = "google_ads"', 'pipeline = "AdDataPipeline"',
         'platform = "google"', f"lookback_days = {LOOKBACK}",
         "enrich = [" + ", ".join(f'"{e}"' for e in enrich) + "]"],
        ["[[tasks]]", 'name = "google_accounts"', 'pipeline = "AccountDataPipeline"',
         'platform = "google"', f"lookback_days = {LOOKBACK}"],
    ]
    for t in (tasks[::-1] if accounts_first else tasks):
        lines += t
    path = tmp_path / "within.toml"
    path.write_text("\n".join(lines) + "\n")
    return load_config(path)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"G_DEV": "sandbox-developer-token", "G_SECRET": "sandbox-client-secret",
                 "G_RT1": "rt-direct", "G_RT2": "rt-managed"}.items():
        monkeypatch.setenv(k, v)


def window() -> tuple[str, str]:
    end = datetime.now(ZoneInfo(RUN_TZ)).date() - timedelta(days=1)
    return (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()


def query(loaded: LoadedConfig, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return dbq.rows(loaded, sql, *args)


async def once(loaded: LoadedConfig) -> list[TaskResult]:
    with anyio.fail_after(30):
        return await run_once(loaded, metrics=Metrics())


async def test_run_once_loads_exact_rows_and_totals(tmp_path: Path, gemu: GoogleAdsEmulator,
                                                    db_url: str) -> None:
    """Both pipelines load every ad-day and customer-day once, with the oracle's totals."""
    loaded = write_config(tmp_path, gemu, db_url)
    ads_res, acct_res = await once(loaded)
    since, until = window()
    assert (ads_res.status, acct_res.status) == ("success", "success")
    for cid in (DIRECT, MANAGED):
        want = gemu.expected_totals(cid, since, until)
        [(n, spend, clicks, imp, conv)] = query(
            loaded, "SELECT COUNT(*), SUM(spend), SUM(clicks), SUM(impressions), "
            "SUM(conversions) FROM ad_data WHERE platform='google' AND account_id=?", cid)
        assert (n, round(spend, 2), clicks, imp, round(conv, 2)) == (
            want["rows"], want["spend"], want["clicks"], want["impressions"],
            round(want["conversions"], 2))
        days = query(loaded, "SELECT date, daily_spend, daily_impressions, campaign_count, "
                     "ad_count, daily_conversions FROM account_data WHERE account_id=? "
                     "ORDER BY date", cid)
        assert len(days) == LOOKBACK
        assert round(sum(d[1] for d in days), 2) == want["spend"]
        assert sum(d[2] for d in days) == want["impressions"]
        assert {d[0]: (d[3], d[4]) for d in days} == want["active"]
        assert round(sum(d[5] for d in days), 2) == round(want["conversions"], 2)
        # Performance Max: campaign-level rows, marked in ad_id, no ad group, no creative.
        [(pmax, groups, texts)] = query(
            loaded, "SELECT COUNT(*), COUNT(ad_group_id), COUNT(headline) FROM ad_data "
            "WHERE account_id=? AND ad_id LIKE 'campaign:%'", cid)
        assert (pmax, groups, texts) == (want["pmax_rows"], 0, 0) and pmax > 0
    assert ads_res.fetched == ads_res.loaded == sum(
        gemu.expected_totals(c, since, until)["rows"] for c in (DIRECT, MANAGED))
    assert query(loaded, "SELECT COUNT(*) FROM ledger WHERE status='complete'") == [
        (2 * 2 * LOOKBACK,)]
    assert query(loaded, "SELECT COUNT(*) FROM quarantine") == [(0,)]
    [(currency,)] = query(loaded, "SELECT DISTINCT currency FROM ad_data WHERE account_id=?",
                          MANAGED)
    assert currency == "EUR"
    assert gemu.refreshes == 2  # one token per account, reused by both tasks


async def test_fractional_conversions_reconcile_end_to_end(
        tmp_path: Path, gemu: GoogleAdsEmulator, db_url: str) -> None:
    """Fractions and PMax rows add up to the customer totals (no drift); PMax gets no creative."""
    loaded = write_config(tmp_path, gemu, db_url, accounts_first=True,
                          enrich=("sentiment", "historical_performance"))
    results = await once(loaded)
    assert [r.status for r in results] == ["success", "success"]
    since, until = window()
    for cid in (DIRECT, MANAGED):
        want = gemu.expected_totals(cid, since, until)["conversions"]
        assert want != round(want)  # the oracle's total is fractional
        [(rolled, cpa, spend)] = query(
            loaded, "SELECT SUM(conversions), SUM(spend) / SUM(conversions), SUM(spend) "
            "FROM rollup_account_daily WHERE platform='google' AND account_id=?", cid)
        assert rolled == pytest.approx(want)
        assert cpa == pytest.approx(spend / want)
        [(n, passed, issues)] = query(
            loaded, "SELECT COUNT(*), MAX(passed), MAX(issues_json) FROM quality_reports "
            "WHERE account_id=? AND dimension='consistency'", cid)
        assert n >= 1 and passed == 1, issues
        assert "account_totals" not in (issues or ""), issues
        [(creatives, pmax_creatives)] = query(
            loaded, "SELECT COUNT(*), SUM(CASE WHEN ad_id LIKE 'campaign:%' THEN 1 ELSE 0 END) "
            "FROM ad_creative_features WHERE account_id=?", cid)
        assert creatives == 12 and pmax_creatives == 0
        [(hist,)] = query(loaded, "SELECT COUNT(*) FROM ad_history WHERE account_id=? "
                          "AND ad_id LIKE 'campaign:%'", cid)
        assert hist == gemu.expected_totals(cid, since, until)["pmax_rows"]
        # The feature store's account conversion rate on the last day: the fractional sums
        # (PMax included) of the days before it.
        [(conv, clicks)] = query(loaded, "SELECT SUM(conversions), SUM(clicks) FROM ad_data "
                                 "WHERE account_id=? AND date < ?", cid, until)
        [(cvr,)] = query(loaded, "SELECT value_real FROM feature_online WHERE entity='account' "
                         "AND feature='acct_cvr_7d' AND entity_key LIKE ?", f"%{cid}%")
        assert conv != round(conv) and cvr == pytest.approx(conv / clicks)


async def test_runs_without_a_developer_token(tmp_path: Path, gemu: GoogleAdsEmulator,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """No developer_token configured: no header is sent, nothing is warned, all rows load."""
    loaded = write_config(tmp_path, gemu, developer_token=False)
    with caplog.at_level(logging.INFO):
        ads_res, acct_res = await once(loaded)
    assert (ads_res.status, acct_res.status) == ("success", "success")
    calls = [r for r in gemu.stats.recent if r.kind != "token"]
    assert calls and all("developer-token" not in r.query for r in calls)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING
                and r.name.startswith("within_daemon.sources")]


async def test_a_version_that_refuses_the_developer_token_names_the_setting(
        tmp_path: Path) -> None:
    """An API version refusing the header fails the account with the setting to remove."""
    emu = GoogleAdsEmulator(developer_token_policy="rejected")
    async with emu.serve():
        ads_res, _ = await once(write_config(tmp_path, emu))
    errors = {a.error for a in ads_res.accounts}
    assert ads_res.status == "failed" and len(errors) == 1
    assert "[platforms.google] developer_token" in str(errors.pop())


async def test_parked_account_beside_a_healthy_one(tmp_path: Path, gemu: GoogleAdsEmulator,
                                                   db_url: str) -> None:
    """A daily-quota account is parked (no days complete) while the other loads fully."""
    gemu.set_fault(MANAGED, "quota_exhausted", rate_scope="ACCOUNT")
    loaded = write_config(tmp_path, gemu, db_url)
    ads_res, _ = await once(loaded)
    by = {a.account_id: a for a in ads_res.accounts}
    since, until = window()
    assert ads_res.status == "partial"
    assert by[DIRECT].status == "success"
    assert by[DIRECT].loaded == gemu.expected_totals(DIRECT, since, until)["rows"]
    assert by[MANAGED].status == "failed" and "paused" in (by[MANAGED].error or "")
    assert query(loaded, "SELECT COUNT(*) FROM ledger WHERE account_id=?", MANAGED) == [(0,)]
    # One refused request in the whole run: the account task found the account still parked
    # (the engine keeps one connector per account) and sent nothing.
    assert gemu.stats.count(account_id=MANAGED, status=429) == 1
    assert gemu.stats.count(account_id=MANAGED, status=200) == 0


async def test_missing_client_secret_is_a_config_error(tmp_path: Path,
                                                       gemu: GoogleAdsEmulator,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the connector without client_secret names the missing key."""
    from within_daemon.sources.registry import build_connector

    loaded = write_config(tmp_path, gemu)
    loaded.other_secrets.pop("platforms.google.client_secret")
    with pytest.raises(ConfigError, match="platforms.google.client_secret"):
        build_connector(loaded.config.accounts[0], loaded, None, Metrics())  # type: ignore[arg-type]
