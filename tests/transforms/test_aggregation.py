"""DataAggregator rollups, touched periods, and the SQL twin run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.analytics import sql_dialect
from within_daemon.loaders.rollups import period_start_sql, rollup_params, rollup_sql
from within_daemon.loaders.schema.rollups import ROLLUP_TABLES
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.aggregation import (
    ROLLUP_FIELDS,
    ROLLUP_GRAIN,
    ROLLUP_KEYS,
    DataAggregator,
    period_end,
    period_start,
    touched_periods,
)

LEVELS = ("campaign", "account", "platform")
PERIODS = ("day", "week", "month")


def ad(ad_id: str, account: str, day: str, imp: int, clk: int, spend: float, conv: int,
       rev: float | None, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    rec.update({
        "ad_id": ad_id, "platform": "facebook", "account_id": account,
        "campaign_id": {"A1": "C1", "A2": "C2"}.get(account, "C9"),
        "currency": {"A1": "USD", "A2": "EUR"}.get(account, "USD"), "status": "active",
        "date": day, "impressions": imp, "clicks": clk, "spend": spend, "conversions": conv,
        "revenue": rev, "ctr": clk / imp if imp else None,
    })
    rec.update(over)
    return rec


# 2024-01-28 is a Sunday (ISO week of Monday 2024-01-22); 01-29 starts the next week, which
# also holds 01-31 and 02-01, so the data crosses both a week and a month boundary.
RECORDS = [
    ad("ad1", "A1", "2024-01-28", 1000, 10, 5.0, 1, 20.0),
    ad("ad2", "A1", "2024-01-28", 500, 0, 2.5, 0, None),
    ad("ad1", "A1", "2024-01-29", 2000, 30, 10.0, 3, 45.0),
    ad("ad1", "A1", "2024-02-01", 0, 0, 0.0, 0, 0.0),
    ad("ad3", "A2", "2024-01-31", 4000, 40, 8.0, 2, 10.0),
    ad("ad3", "A2", "2024-02-01", 1000, 10, 2.0, 0, 0.0),
]

SUMS = ("row_count", "ad_count", "impressions", "clicks", "spend", "conversions", "revenue")
RATIOS = ("ctr", "conversion_rate", "cpa", "roas")


def brief(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in (*keys, "period_start", *SUMS)) for r in rows]


def test_campaign_daily_sums_and_keys() -> None:
    """Campaign-day rows sum counts and money, count distinct ads, and carry every key."""
    rows = DataAggregator().rollup(RECORDS, by="campaign", period="day")
    assert brief(rows, "account_id", "campaign_id", "currency") == [
        ("A1", "C1", "USD", "2024-01-28", 2, 2, 1500, 10, 7.5, 1, 20.0),
        ("A1", "C1", "USD", "2024-01-29", 1, 1, 2000, 30, 10.0, 3, 45.0),
        ("A1", "C1", "USD", "2024-02-01", 1, 1, 0, 0, 0.0, 0, 0.0),
        ("A2", "C2", "EUR", "2024-01-31", 1, 1, 4000, 40, 8.0, 2, 10.0),
        ("A2", "C2", "EUR", "2024-02-01", 1, 1, 1000, 10, 2.0, 0, 0.0),
    ]
    assert {r["platform"] for r in rows} == {"facebook"}
    assert {r["period"] for r in rows} == {"day"}
    assert list(rows[0]) == [c for c, _ in ROLLUP_TABLES["rollup_campaign_daily"][0]]


@pytest.mark.parametrize("table", sorted(ROLLUP_GRAIN))
def test_rollup_fields_describe_the_rows(table: str) -> None:
    """ROLLUP_FIELDS names every column in row order with its Python type; None only after.

    The loader builds the tables from this description, so it must match what the pure
    rollup returns (ints stay ints, the never-None columns are never None).
    """
    always, maybe = ROLLUP_FIELDS[table]
    empty = {**ad("x", "A9", "2024-01-28", 0, 0, 0.0, 0, None, platform="tiktok"),
             **dict.fromkeys(("impressions", "clicks", "spend", "conversions"))}
    rows = DataAggregator().rollup_table(table, [*RECORDS, empty])
    assert [r for r in rows if r["platform"] == "tiktok" and r["spend"] is None]
    for row in rows:
        assert list(row) == [name for name, _ in (*always, *maybe)]
        for name, kind in always:
            assert type(row[name]) is kind, (name, row[name])
        for name, kind in maybe:
            assert row[name] is None or type(row[name]) is kind, (name, row[name])
    assert ROLLUP_KEYS[table][-1] == "period_start"
    assert set(ROLLUP_KEYS[table]) <= {name for name, _ in always}


def test_account_weekly_buckets_by_iso_monday() -> None:
    """Sunday 01-28 falls in the week of Monday 01-22; 01-29..02-01 share one week."""
    rows = DataAggregator().rollup(RECORDS, by="account", period="week")
    assert brief(rows, "account_id", "currency") == [
        ("A1", "USD", "2024-01-22", 2, 2, 1500, 10, 7.5, 1, 20.0),
        ("A1", "USD", "2024-01-29", 2, 1, 2000, 30, 10.0, 3, 45.0),
        ("A2", "EUR", "2024-01-29", 2, 1, 5000, 50, 10.0, 2, 10.0),
    ]
    a2 = rows[2]
    assert (a2["ctr"], a2["conversion_rate"], a2["cpa"], a2["roas"]) == (0.01, 0.04, 5.0, 1.0)


def test_account_monthly_ratios_come_from_sums() -> None:
    """Monthly CTR is 40/3500, not the mean of the per-row CTRs (0.00833)."""
    rows = DataAggregator().rollup(RECORDS, by="account", period="month")
    assert brief(rows, "account_id") == [
        ("A1", "2024-01-01", 3, 2, 3500, 40, 17.5, 4, 65.0),
        ("A1", "2024-02-01", 1, 1, 0, 0, 0.0, 0, 0.0),
        ("A2", "2024-01-01", 1, 1, 4000, 40, 8.0, 2, 10.0),
        ("A2", "2024-02-01", 1, 1, 1000, 10, 2.0, 0, 0.0),
    ]
    jan = rows[0]
    assert jan["ctr"] == pytest.approx(40 / 3500)
    assert jan["ctr"] != pytest.approx((0.01 + 0.0 + 0.015) / 3)
    assert jan["conversion_rate"] == pytest.approx(0.1)
    assert jan["cpa"] == pytest.approx(4.375)
    assert jan["roas"] == pytest.approx(65 / 17.5)


def test_zero_denominators_give_none() -> None:
    """0 impressions, clicks, conversions or spend make the dependent ratios None."""
    feb_a1, feb_a2 = DataAggregator().rollup(
        [r for r in RECORDS if r["date"] == "2024-02-01"], by="account", period="day"
    )
    assert [feb_a1[k] for k in RATIOS] == [None, None, None, None]
    # 10 clicks but 0 conversions: the rate is a real 0, cost per acquisition is undefined
    assert [feb_a2[k] for k in RATIOS] == [0.01, 0.0, None, 0.0]


def test_unreported_field_sums_to_none() -> None:
    """A field no row reported sums to None (like SQL SUM), and its ratio is None too."""
    (row,) = DataAggregator().rollup(
        [ad("x", "A1", "2024-01-28", 10, 1, 1.0, 0, None)], by="account", period="day"
    )
    assert row["revenue"] is None and row["roas"] is None and row["ctr"] == 0.1


def test_currencies_never_summed_together() -> None:
    """The platform rollup keeps USD and EUR apart and splits a platform by its name."""
    records = [*RECORDS, ad("g1", "A1", "2024-01-29", 7, 1, 1.0, 0, None, platform="google")]
    rows = DataAggregator().rollup(records, by="platform", period="month")
    assert brief(rows, "platform", "currency") == [
        ("facebook", "EUR", "2024-01-01", 1, 1, 4000, 40, 8.0, 2, 10.0),
        ("facebook", "EUR", "2024-02-01", 1, 1, 1000, 10, 2.0, 0, 0.0),
        ("facebook", "USD", "2024-01-01", 3, 2, 3500, 40, 17.5, 4, 65.0),
        ("facebook", "USD", "2024-02-01", 1, 1, 0, 0, 0.0, 0, 0.0),
        ("google", "USD", "2024-01-01", 1, 1, 7, 1, 1.0, 0, None),
    ]
    assert "account_id" not in rows[0] and "campaign_id" not in rows[0]


def test_platform_ad_count_is_per_account() -> None:
    """Two accounts with the same ad id are two ads at platform level."""
    records = [ad("ad1", "A1", "2024-01-29", 1, 0, 0.0, 0, None),
               ad("ad1", "A3", "2024-01-29", 1, 0, 0.0, 0, None)]
    (row,) = DataAggregator().rollup(records, by="platform", period="day")
    assert (row["row_count"], row["ad_count"]) == (2, 2)


def test_null_key_parts_become_empty_strings() -> None:
    """A missing campaign or currency is keyed as '' so the rollup key is never NULL."""
    rec = ad("x", "A1", "2024-01-28", 10, 1, 1.0, 0, None, campaign_id=None, currency=None)
    (row,) = DataAggregator().rollup([rec], by="campaign", period="day")
    assert (row["campaign_id"], row["currency"]) == ("", "")


def test_idempotent_and_order_independent() -> None:
    """Same records in any order give identical rows, float sums included."""
    spends = [ad(f"s{i}", "A1", "2024-01-29", 1, 0, s, 0, None) for i, s in
              enumerate([0.1, 0.2, 0.3])]
    assert (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1  # naive summation depends on order
    agg = DataAggregator()
    first = agg.rollup(spends, by="account", period="day")
    assert first == agg.rollup(list(reversed(spends)), by="account", period="day")
    assert first[0]["spend"] == 0.6
    rng = random.Random(7)
    for by in LEVELS:
        for period in PERIODS:
            want = agg.rollup(RECORDS, by=by, period=period)  # type: ignore[arg-type]
            shuffled = rng.sample(RECORDS, len(RECORDS))
            assert agg.rollup(shuffled, by=by, period=period) == want  # type: ignore[arg-type]
            assert agg.rollup(RECORDS, by=by, period=period) == want  # type: ignore[arg-type]


def test_touched_periods() -> None:
    """Touched days map to their day, ISO-week Monday or month start, deduplicated."""
    days: list[str | dt.date] = ["2024-01-28", "2024-01-29", dt.date(2024, 1, 31), "2024-02-01"]
    assert touched_periods(days, "day") == {"2024-01-28", "2024-01-29", "2024-01-31",
                                            "2024-02-01"}
    assert touched_periods(days, "week") == {"2024-01-22", "2024-01-29"}
    assert touched_periods(days, "month") == {"2024-01-01", "2024-02-01"}
    assert touched_periods([], "week") == set()
    # 2021-01-01 is a Friday of ISO week 53 of 2020
    assert touched_periods(["2021-01-01"], "week") == {"2020-12-28"}


def test_period_bounds_and_errors() -> None:
    """period_end is exclusive and rejects a day that starts no period; bad input raises."""
    assert period_end("2024-12-01", "month") == "2025-01-01"
    assert period_end("2024-01-29", "week") == "2024-02-05"
    assert period_start("2024-02-29", "month") == "2024-02-01"
    with pytest.raises(ValueError, match="does not start a week"):
        period_end("2024-01-30", "week")
    with pytest.raises(ValueError, match="ISO day"):
        period_start("2024-02-30", "day")
    with pytest.raises(ValueError, match="unknown rollup level"):
        DataAggregator().rollup(RECORDS, by="ad", period="day")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="spend must be a number"):
        DataAggregator().rollup([ad("x", "A1", "2024-01-28", 1, 0, "1.5", 0, None)],  # type: ignore[arg-type]
                                by="account", period="day")


def test_rollup_tables_describe_all_six_grains() -> None:
    """Each rollup table lists its key columns first and keys on them plus period_start."""
    assert set(ROLLUP_TABLES) == set(ROLLUP_GRAIN) == {
        "rollup_campaign_daily", "rollup_account_daily", "rollup_account_weekly",
        "rollup_account_monthly", "rollup_platform_weekly", "rollup_platform_monthly"}
    cols, pk = ROLLUP_TABLES["rollup_account_weekly"]
    assert pk == ("platform", "account_id", "currency", "period_start")
    assert dict(cols)["spend"] == "REAL" and dict(cols)["period_start"] == "TEXT NOT NULL"


# --- rollup_sql through the loader, on SQLite and PostgreSQL (the db_url fixture) ------------

EXTRA = [ad("ad1", "A3", "2024-01-29", 3, 1, 0.5, 1, 2.0),
         ad("n1", "A1", "2024-01-28", 10, 1, 1.0, 0, None, campaign_id=None),
         # Keys that sort differently by code point than in most locales' collations.
         ad("k1", "a-2", "2024-01-30", 5, 1, 1.0, 0, None, campaign_id="c_1"),
         ad("k2", "a_1", "2024-01-30", 5, 1, 1.0, 0, None, campaign_id="C-1"),
         ad("k3", "B", "2024-01-30", 5, 1, 1.0, 0, None)]


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        await loader.write_batch(run_id="r", task="t", kind="ad", records=[*RECORDS, *EXTRA],
                                 fetched_at="2024-02-02T00:00:00Z")
        yield loader


async def stored(db: DatabaseLoader) -> list[dict[str, Any]]:
    return await db.fetch_dicts(f"SELECT {', '.join(AD_FIELDS)} FROM ad_data")


async def sql_rows(db: DatabaseLoader, by: str, period: str,
                   starts: set[str]) -> list[dict[str, Any]]:
    dialect = sql_dialect(db)
    return await db.fetch_dicts(rollup_sql(by, period, dialect),  # type: ignore[arg-type]
                                rollup_params(starts, period, dialect))  # type: ignore[arg-type]


def assert_same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w)
        assert g == {k: pytest.approx(v) if isinstance(v, float) else v for k, v in w.items()}


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("by", LEVELS)
async def test_rollup_sql_equals_pure_rollup(db: DatabaseLoader, by: str, period: str) -> None:
    """The SQL statement returns the pure rollup's rows, columns, types and order."""
    records = await stored(db)
    want = DataAggregator().rollup(records, by=by, period=period)  # type: ignore[arg-type]
    starts = touched_periods([r["date"] for r in records], period)  # type: ignore[arg-type]
    got = await sql_rows(db, by, period, starts)
    assert_same(got, want)
    for g, w in zip(got, want, strict=True):  # ints stay ints (PostgreSQL sums are NUMERIC)
        assert {k: type(v) for k, v in g.items()} == {k: type(v) for k, v in w.items()}


async def test_rollup_sql_only_recomputes_touched_periods(db: DatabaseLoader) -> None:
    """Given the periods one day touched, the SQL returns exactly those periods' rows."""
    records = await stored(db)
    starts = touched_periods(["2024-01-31"], "week")
    assert starts == {"2024-01-29"}
    want = [r for r in DataAggregator().rollup(records, by="account", period="week")
            if r["period_start"] in starts]
    got = await sql_rows(db, "account", "week", starts)
    assert {r["account_id"] for r in got} == {"A1", "A2", "A3", "B", "a-2", "a_1"}
    assert_same(got, want)
    assert await sql_rows(db, "account", "week", set()) == []


async def test_rollup_sql_fills_the_rollup_tables(db: DatabaseLoader) -> None:
    """INSERT ... SELECT into the migrated rollup tables succeeds for every table."""
    dialect = sql_dialect(db)
    for table in ROLLUP_TABLES:
        by, period = ROLLUP_GRAIN[table]
        starts = touched_periods(["2024-01-28", "2024-02-01"], period)
        await db.execute_in_transaction([(f"INSERT INTO {table} {rollup_sql(by, period, dialect)}",
                                          [rollup_params(starts, period, dialect)])])
        assert await db.count_rows(table) > 0


@pytest.mark.parametrize("day", ["2024-01-28", "2024-01-29", "2024-02-29", "2020-12-31",
                                 "2021-01-03", "2023-01-01", "2024-12-30"])
async def test_period_start_sql_matches_python(db: DatabaseLoader, day: str) -> None:
    """Weeks start on Monday and months on the 1st in both dialects, as period_start says."""
    exprs = ", ".join(f"{period_start_sql(p, sql_dialect(db), 'x.d')} AS {p}"  # type: ignore[arg-type]
                      for p in PERIODS)
    [row] = await db.fetch_dicts(f"SELECT {exprs} FROM (SELECT ? AS d) AS x", [day])
    assert row == {p: period_start(day, p) for p in PERIODS}  # type: ignore[arg-type]
