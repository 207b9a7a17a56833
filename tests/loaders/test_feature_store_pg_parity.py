"""The feature store gives the same answers on SQLite and on PostgreSQL.

The same source rows are materialized into a SQLite file and into a PostgreSQL database,
once with the server's C locale and once in a database whose default collation is ICU
``en-US`` (where ``"ad_b" < "ad-1" < "Zeta"``, unlike byte order): history and online
tables, online vectors, point-in-time reads and the Parquet export (paged) must agree
value for value and row for row.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from within_daemon.features import features_of
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.feature_store import FeatureStore, entity_key
from within_daemon.loaders.feature_store import store as fs_mod
from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS
from within_daemon.loaders.schema.rollups import ROLLUP_TABLES
from within_daemon.schema import AD_FIELDS

from ..pgserver import PgServer

DAYS = [f"2024-03-{d:02d}" for d in range(1, 11)]
#: Byte order "Zeta" < "ad-1" < "ad10" < "ad9" < "adA" < "ad_b"; en-US orders them apart.
ADS = ("ad9", "ad_b", "ad10", "Zeta", "adA", "ad-1")
ACCOUNTS = ("act_2", "act1")
ROLLUP_COLS = [c for c, _ in ROLLUP_TABLES["rollup_account_daily"][0]]


async def create_icu_database(server: PgServer) -> str:
    """A new database whose default collation is ICU en-US (not byte order); its url."""
    import asyncpg

    name = "t_icu_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(server.url("postgres"))
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                           "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.utf8'")
    except asyncpg.PostgresError as exc:  # a server built without ICU
        pytest.skip(f"no ICU collation on this server: {exc}")
    finally:
        await conn.close()
    return server.url(name)


@pytest.fixture(params=["c-locale", "icu-en-us"])
async def pg_any_url(request: pytest.FixtureRequest, pg_server: PgServer) -> str:
    """A fresh PostgreSQL database: default (C) collation, then ICU en-US."""
    if request.param == "c-locale":
        return pg_server.create_database()
    return await create_icu_database(pg_server)


async def seed(db: DatabaseLoader) -> None:
    rnd = random.Random(3)
    hist_cols = [c for c, _ in HISTORY_COLUMNS]
    for acct in ACCOUNTS:
        recs, hist, bench = [], [], []
        for d in DAYS:
            for ad in ADS:
                r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
                r.update(platform="facebook", account_id=acct, ad_id=ad, date=d,
                         currency="USD", impressions=rnd.randint(100, 900),
                         clicks=rnd.randint(0, 40), spend=rnd.uniform(1, 9))
                recs.append(r)
                h: dict[str, Any] = {c: rnd.uniform(0, 2) for c in hist_cols}
                h.update({c: rnd.randint(0, 28) for c in hist_cols if "_days_" in c})
                h.update(ad_id=ad, date=d, ad_cpa_7d=None if rnd.random() < 0.3 else 4.0)
                hist.append(h)
                bench.append({"platform": "facebook", "account_id": acct, "ad_id": ad,
                              "date": d, "topic": "apparel", "peer_group_size": 6,
                              "ctr_percentile": rnd.random(), "cpa_percentile": None,
                              "roas_percentile": rnd.random()})
        rnd.shuffle(recs)
        await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                             fetched_at="2024-03-11T00:00:00Z")
        await store.upsert_history(db, "facebook", acct, hist)
        await store.upsert_benchmarks(db, bench)
        await store.upsert_creative_features(db, [
            {"platform": "facebook", "account_id": acct, "ad_id": ad, "creative_hash": ad,
             "enrichments": "[]", "enriched_at": "2024-03-11T00:00:00Z", "topic": "shoes",
             "sentiment_compound": rnd.uniform(-1, 1), "has_urgency": n % 2,
             "image_brightness": 100.0 + n} for n, ad in enumerate(ADS) if n != 2])
        rollups = []
        for d in DAYS:
            for cur, rows in (("USD", 6), ("EUR", 1)):
                rollups.append({"platform": "facebook", "account_id": acct, "currency": cur,
                                "period": "day", "period_start": d, "row_count": rows,
                                "ad_count": rows, "impressions": 1000, "clicks": 30,
                                "spend": rnd.uniform(10, 50), "conversions": 3,
                                "revenue": rnd.uniform(10, 90), "ctr": 0.03,
                                "conversion_rate": 0.1, "cpa": None, "roas": rnd.random()})
        await db.execute_in_transaction([(
            f"INSERT INTO rollup_account_daily ({', '.join(ROLLUP_COLS)}) "
            f"VALUES ({', '.join('?' * len(ROLLUP_COLS))})",
            [tuple(r[c] for c in ROLLUP_COLS) for r in rollups])])


async def observe(url: str, tmp: Path) -> dict[str, Any]:
    """Seed, materialize (some days twice, out of order) and read everything back."""
    rnd = random.Random(5)
    ad_keys = [entity_key("facebook", a, ad) for a in ACCOUNTS for ad in ADS]
    acct_keys = [entity_key("facebook", a) for a in ACCOUNTS]
    requests = [(rnd.choice(ad_keys + acct_keys),
                 f"2024-03-{rnd.randint(1, 12):02d}T{rnd.randint(0, 23):02d}:30:00+01:00")
                for _ in range(300)]
    async with DatabaseLoader.from_url(url) as db:
        await seed(db)
        fs = FeatureStore(db)
        for acct in ACCOUNTS:
            await fs.materialize(platform="facebook", account_id=acct, days=DAYS[5:])
            await fs.materialize(platform="facebook", account_id=acct, days=DAYS)
        cols = "entity, entity_key, feature, event_timestamp, value_real, value_text"
        out: dict[str, Any] = {
            "history": sorted(tuple(r.values()) for r in await db.fetch_dicts(
                f"SELECT {cols} FROM feature_history")),
            "online": sorted(tuple(r.values()) for r in await db.fetch_dicts(
                "SELECT entity, entity_key, feature, value_real, value_text, event_timestamp "
                "FROM feature_online")),
            "get_online": [await fs.get_online("ad", k) for k in ad_keys]
            + [await fs.get_online("account", k) for k in acct_keys],
            "historical": await fs.get_historical(
                requests, [f.name for f in (*features_of("ad"), *features_of("account"))]),
        }
        for ent in ("ad", "account"):
            t = pq.read_table(await fs.export_parquet(tmp / f"{ent}.parquet", ent))
            out[f"export_{ent}"] = t.drop_columns(["created"]).to_pylist()
    return out


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages end inside one key's history, so the keyset cursor's order is exercised.
    monkeypatch.setattr(fs_mod, "EXPORT_PAGE", 11)


@pytest.fixture
async def sqlite_view(tmp_path: Path, small_pages: None) -> AsyncIterator[dict[str, Any]]:
    (tmp_path / "lite").mkdir()
    yield await observe(f"sqlite:///{tmp_path}/lite.db", tmp_path / "lite")


async def test_same_sources_same_store_on_both_backends(
        tmp_path: Path, pg_any_url: str, sqlite_view: dict[str, Any]) -> None:
    """Tables, online vectors, point-in-time rows and paged exports are identical."""
    (tmp_path / "pg").mkdir()
    pg = await observe(pg_any_url, tmp_path / "pg")
    lite = sqlite_view
    assert len(lite["history"]) > 1000 and len(lite["export_ad"]) == len(ACCOUNTS) * 60
    for part in ("history", "online", "get_online", "historical", "export_ad",
                 "export_account"):
        assert pg[part] == lite[part], part
    # The ad whose creative is missing reads None, not a neighbour's value.
    assert lite["get_online"][2]["topic"] is None and lite["get_online"][0]["topic"] == "shoes"
    assert any(r["ad_ctr_7d"] is not None for r in lite["historical"])
    assert any(r["ad_ctr_7d"] is None for r in lite["historical"])
