"""Migration 9: conversion columns become REAL; old databases keep every row, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.loaders.old_schema import opened_before
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.schema import migrations
from within_daemon.loaders.schema.conversions import CONVERSION_COLUMNS
from within_daemon.schema import ACCOUNT_FIELDS, AD_FIELDS

FETCHED = "2024-03-02T06:00:00+00:00"
DAYS = ("2024-03-04", "2024-03-05")


def ad(i: int, day: str, conversions: float) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="google", account_id="123", ad_id=f"ad{i}", campaign_id="c1", date=day,
             impressions=1000, clicks=40, spend=20.0, conversions=conversions, revenue=50.0,
             currency="USD")
    return r


def account(day: str, conversions: float) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(ACCOUNT_FIELDS)
    r.update(platform="google", account_id="123", currency="USD", timezone="UTC", date=day,
             daily_spend=40.0, daily_impressions=2000, daily_clicks=80,
             daily_conversions=conversions)
    return r


async def column_types(db: DatabaseLoader) -> dict[tuple[str, str], str]:
    """Declared type of every conversion column, upper-cased."""
    out: dict[tuple[str, str], str] = {}
    for table, cols in CONVERSION_COLUMNS.items():
        if db.dialect.name == "sqlite":
            info = await db.fetch_dicts(f"PRAGMA table_info({table})")
            types = {str(r["name"]): str(r["type"]) for r in info}
        else:
            info = await db.fetch_dicts(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?", [table])
            types = {str(r["column_name"]): str(r["data_type"]) for r in info}
        for c in cols:
            out[(table, c)] = types[c].upper()
    return out


async def test_old_database_migrates_and_keeps_rows(db_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A pre-13 database gets REAL conversion columns, keeps its rows, then takes fractions."""
    async with opened_before(monkeypatch, db_url, 13) as old:
        await old.write_batch(run_id="r1", task="t", kind="ad", fetched_at=FETCHED,
                              records=[ad(i, d, 3) for i in range(2) for d in DAYS])
        await old.write_batch(run_id="r1", task="t", kind="account", fetched_at=FETCHED,
                              records=[account(d, 6) for d in DAYS])
        await store.refresh_rollups(old, list(DAYS))
        before = await column_types(old)
        assert set(before.values()) <= {"INTEGER", "BIGINT"}, before
        assert await old.count_rows("schema_migrations") == len(migrations.migrations())

    async with DatabaseLoader.from_url(db_url) as db:
        after = await column_types(db)
        assert set(after.values()) <= {"REAL", "DOUBLE PRECISION"}, after
        assert await db.count_rows("schema_migrations") == len(migrations.migrations())
        rows = await db.fetch_dicts(
            "SELECT ad_id, date, conversions, clicks, attribution_window FROM ad_data "
            "ORDER BY date, ad_id")
        assert [(r["ad_id"], r["date"], r["conversions"], r["clicks"]) for r in rows] == [
            (f"ad{i}", d, 3.0, 40) for d in DAYS for i in range(2)]
        [(total,)] = [tuple(r.values()) for r in await db.fetch_dicts(
            "SELECT SUM(daily_conversions) FROM account_data")]
        assert total == 12.0
        [roll] = await db.fetch_dicts(
            "SELECT conversions, cpa FROM rollup_account_daily WHERE period_start = ?",
            [DAYS[0]])
        assert (roll["conversions"], roll["cpa"]) == (6.0, pytest.approx(40.0 / 6))

        # Fractions now survive the upsert and the rollups (they were refused before).
        await db.write_batch(run_id="r2", task="t", kind="ad", fetched_at=FETCHED,
                             records=[ad(0, DAYS[0], 1.25), ad(1, DAYS[0], 0.5)])
        await store.refresh_rollups(db, [DAYS[0]])
        [roll] = await db.fetch_dicts(
            "SELECT conversions, cpa, conversion_rate FROM rollup_account_daily "
            "WHERE period_start = ?", [DAYS[0]])
        assert roll["conversions"] == pytest.approx(1.75)
        assert roll["cpa"] == pytest.approx(40.0 / 1.75)
        assert roll["conversion_rate"] == pytest.approx(1.75 / 80)
        [week] = await db.fetch_dicts("SELECT conversions FROM rollup_account_weekly")
        assert week["conversions"] == pytest.approx(1.75 + 6.0)
        assert await db.count_rows("ad_data") == 4


async def test_new_database_stores_fractional_conversions(db_url: str) -> None:
    """A fresh database takes 2.75 conversions per ad-day and 0.25 per account-day as is."""
    async with DatabaseLoader.from_url(db_url) as db:
        await db.write_batch(run_id="r", task="t", kind="ad", fetched_at=FETCHED,
                             records=[ad(0, DAYS[0], 2.75)])
        await db.write_batch(run_id="r", task="t", kind="account", fetched_at=FETCHED,
                             records=[account(DAYS[0], 0.25)])
        [r] = await db.fetch_dicts("SELECT conversions FROM ad_data")
        [a] = await db.fetch_dicts("SELECT daily_conversions FROM account_data")
        assert (r["conversions"], a["daily_conversions"]) == (2.75, 0.25)
