"""The analytics layer gives the same tables on SQLite and on PostgreSQL, row for row.

The same ad, account, creative and audience rows go into a fresh database of each backend;
the post-load steps (rollups, history, benchmarks, audience summary, quality) and the
cross-platform build run on both, and every derived table must match: values, their Python
types, and the stored quality examples. Floats compare approximately, as the two servers may
add them up in another order. The PostgreSQL database runs once as created and once with the
fact tables' text columns in a locale collation, where "a-2" sorts before "a_1".
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from within_daemon.config import (
    Enrichment,
    LoadedConfig,
    Platform,
    QualityConfig,
    TaskConfig,
    load_config,
)
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.quality_reports import latest_quality
from within_daemon.loaders.rollups import rollup_params, rollup_sql
from within_daemon.loaders.schema.audience import AUDIENCE_TABLES
from within_daemon.loaders.schema.feature_store import FEATURE_VIEWS
from within_daemon.loaders.schema.rollups import ROLLUP_TABLES
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.analytics import AccountDays, after_task
from within_daemon.pipelines.platform_data_pipeline import PlatformDataPipeline
from within_daemon.schema import ACCOUNT_FIELDS, AD_FIELDS
from within_daemon.transforms.aggregation import ROLLUP_GRAIN, DataAggregator, touched_periods

START = date(2024, 1, 20)
DAYS = [(START + timedelta(days=i)).isoformat() for i in range(45)]  # two month boundaries
TODAY = "2024-03-05"
FETCHED = "2024-03-05T06:00:00Z"
#: (platform, account, currency): ids chosen so code-point and locale order disagree.
ACCOUNTS = [("facebook", "a-2", "USD"), ("facebook", "a_1", "USD"), ("facebook", "B7", "EUR"),
            ("google", "a_1", "EUR"), ("google", "9", "USD")]
ADS = ["Ad-1", "ad_1", "ad-2", "b", "Z"]
ENRICH: tuple[Enrichment, ...] = ("historical_performance", "competitive_analysis",
                                  "audience_insights")
#: Columns that hold the time of the write, or a surrogate id: they differ by design.
VOLATILE = {"id", "created_at", "computed_at", "built_at", "loaded_at", "created_timestamp"}
COMPARED = [*ROLLUP_TABLES, "ad_history", "ad_benchmarks", "quality_reports",
            *AUDIENCE_TABLES, "unified_ad_data", "ad_creative_features",
            *(v.table for v in FEATURE_VIEWS), "feature_online"]


def ad_records() -> list[dict[str, Any]]:
    rng = random.Random(20240120)
    out = []
    for platform, account, currency in ACCOUNTS:
        for n, ad in enumerate(ADS):
            for d, day in enumerate(DAYS):
                if (d + n) % 7 == 3:
                    continue  # ads skip days: distinct counts differ per period
                imp = rng.randint(0, 5000)
                clk = rng.randint(0, imp // 20 + 1)
                spend = round(rng.uniform(0, 80), 2)
                r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
                r.update(platform=platform, account_id=account, ad_id=ad, date=day,
                         campaign_id=f"c{n % 2}" if n != 4 else None, currency=currency,
                         status="active" if rng.random() > 0.05 else "weird",
                         headline=None if rng.random() < 0.1 else f"Sale {n}: {d}% off",
                         impressions=imp, clicks=clk, spend=spend,
                         conversions=rng.randint(0, 3),
                         revenue=round(spend * rng.uniform(0, 4), 2) if d % 4 else None,
                         ctr=clk / imp if imp else None)
                if rng.random() < 0.03:
                    r["clicks"] = imp + 5  # a consistency problem, with examples stored
                out.append(r)
    return out


def account_records(ads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Account-day totals, a little off on some days so the drift check has issues."""
    out = []
    for platform, account, currency in ACCOUNTS:
        for d, day in enumerate(DAYS):
            rows = [r for r in ads if (r["platform"], r["account_id"], r["date"])
                    == (platform, account, day)]
            r: dict[str, Any] = dict.fromkeys(ACCOUNT_FIELDS)
            r.update(platform=platform, account_id=account, date=day, currency=currency,
                     account_name=f"Shop {account}", timezone="UTC",
                     daily_spend=round(sum(x["spend"] for x in rows) * (1.2 if d % 9 == 0
                                                                         else 1.0), 2),
                     daily_impressions=sum(x["impressions"] for x in rows),
                     daily_clicks=sum(x["clicks"] for x in rows), ad_count=len(rows))
            out.append(r)
    return out


def creative_rows() -> list[dict[str, Any]]:
    topics = ["apparel", "travel", None]
    return [{"platform": p, "account_id": a, "ad_id": ad, "creative_hash": f"h{i}",
             "enrichments": "sentiment|topic_classification", "enriched_at": FETCHED,
             "topic": topics[i % 3], "sentiment_compound": 0.1 * (i % 5) - 0.2,
             "has_urgency": i % 2 == 0}  # a bool, as the entity struct gives it
            for i, ((p, a, _), ad) in enumerate((acc, ad) for acc in ACCOUNTS for ad in ADS)]


def audience_page(account: str) -> list[dict[str, Any]]:
    """Raw Graph breakdown rows (age x gender) of one account."""
    rng = random.Random(account)
    return [{"ad_id": ad, "date_start": day, "age": age, "gender": gender,
             "impressions": str(rng.randint(0, 400)), "clicks": str(rng.randint(0, 9)),
             "spend": f"{rng.uniform(0, 5):.2f}",
             "actions": [{"action_type": "offsite_conversion.fb_pixel_purchase",
                          "value": str(rng.randint(0, 2))}]}
            for ad in ADS for day in DAYS[-10:] for age in ("18-24", "25-34", "65+")
            for gender in ("female", "male", "unknown")]


class AudienceSource:
    """What after_task needs of a Facebook connector for audience insights."""

    config = SimpleNamespace(conversion_action_types=("offsite_conversion.fb_pixel_purchase",))

    def __init__(self, account: str) -> None:
        self.account = account

    async def iter_audience(self, date_range: tuple[str, str]) -> AsyncIterator[list[Any]]:
        first, last = date_range
        yield [r for r in audience_page(self.account) if first <= r["date_start"] <= last]


def reporting_config(tmp_path: Path) -> LoadedConfig:
    """Only its [reporting] table matters: run_with is handed the database to build in."""
    path = tmp_path / "within.toml"
    path.write_text('[reporting]\ncurrency = "USD"\nfx_rates = { EUR = 1.1 }\n')
    return load_config(path)


async def build(db: DatabaseLoader, tmp_path: Path) -> dict[str, Any]:
    """Load the rows and run every analytics step; the post-load summaries."""
    ads = ad_records()
    await db.write_batch(run_id="r1", task="ads", kind="ad", records=ads, fetched_at=FETCHED)
    await db.write_batch(run_id="r2", task="acc", kind="account",
                         records=account_records(ads), fetched_at=FETCHED)
    await store.upsert_creative_features(db, creative_rows())
    summaries: dict[str, Any] = {}
    platforms: tuple[Platform, ...] = ("facebook", "google")
    for platform in platforms:
        task = TaskConfig(name=f"{platform}_ads", platform=platform,
                          enrich=ENRICH if platform == "facebook" else ENRICH[:2])
        touched = [AccountDays(p, a, f"run-{a}", DAYS, DAYS, TODAY)
                   for p, a, _ in ACCOUNTS if p == platform]
        summaries[platform] = await after_task(
            db, task, touched, quality=QualityConfig(), metrics=Metrics(),
            connectors={a: AudienceSource(a) for p, a, _ in ACCOUNTS if p == platform})
    summaries["unified"] = await PlatformDataPipeline(
        reporting_config(tmp_path)).run_with(db, (DAYS[0], DAYS[-1]))
    summaries["latest_quality"] = await latest_quality(db)
    return summaries


def _order(v: Any) -> tuple[int, str]:
    return (0, "") if v is None else (1, repr(v))


async def contents(db: DatabaseLoader, table: str) -> list[dict[str, Any]]:
    """Every row without its volatile columns, in a backend-independent order.

    The order comes from the exact columns (the keys among them): floats may differ in the
    last bit between the backends and must not reorder the rows.
    """
    rows = [{k: v for k, v in r.items() if k not in VOLATILE}
            for r in await db.fetch_dicts(f"SELECT * FROM {table}")]
    return sorted(rows, key=lambda r: [_order(r[k]) for k in sorted(r)
                                       if not isinstance(r[k], float)])


def assert_rows_equal(got: list[dict[str, Any]], want: list[dict[str, Any]], what: str) -> None:
    assert len(got) == len(want), what
    for g, w in zip(got, want, strict=True):
        assert sorted(g) == sorted(w), what
        for k, v in w.items():
            if isinstance(v, float) and g[k] is not None:
                assert g[k] == pytest.approx(v, rel=1e-9, abs=1e-12), (what, k, w)
            else:
                assert g[k] == v, (what, k, w)
            assert type(g[k]) is type(v), (what, k, w)  # an int stays an int


@pytest.fixture(params=[None, "und-x-icu"], ids=["pg-default-collation", "pg-icu-collation"])
async def backends(request: pytest.FixtureRequest, tmp_path: Path,
                   pg_url: str) -> AsyncIterator[tuple[DatabaseLoader, DatabaseLoader]]:
    async with DatabaseLoader.from_url(f"sqlite:///{tmp_path}/within.db") as lite, \
            DatabaseLoader.from_url(pg_url) as pg:
        if request.param is not None:
            await use_collation(pg, request.param)
        yield lite, pg


async def use_collation(db: DatabaseLoader, collation: str) -> None:
    have = await db.fetch_dicts("SELECT 1 AS x FROM pg_collation WHERE collname = ?",
                                [collation])
    if not have:
        pytest.skip(f"this PostgreSQL has no {collation} collation (built without ICU)")
    steps: list[tuple[str, Any]] = [
        (f'ALTER TABLE {table} ALTER COLUMN {c} TYPE TEXT COLLATE "{collation}"', [()])
        for table, cols in (("ad_data", ("platform", "account_id", "ad_id", "campaign_id",
                                         "currency", "date")),
                            ("account_data", ("platform", "account_id", "date")))
        for c in cols]
    await db.execute_in_transaction(steps)


async def test_every_derived_table_is_the_same_on_both_backends(
    backends: tuple[DatabaseLoader, DatabaseLoader], tmp_path: Path,
) -> None:
    """Rollups, history, benchmarks, quality, audience and unified rows match exactly."""
    lite, pg = backends
    want = await build(lite, tmp_path)
    got = await build(pg, tmp_path)
    for s in (want, got):
        assert "error" not in s["facebook"] and "error" not in s["google"], s
        assert s["unified"]["success"], s["unified"]
    # PostgreSQL ran rollups, history and benchmarks at once, each on a connection of its
    # own, and shared the feature store's accounts among them; SQLite, one after another.
    assert "at once" in got["facebook"]["seconds"] and "at once" not in want["facebook"]["seconds"]
    assert got["facebook"]["rollups"] == want["facebook"]["rollups"]
    for key in ("history_rows", "benchmark_rows", "audience_rows", "quality"):
        assert got["facebook"][key] == want["facebook"][key], key
    assert got["unified"]["records_processed"] == want["unified"]["records_processed"]
    assert_rows_equal([{k: v for k, v in r.items() if k != "created_at"}
                       for r in got["latest_quality"]],
                      [{k: v for k, v in r.items() if k != "created_at"}
                       for r in want["latest_quality"]], "latest_quality")
    for table in COMPARED:
        w = await contents(lite, table)
        assert w, f"{table} is empty: the comparison would prove nothing"
        assert_rows_equal(await contents(pg, table), w, table)
    # Quality examples name records by position: both backends fed them in one order.
    issues = await lite.fetch_dicts("SELECT issues_json FROM quality_reports")
    assert any(json.loads(r["issues_json"]) for r in issues)


async def test_rollups_equal_the_pure_rollup_on_both(
    backends: tuple[DatabaseLoader, DatabaseLoader],
) -> None:
    """The stored rollup tables and rollup_sql, in order, equal DataAggregator's rows."""
    ads = ad_records()
    for db in backends:
        await db.write_batch(run_id="r", task="t", kind="ad", records=ads, fetched_at=FETCHED)
        await store.refresh_rollups(db, DAYS)
        dialect = store.sql_dialect(db)
        for table, (by, period) in ROLLUP_GRAIN.items():
            want = DataAggregator().rollup(ads, by=by, period=period)
            starts = touched_periods(DAYS, period)
            ordered = await db.fetch_dicts(rollup_sql(by, period, dialect),
                                           rollup_params(starts, period, dialect))
            assert_rows_equal(ordered, want, f"{table} rollup_sql {db.dialect.name}")
            cols = [c for c, _ in ROLLUP_TABLES[table][0]]
            stored = await db.fetch_dicts(f"SELECT {', '.join(cols)} FROM {table}")
            key = ROLLUP_TABLES[table][1]
            assert_rows_equal(sorted(stored, key=lambda r: [r[k] for k in key]), want,
                              f"{table} {db.dialect.name}")


async def test_ad_rows_come_in_key_order_on_both(
    backends: tuple[DatabaseLoader, DatabaseLoader],
) -> None:
    """ad_rows sorts by code point on both, whatever the database collation."""
    ads = ad_records()
    want = sorted((r["account_id"], r["date"], r["ad_id"]) for r in ads
                  if r["platform"] == "facebook")
    for db in backends:
        await db.write_batch(run_id="r", task="t", kind="ad", records=ads, fetched_at=FETCHED)
        rows = await store.ad_rows(db, platform="facebook", account_id=None, first=DAYS[0],
                                   last=DAYS[-1])
        assert [(r["account_id"], r["date"], r["ad_id"]) for r in rows] == want



async def test_two_processes_refresh_one_postgres_database_at_once(pg_url: str) -> None:
    """Two daemons' loaders refreshing the same periods at once neither fail nor double rows."""
    ads = ad_records()
    async with DatabaseLoader.from_url(pg_url) as one, DatabaseLoader.from_url(pg_url) as two:
        await one.write_batch(run_id="r", task="t", kind="ad", records=ads, fetched_at=FETCHED)
        for _ in range(3):
            async with anyio.create_task_group() as tg:
                tg.start_soon(store.refresh_rollups, one, DAYS)
                tg.start_soon(store.refresh_rollups, two, DAYS[5:])
        for table, (by, period) in ROLLUP_GRAIN.items():
            want = DataAggregator().rollup(ads, by=by, period=period)
            cols = [c for c, _ in ROLLUP_TABLES[table][0]]
            stored = await one.fetch_dicts(f"SELECT {', '.join(cols)} FROM {table}")
            key = ROLLUP_TABLES[table][1]
            assert_rows_equal(sorted(stored, key=lambda r: [r[k] for k in key]), want, table)
