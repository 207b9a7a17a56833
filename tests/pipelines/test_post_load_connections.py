"""PostgreSQL: an enriched run's post-load on several connections gives what one connection gives.

Real servers only. The same rows go into two fresh databases; one database's owner may
hold only one connection (``CONNECTION LIMIT 1``), so there the post-load cannot open the
connections it wants beside the loader's and runs its steps one after another, with a
warning. Every derived table (rollups, history, benchmarks, the feature store's views and
online rows) must come out the same in both.
"""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.loaders.test_analytics_pg import (
    ACCOUNTS,
    COMPARED,
    DAYS,
    ENRICH,
    FETCHED,
    TODAY,
    account_records,
    ad_records,
    assert_rows_equal,
    contents,
    creative_rows,
)
from tests.pgserver import PgServer
from within_daemon.config import QualityConfig, TaskConfig
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.schema.audience import AUDIENCE_TABLES
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.analytics import AccountDays, after_task

#: What the audience step would add needs connectors; these tables are about the rest.
TABLES = [t for t in COMPARED if t not in AUDIENCE_TABLES and t != "unified_ad_data"]


async def _post_load(db: DatabaseLoader) -> dict[str, object]:
    ads = ad_records()
    await db.write_batch(run_id="r1", task="ads", kind="ad", records=ads, fetched_at=FETCHED)
    await db.write_batch(run_id="r2", task="acc", kind="account",
                         records=account_records(ads), fetched_at=FETCHED)
    await store.upsert_creative_features(db, creative_rows())
    touched = [AccountDays(p, a, f"run-{a}", DAYS, DAYS, TODAY)
               for p, a, _ in ACCOUNTS if p == "facebook"]
    task = TaskConfig(name="facebook_ads", platform="facebook", enrich=ENRICH[:2])
    return await after_task(db, task, touched, quality=QualityConfig(), metrics=Metrics())


async def test_one_connection_or_three_give_the_same_tables(
        pg_server: PgServer, pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # A plain role (a superuser ignores connection limits) owning a database of its own.
    role = "one_" + uuid.uuid4().hex[:8]
    async with DatabaseLoader.from_url(pg_url) as admin:
        await admin.execute_in_transaction([(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1",
                                             [()])])
    one_url = pg_server.create_database(owner=role)
    async with DatabaseLoader.from_url(pg_url) as many:
        wide = await _post_load(many)
        with caplog.at_level(logging.WARNING, logger="within_daemon.pipelines.analytics"):
            async with DatabaseLoader.from_url(one_url) as one:
                narrow = await _post_load(one)
                assert "error" not in wide and "error" not in narrow, (wide, narrow)
                assert "at once" in wide["seconds"]  # type: ignore[operator]
                assert "at once" not in narrow["seconds"]  # type: ignore[operator]
                assert "could not be opened" in caplog.text
                for key in ("rollups", "history_rows", "benchmark_rows", "feature_rows"):
                    assert narrow[key] == wide[key], key
                for table in TABLES:
                    want = await contents(one, table)
                    assert want, f"{table} is empty: the comparison would prove nothing"
                    assert_rows_equal(await contents(many, table), want, table)
