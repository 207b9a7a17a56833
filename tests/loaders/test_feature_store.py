"""Feature store on SQLite and PostgreSQL: materialize, online reads, point in time, export.

Tests taking ``db`` or ``fs`` run once per backend (a real SQLite file, a real database).

The account-day rollup is seeded with the rows ``analytics.refresh_rollups`` computes for
these ad rows (checked against it in ``test_seeded_rollups_match_refresh_rollups``), so the
store's own tests do not depend on the rollup refresh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from within_daemon.errors import LoaderError
from within_daemon.features import FEATURES, FEATURES_BY_NAME, describe, features_of
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.feature_store import FeatureStore, day_end, normalize_ts
from within_daemon.loaders.schema.analytics import (
    BENCHMARK_COLUMNS,
    CREATIVE_COLUMNS,
    HISTORY_COLUMNS,
)
from within_daemon.loaders.schema.rollups import ROLLUP_TABLES
from within_daemon.schema import AD_FIELDS

D1, D3, D5 = "2024-03-01", "2024-03-03", "2024-03-05"
DAYS = (D1, D3, D5)
AD1, AD2, ACCT = "facebook:act_1:ad1", "facebook:act_1:ad2", "facebook:act_1"
CTR = {D1: 0.1, D3: 0.3, D5: 0.5}


def ad_row(ad_id: str, day: str) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="facebook", account_id="act_1", ad_id=ad_id, date=day, currency="USD",
             impressions=1000, clicks=20, spend=10.0, conversions=2, revenue=30.0,
             headline="Sale ends today")
    return r


def history_row(ad_id: str, day: str, scale: float = 1.0) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(c for c, _ in HISTORY_COLUMNS)
    r.update(ad_id=ad_id, date=day, ad_ctr_7d=CTR[day] * scale, ad_days_28d=3,
             acct_ctr_7d=CTR[day] / 10, ad_cpa_7d=None)
    return r


async def seed(db: DatabaseLoader, scale: float = 1.0) -> None:
    await db.write_batch(run_id="r", task="t", kind="ad", fetched_at="2024-03-06T00:00:00Z",
                         records=[ad_row(a, d) for a in ("ad1", "ad2") for d in DAYS])
    await store.upsert_history(db, "facebook", "act_1",
                               [history_row(a, d, scale) for a in ("ad1", "ad2") for d in DAYS])
    await store.upsert_benchmarks(db, [
        {"platform": "facebook", "account_id": "act_1", "ad_id": "ad1", "date": d,
         "topic": "apparel", "peer_group_size": 5, "ctr_percentile": 0.25,
         "cpa_percentile": None, "roas_percentile": 0.75} for d in DAYS])
    await store.upsert_creative_features(db, [
        {"platform": "facebook", "account_id": "act_1", "ad_id": "ad1", "creative_hash": "h",
         "enrichments": "[]", "enriched_at": "2024-03-06T00:00:00Z", "topic": "apparel",
         "sentiment_compound": 0.4, "has_urgency": 1}])
    await seed_rollups(db)


#: rollup_account_daily columns, and per day what refresh_rollups makes of the two ad rows.
ROLLUP_COLS = [c for c, _ in ROLLUP_TABLES["rollup_account_daily"][0]]
ROLLUP_DAY = {"currency": "USD", "period": "day", "row_count": 2, "ad_count": 2,
              "impressions": 2000, "clicks": 40, "spend": 20.0, "conversions": 4,
              "revenue": 60.0, "ctr": 0.02, "conversion_rate": 0.1, "cpa": 5.0, "roas": 3.0}


async def seed_rollups(db: DatabaseLoader) -> None:
    rows = [{**ROLLUP_DAY, "platform": "facebook", "account_id": "act_1", "period_start": d}
            for d in DAYS]
    # A minority currency on the last day: the store keeps the day's dominant one.
    rows.append({**ROLLUP_DAY, "platform": "facebook", "account_id": "act_1",
                 "period_start": D5, "currency": "EUR", "row_count": 1, "spend": 99.0})
    sql = (f"INSERT INTO rollup_account_daily ({', '.join(ROLLUP_COLS)}) "
           f"VALUES ({', '.join('?' * len(ROLLUP_COLS))})")
    await db.execute_in_transaction([(sql, [tuple(r[c] for c in ROLLUP_COLS) for r in rows])])


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


@pytest.fixture
async def fs(db: DatabaseLoader) -> FeatureStore:
    await seed(db)
    fs = FeatureStore(db)
    await fs.materialize(platform="facebook", account_id="act_1", days=DAYS)
    return fs


async def test_seeded_rollups_match_refresh_rollups(db: DatabaseLoader) -> None:
    """The hand-seeded account-day rollup equals what refresh_rollups computes."""
    await db.write_batch(run_id="r", task="t", kind="ad", fetched_at="2024-03-06T00:00:00Z",
                         records=[ad_row(a, d) for a in ("ad1", "ad2") for d in DAYS])
    await store.refresh_rollups(db, DAYS)
    got = await db.fetch_dicts(f"SELECT {', '.join(ROLLUP_COLS)} FROM rollup_account_daily "
                               "ORDER BY period_start")
    want = [{**ROLLUP_DAY, "platform": "facebook", "account_id": "act_1", "period_start": d}
            for d in DAYS]
    assert got == [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in r.items()}
                   for r in want]


async def test_online_returns_latest_values(fs: FeatureStore) -> None:
    """After materializing three days, the online vector holds the newest day's values."""
    got = await fs.get_online("ad", AD1)
    assert set(got) == {f.name for f in features_of("ad")}
    assert got["ad_ctr_7d"] == pytest.approx(0.5)
    assert got["ad_days_28d"] == 3 and isinstance(got["ad_days_28d"], int)
    assert got["ad_cpa_7d"] is None and got["cpa_percentile"] is None
    assert got["topic"] == "apparel" and got["has_urgency"] == 1
    assert got["roas_percentile"] == pytest.approx(0.75)
    acct = await fs.get_online("account", ACCT, ["acct_ctr_7d", "acct_spend_1d",
                                                 "acct_ctr_1d", "acct_currency_1d"])
    assert acct == {"acct_ctr_7d": pytest.approx(0.05), "acct_spend_1d": 20.0,
                    "acct_ctr_1d": pytest.approx(0.02), "acct_currency_1d": "USD"}
    assert (await fs.get_online("ad", "facebook:act_1:nope"))["ad_ctr_7d"] is None


async def test_online_is_not_rolled_back_by_an_older_day(fs: FeatureStore) -> None:
    """Re-materializing only an old day leaves the online value of the newest day."""
    await fs.materialize(platform="facebook", account_id="act_1", days=[D1])
    assert (await fs.get_online("ad", AD1, ["ad_ctr_7d"])) == {"ad_ctr_7d": pytest.approx(0.5)}


async def test_online_rejects_unknown_or_mismatched_features(fs: FeatureStore) -> None:
    """Unknown feature names, wrong-entity features and unknown entities are errors."""
    with pytest.raises(LoaderError, match="unknown feature"):
        await fs.get_online("ad", AD1, ["nope"])
    with pytest.raises(LoaderError, match="describes an account"):
        await fs.get_online("ad", AD1, ["acct_ctr_7d"])
    with pytest.raises(LoaderError, match="unknown entity"):
        await fs.get_online("campaign", AD1)


async def test_point_in_time_never_returns_a_later_value(fs: FeatureStore) -> None:
    """Values on days 1, 3, 5: day 4 sees day 3's value, before day 1 sees None."""
    rows = [(AD1, "2024-03-04T12:00:00Z"), (AD1, "2024-02-28T12:00:00+00:00"),
            (AD1, "2024-03-05T23:59:59Z"), (AD1, "2024-03-05T23:59:58.999Z"),
            (AD2, datetime(2024, 3, 9, tzinfo=UTC)), (AD1, "2024-03-02")]
    got = await fs.get_historical(rows, ["ad_ctr_7d", "acct_ctr_7d", "topic"])
    assert [g["ad_ctr_7d"] for g in got] == [
        pytest.approx(0.3), None, pytest.approx(0.5), pytest.approx(0.3), pytest.approx(0.5),
        pytest.approx(0.1)]
    # account features of an ad key are read for the ad's account, same cut-off
    assert got[0]["acct_ctr_7d"] == pytest.approx(0.03) and got[1]["acct_ctr_7d"] is None
    assert got[0]["topic"] == "apparel" and got[4]["topic"] is None  # ad2 has no creative row
    assert [g["entity_key"] for g in got] == [r[0] for r in rows]


async def test_point_in_time_local_offsets_are_converted_to_utc(fs: FeatureStore) -> None:
    """Offsets are compared in UTC: 4th 01:00+02:00 is before the 3rd's values are final."""
    got = await fs.get_historical([(AD1, "2024-03-04T01:00:00+02:00"),
                                   (AD1, "2024-03-03T20:00:00-05:00")], ["ad_ctr_7d"])
    assert [g["ad_ctr_7d"] for g in got] == [pytest.approx(0.1), pytest.approx(0.3)]
    assert normalize_ts("2024-03-03T20:00:00-05:00") == "2024-03-04T01:00:00Z"


async def test_rematerialize_is_idempotent(db: DatabaseLoader, fs: FeatureStore) -> None:
    """Materializing the same days twice changes no row, not even created_timestamp."""
    sql = "SELECT * FROM feature_history ORDER BY entity, entity_key, feature, event_timestamp"
    before = await db.fetch_dicts(sql)
    online = await db.fetch_dicts("SELECT * FROM feature_online ORDER BY 1, 2, 3")
    await fs.materialize(platform="facebook", account_id="act_1", days=list(reversed(DAYS)))
    assert await db.fetch_dicts(sql) == before
    assert await db.fetch_dicts("SELECT * FROM feature_online ORDER BY 1, 2, 3") == online
    assert len(before) > 0 and len(online) > 0


async def test_restated_source_replaces_value(db: DatabaseLoader, fs: FeatureStore) -> None:
    """A recomputed day replaces its history value, online follows for the newest day."""
    await store.upsert_history(db, "facebook", "act_1", [history_row("ad1", D5, scale=2.0)])
    await fs.materialize(platform="facebook", account_id="act_1", days=[D5])
    assert (await fs.get_online("ad", AD1, ["ad_ctr_7d"]))["ad_ctr_7d"] == pytest.approx(1.0)
    rows = await db.fetch_dicts("SELECT COUNT(*) AS n FROM feature_history WHERE entity_key = ?"
                                " AND feature = 'ad_ctr_7d'", [AD1])
    assert rows[0]["n"] == 3


async def test_export_parquet_round_trips(tmp_path: Path, fs: FeatureStore) -> None:
    """Export is Feast-shaped: keys, tz-aware timestamps, typed wide features, all rows."""
    path = await fs.export_parquet(tmp_path / "out" / "ad.parquet", "ad", row_group_rows=2)
    t = pq.read_table(path)
    names = [f.name for f in features_of("ad")]
    assert t.column_names == ["platform", "account_id", "ad_id", "event_timestamp", "created",
                              *names]
    assert t.schema.field("event_timestamp").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("created").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("ad_days_28d").type == pa.int64()
    assert t.schema.field("topic").type == pa.string()
    assert t.schema.field("ad_ctr_7d").type == pa.float64()
    assert t.num_rows == 6  # 2 ads x 3 days
    assert pq.ParquetFile(path).metadata.num_row_groups >= 2
    rows = t.to_pylist()
    first = rows[0]
    assert (first["platform"], first["account_id"], first["ad_id"]) == ("facebook", "act_1",
                                                                        "ad1")
    assert first["event_timestamp"] == datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert first["event_timestamp"].tzinfo is not None
    assert first["ad_ctr_7d"] == pytest.approx(0.1) and first["topic"] == "apparel"
    acct = pq.read_table(await fs.export_parquet(tmp_path / "acct.parquet", "account"))
    assert acct.column_names[:4] == ["platform", "account_id", "event_timestamp", "created"]
    assert acct.num_rows == 3
    assert not list(tmp_path.rglob("*.part"))


async def test_export_pages_through_history(tmp_path: Path, fs: FeatureStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With a page smaller than one key's history the export still yields whole rows."""
    from within_daemon.loaders.feature_store import store as mod
    whole = pq.read_table(await fs.export_parquet(tmp_path / "a.parquet", "ad"))
    monkeypatch.setattr(mod, "EXPORT_PAGE", 7)
    paged = pq.read_table(await fs.export_parquet(tmp_path / "b.parquet", "ad"))
    assert paged.to_pylist() == whole.to_pylist()


async def test_export_of_empty_history_has_schema(tmp_path: Path, db: DatabaseLoader) -> None:
    """An empty store exports a valid, empty file with the full schema."""
    t = pq.read_table(await FeatureStore(db).export_parquet(tmp_path / "e.parquet", "account"))
    assert t.num_rows == 0 and "acct_ctr_7d" in t.column_names


def test_describe_lists_every_feature() -> None:
    """describe() has one line per feature with its entity, type and description."""
    lines = describe().splitlines()
    for f in FEATURES:
        (line,) = [x for x in lines if x.split()[:1] == [f.name]]
        assert f" {f.entity} " in line and f" {f.dtype} " in line
        assert line.endswith(f.description)


def test_feature_sources_exist_in_the_schema() -> None:
    """Every FeatureDef reads a column its source table's DDL really has, with a fitting type."""
    tables = {
        "ad_history": dict(HISTORY_COLUMNS),
        "ad_benchmarks": dict(BENCHMARK_COLUMNS),
        "ad_creative_features": dict(CREATIVE_COLUMNS),
        "rollup_account_daily": dict(ROLLUP_TABLES["rollup_account_daily"][0]),
    }
    want = {"float": "REAL", "int": "INTEGER", "str": "TEXT"}
    for f in FEATURES:
        cols = tables[f.source_table]
        assert f.source_column in cols, f"{f.name}: {f.source_table}.{f.source_column}"
        assert cols[f.source_column].split()[0] == want[f.dtype], f.name
    assert len(FEATURES) >= 20 and len(FEATURES_BY_NAME) == len(FEATURES)


def test_day_end_and_bad_input() -> None:
    """Days end at 23:59:59Z; malformed days and timestamps are refused."""
    assert day_end("2024-03-01") == "2024-03-01T23:59:59Z"
    with pytest.raises(ValueError):
        day_end("2024-3-1")
    with pytest.raises(LoaderError):
        normalize_ts("yesterday")
