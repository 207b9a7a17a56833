"""The fast rollup refresh gives the same tables as the reference rollup SQL over ad_data.

Every test runs on SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import anyio

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.analytics import refresh_rollups, sql_dialect
from within_daemon.loaders.rollups import rollup_params, rollup_sql
from within_daemon.loaders.schema.rollups import ROLLUP_TABLES
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.aggregation import ROLLUP_GRAIN, touched_periods


def rec(platform: str, account: str, campaign: str, ad: str, day: str, currency: str,
        i: int) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform=platform, account_id=account, campaign_id=campaign, ad_id=ad, date=day,
             currency=currency, impressions=100 + i, clicks=i % 7, spend=round(1.5 * i, 2),
             conversions=i % 3, revenue=2.25 * (i % 5) if i % 4 else None)
    return r


def same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) or isinstance(v, float):
                if u is None or v is None or not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif u != v:
                return False
    return True


def records() -> list[dict[str, Any]]:
    """Jan 20 .. Mar 4 2024 for three accounts: weeks across two month boundaries."""
    start = date(2024, 1, 20)
    out = []
    i = 0
    for d in range(45):
        day = (start + timedelta(days=d)).isoformat()
        for platform, account, currency in (("facebook", "1", "USD"), ("google", "2", "EUR"),
                                            ("google", "3", "EUR")):
            for ad in range(4):
                if (d + ad) % 5 == 0:
                    continue  # ads that skip days make distinct counts differ per period
                i += 1
                out.append(rec(platform, account, f"c{ad % 2}", f"a{ad}", day, currency, i))
    return out


async def table_rows(db: DatabaseLoader, table: str) -> list[tuple[Any, ...]]:
    cols = [c for c, _ in ROLLUP_TABLES[table][0]]
    rows = await db.fetch_dicts(f"SELECT {', '.join(cols)} FROM {table}")
    return sorted(tuple(r[c] for c in cols) for r in rows)


async def check_against_reference(db: DatabaseLoader, touched: list[str]) -> None:
    dialect = sql_dialect(db)
    for table, (by, period) in ROLLUP_GRAIN.items():
        starts = sorted(touched_periods(touched, period))
        cols = [c for c, _ in ROLLUP_TABLES[table][0]]
        want = await db.fetch_dicts(rollup_sql(by, period, dialect),
                                    rollup_params(starts, period, dialect))
        marks = ", ".join("?" * len(starts))
        got = await db.fetch_dicts(
            f"SELECT * FROM {table} WHERE period_start IN ({marks}) ORDER BY "
            + ", ".join(ROLLUP_TABLES[table][1]), starts)
        assert len(want) == len(got) > 0, table
        assert same([tuple(r[c] for c in cols) for r in got],
                    [tuple(r[c] for c in cols) for r in want]), table


async def temp_tables(db: DatabaseLoader) -> list[str]:
    if db.dialect.name == "sqlite":
        sql = "SELECT name FROM temp.sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname LIKE 'pg_temp%'"
    return [r["name"] for r in await db.fetch_dicts(sql)
            if str(r["name"]).startswith("rollup_ad_period")]


async def test_fast_refresh_matches_reference_sql(db_url: str) -> None:
    """Every rollup table equals rollup_sql's answer, across weeks that straddle months."""
    recs = records()
    async with DatabaseLoader.from_url(db_url) as db:
        await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                             fetched_at="2024-03-05T00:00:00Z")
        days = sorted({r["date"] for r in recs})
        planned = await refresh_rollups(db, days[10:30])  # a touched middle part only
        assert set(planned) == set(ROLLUP_TABLES)
        await check_against_reference(db, days[10:30])
        # A second refresh replaces instead of adding.
        before = await db.fetch_dicts("SELECT COUNT(*) AS n FROM rollup_account_weekly")
        await refresh_rollups(db, days[10:30])
        assert await db.fetch_dicts("SELECT COUNT(*) AS n FROM rollup_account_weekly") == before
        assert await temp_tables(db) == []  # the per-refresh summary is dropped


async def test_concurrent_refreshes_do_not_share_their_summary(db_url: str) -> None:
    """Two refreshes at once on one loader (two tasks finishing together) both stay exact."""
    recs = records()
    days = sorted({r["date"] for r in recs})
    async with DatabaseLoader.from_url(db_url) as db:
        await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                             fetched_at="2024-03-05T00:00:00Z")
        async with anyio.create_task_group() as tg:
            tg.start_soon(refresh_rollups, db, days[:25])
            tg.start_soon(refresh_rollups, db, days[20:])
        await check_against_reference(db, days)
        assert await temp_tables(db) == []


async def test_refresh_of_the_loaded_accounts_matches_reference_sql(db_url: str) -> None:
    """Each account refreshing only its own rows gives the reference tables over all rows.

    Accounts are loaded one after another (a backfill per account); platform tables, summed
    from the account ones, included.
    """
    recs = records()
    days = sorted({r["date"] for r in recs})
    async with DatabaseLoader.from_url(db_url) as db:
        for platform, account in (("facebook", "1"), ("google", "2"), ("google", "3")):
            mine = [r for r in recs if (r["platform"], r["account_id"]) == (platform, account)]
            await db.write_batch(run_id=account, task="t", kind="ad", records=mine,
                                 fetched_at="2024-03-05T00:00:00Z")
            await refresh_rollups(db, days, accounts=[(platform, account)])
        await check_against_reference(db, days)
        # A re-run of one account over some days (its numbers restated) stays exact.
        again = [dict(r, spend=r["spend"] + 1.25, clicks=r["clicks"] + 1) for r in recs
                 if r["account_id"] == "3" and days[5] <= r["date"] <= days[20]]
        await db.write_batch(run_id="3b", task="t", kind="ad", records=again,
                             fetched_at="2024-03-06T00:00:00Z")
        await refresh_rollups(db, days[5:21], accounts=[("google", "3")])
        await check_against_reference(db, days)
        assert await temp_tables(db) == []
