"""TrainingDataPipeline on SQLite and PostgreSQL: no leakage, time split, versions, labels.

Tests taking ``db`` run once per backend (a real SQLite file, a real PostgreSQL database).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.model_store import SPLITS, ModelStore
from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS
from within_daemon.pipelines.training import (
    CREATIVE_FEATURES,
    InsufficientDataError,
    TrainingDataPipeline,
)
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.enrichment import history

START = date(2024, 1, 1)
DAYS = 70
#: ad -> daily CTR (per mille of 1,000 impressions): below/above the account median.
CTR_PER_MILLE = {"ad1": 10, "ad2": 20, "ad3": 30, "ad4": 40}
HIST_NAMES = [n for n, _ in HISTORY_COLUMNS]
AD_FEATURES = HIST_NAMES + list(CREATIVE_FEATURES)
HEALTH_FEATURES = ["trail_spend", "trail_impressions", "trail_clicks", "trail_conversions",
                   "trail_revenue", "trail_ctr", "trail_cvr", "trail_roas", "trail_active_days",
                   "trail_ad_count", "last7_spend", "last7_roas", "last7_ctr", "spend_trend_7d"]


def day(i: int) -> str:
    return (START + timedelta(days=i)).isoformat()


def record(ad_id: str, i: int, *, impressions: int = 1000, clicks: int = 10,
           spend: float = 10.0, revenue: float = 20.0, conversions: float = 1,
           account: str = "acct1") -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(ad_id=ad_id, platform="facebook", account_id=account, campaign_id="c1",
             date=day(i), currency="USD", impressions=impressions, clicks=clicks,
             spend=spend, revenue=revenue, conversions=conversions, status="active")
    return r


def base_records(days: int = DAYS) -> list[dict[str, Any]]:
    out = []
    for ad, ctr in CTR_PER_MILLE.items():
        for i in range(days):
            out.append(record(ad, i, clicks=ctr + i % 3, spend=10.0 + i % 5,
                              revenue=(20.0 + ctr) * (1 + i % 4 / 10)))
    return out


async def write(db: DatabaseLoader, records: Sequence[dict[str, Any]], *, run_id: str,
                fetched_at: str = "2024-06-01T00:00:00+00:00") -> None:
    """Load ad-day records, then recompute ad_history from all of ad_data (as the daemon)."""
    await db.write_batch(run_id=run_id, task="test", kind="ad", records=list(records),
                         fetched_at=fetched_at)
    # A total order: the account sums of rolling_performance add up in row order, and the
    # same floats on both backends need the same order.
    rows = await db.fetch_dicts(
        "SELECT * FROM ad_data ORDER BY platform, account_id, date, ad_id")
    by_acct: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_acct.setdefault((r["platform"], r["account_id"]), []).append(r)
    cols = ["platform", "account_id", "ad_id", "date", "computed_at", *HIST_NAMES]
    sql = upsert("ad_history", cols, ("platform", "account_id", "ad_id", "date"))
    out = []
    for (platform, acct), rs in by_acct.items():
        targets = sorted({(r["ad_id"], r["date"]) for r in rs})
        for f in history.rolling_performance(rs, targets):
            out.append((platform, acct, f["ad_id"], f["date"], "now",
                        *(f[n] for n in HIST_NAMES)))
    await db.execute_in_transaction([(sql, out)])


def upsert(table: str, cols: Sequence[str], key: Sequence[str]) -> str:
    """Insert or replace on ``key``, spelled for both backends (no INSERT OR REPLACE)."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in key)
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}")


async def write_creatives(db: DatabaseLoader, ads: Iterable[str]) -> None:
    sql = upsert("ad_creative_features", (
        "platform", "account_id", "ad_id", "creative_hash", "enrichments", "enriched_at",
        "topic", "sentiment_compound", "image_brightness", "discount_percent_max"),
        ("platform", "account_id", "ad_id"))
    rows = [("facebook", "acct1", ad, "h", "{}", "now", "shoes", 0.1 * n, 100.0 + n, None)
            for n, ad in enumerate(ads)]
    await db.execute_in_transaction([(sql, rows)])


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


def all_rows(store: ModelStore, dataset: str, version: str) -> dict[tuple[str, ...], dict]:
    out = {}
    for s in SPLITS:
        for r in store.read_split(dataset, version, s).to_pylist():
            key = tuple(str(r[k]) for k in ("account_id", "ad_id", "date") if k in r)
            out[key] = r
    return out


def feats(row: dict[str, Any], names: Sequence[str]) -> bytes:
    return json.dumps([row[n] for n in names]).encode()


# -- no leakage ------------------------------------------------------------------------------


async def test_ad_score_features_never_see_the_row_day_or_later(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """Mutating ad1 from day d on changes labels up to d but no feature of a row dated <= d."""
    await write(db, base_records(), run_id="r1")
    await write_creatives(db, CTR_PER_MILLE)
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    before = await pipe.build_ad_score(purge=False)
    d = 40
    changed = [record("ad1", i, clicks=(10 + i % 3) * 5, spend=10.0 + i % 5,
                      revenue=30.0 * (1 + i % 4 / 10)) for i in range(d, DAYS)]
    await write(db, changed, run_id="r2", fetched_at="2024-07-01T00:00:00+00:00")
    after = await pipe.build_ad_score(purge=False)
    assert after["created"] and after["version"] != before["version"]
    a = all_rows(pipe.store, "ad_score", before["version"])
    b = all_rows(pipe.store, "ad_score", after["version"])
    assert a.keys() == b.keys()
    for key, row in a.items():
        if key[2] <= day(d):
            assert feats(row, AD_FEATURES) == feats(b[key], AD_FEATURES), key
    # The mutation is visible: later features of ad1 move, and so do its labels up to d.
    assert b[("acct1", "ad1", day(d + 1))]["ad_ctr_7d"] != a[("acct1", "ad1", day(d + 1))][
        "ad_ctr_7d"]
    for i in range(d - 6, d + 1):
        k = ("acct1", "ad1", day(i))
        assert b[k]["label_value"] > a[k]["label_value"]
    assert (a[("acct1", "ad1", day(d))]["label"], b[("acct1", "ad1", day(d))]["label"]) == (0, 1)
    assert a[("acct1", "ad1", day(d - 7))]["label_value"] == b[("acct1", "ad1", day(d - 7))][
        "label_value"]


async def test_ad_score_labels_never_see_days_before_the_row(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """Mutating ad1 before day d changes its features at d but no label of a row dated >= d."""
    await write(db, base_records(), run_id="r1")
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    before = await pipe.build_ad_score(purge=False)
    d = 40
    changed = [record("ad1", i, clicks=(10 + i % 3) * 5, spend=10.0 + i % 5,
                      revenue=30.0 * (1 + i % 4 / 10)) for i in range(d)]
    await write(db, changed, run_id="r2", fetched_at="2024-07-01T00:00:00+00:00")
    after = await pipe.build_ad_score(purge=False)
    a = all_rows(pipe.store, "ad_score", before["version"])
    b = all_rows(pipe.store, "ad_score", after["version"])
    labels = ["label", "label_value", "label_account_median"]
    for key, row in a.items():
        if key[2] >= day(d):
            assert feats(row, labels) == feats(b[key], labels), key
    k = ("acct1", "ad1", day(d))
    assert b[k]["ad_ctr_7d"] > a[k]["ad_ctr_7d"]


async def test_account_health_has_no_leakage_either_way(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """Account features ignore day d and later; next_roas ignores days before d."""
    await write(db, base_records(), run_id="r1")
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    base = await pipe.build_account_health(purge=False)
    d = 45
    later = [record(ad, i, clicks=99, spend=50.0, revenue=500.0)
             for ad in CTR_PER_MILLE for i in range(d, DAYS)]
    await write(db, later, run_id="r2", fetched_at="2024-07-01T00:00:00+00:00")
    fut = await pipe.build_account_health(purge=False)
    a = all_rows(pipe.store, "account_health", base["version"])
    b = all_rows(pipe.store, "account_health", fut["version"])
    assert a.keys() == b.keys() and len(a) > 20
    for key, row in a.items():
        if key[1] <= day(d):
            assert feats(row, HEALTH_FEATURES) == feats(b[key], HEALTH_FEATURES), key
    assert b[("acct1", day(d))]["next_roas"] != a[("acct1", day(d))]["next_roas"]
    assert b[("acct1", day(d + 1))]["trail_spend"] != a[("acct1", day(d + 1))]["trail_spend"]

    earlier = [record(ad, i, clicks=1, spend=10.0 + i % 5, revenue=1.0)
               for ad in CTR_PER_MILLE for i in range(d)]
    await write(db, earlier, run_id="r3", fetched_at="2024-08-01T00:00:00+00:00")
    past = await pipe.build_account_health(purge=False)
    c = all_rows(pipe.store, "account_health", past["version"])
    for key, row in b.items():
        if key[1] >= day(d):
            assert row["next_roas"] == c[key]["next_roas"], key
            assert row["spend_pacing"] == c[key]["spend_pacing"], key  # spend kept as is
    assert c[("acct1", day(d))]["trail_roas"] != b[("acct1", day(d))]["trail_roas"]


async def test_fractional_conversions_reach_the_datasets(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """0.25 conversions per ad-day stay 0.25: trailing sums, cvr and ad history keep them."""
    recs = [record(ad, i, clicks=10, conversions=0.25) for ad in CTR_PER_MILLE
            for i in range(DAYS)]
    await write(db, recs, run_id="r1")
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    built = await pipe.build_account_health(purge=False)
    rows = all_rows(pipe.store, "account_health", built["version"])
    row = rows[("acct1", day(40))]
    # 28 trailing days x 4 ads x 0.25: an integer store would have refused or rounded each.
    assert row["trail_conversions"] == pytest.approx(28.0)
    assert row["trail_cvr"] == pytest.approx(28.0 / (28 * 4 * 10))
    [hist] = await db.fetch_dicts(
        "SELECT ad_cvr_7d, ad_cpa_7d FROM ad_history WHERE ad_id = 'ad1' AND date = ?",
        [day(20)])
    assert (hist["ad_cvr_7d"], hist["ad_cpa_7d"]) == (
        pytest.approx(0.025), pytest.approx(70.0 / 1.75))


async def test_campaign_level_rows_count_in_sums_but_are_not_scored(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """PMax campaign rows are no ad: out of ad_score, inside the account-health sums."""
    await write(db, base_records(), run_id="r1")
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    before = all_rows(pipe.store, "account_health",
                      (await pipe.build_account_health(purge=False))["version"])
    pmax = [record("campaign:21000000900", i, clicks=500, spend=5.0) for i in range(DAYS)]
    await write(db, pmax, run_id="r2", fetched_at="2024-07-01T00:00:00+00:00")
    scored = await pipe.build_ad_score(purge=False)
    ads = {k[1] for k in all_rows(pipe.store, "ad_score", scored["version"])}
    assert ads == set(CTR_PER_MILLE)
    after = all_rows(pipe.store, "account_health",
                     (await pipe.build_account_health(purge=False))["version"])
    key = ("acct1", day(40))
    assert after[key]["trail_spend"] == pytest.approx(before[key]["trail_spend"] + 28 * 5.0)


# -- split -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["ad_score", "account_health"])
async def test_split_is_by_time_with_a_purge_gap(
        db: DatabaseLoader, tmp_path: Path, dataset: str) -> None:
    """Every train date precedes every validation date, which precede every test date."""
    await write(db, base_records(120), run_id="r1")
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    res = await pipe.build(dataset)
    dates = {s: {r["date"] for r in pipe.store.read_split(dataset, res["version"], s)
                 .to_pylist()} for s in SPLITS}
    assert all(dates[s] for s in SPLITS)
    assert max(dates["train"]) < min(dates["validation"])
    assert max(dates["validation"]) < min(dates["test"])
    assert not (dates["train"] & dates["validation"] or dates["validation"] & dates["test"])
    # Purge: no train label window (d .. d+6) reaches into the validation period.
    assert max(dates["train"]) + timedelta(days=6) < min(dates["validation"])
    assert max(dates["validation"]) + timedelta(days=6) < min(dates["test"])


async def test_too_few_dates_is_a_clear_error(db: DatabaseLoader, tmp_path: Path) -> None:
    """Fewer than three labelled dates, or a split the purge empties, is refused."""
    await write(db, [record(ad, i) for ad in CTR_PER_MILLE for i in range(8)], run_id="r1")
    pipe = TrainingDataPipeline(db, tmp_path / "s")
    with pytest.raises(InsufficientDataError, match="at least 3"):
        await pipe.build_ad_score()
    await write(db, base_records(70), run_id="r2")  # 36 labelled dates: validation has 5
    with pytest.raises(InsufficientDataError, match="purge"):
        await pipe.build_account_health()
    assert (await pipe.build_account_health(purge=False))["rows"]["validation"] > 0
    assert not (tmp_path / "s" / "ad_score").exists()


# -- versions --------------------------------------------------------------------------------


async def test_same_inputs_same_version_changed_input_new_version(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """A rebuild of the same data reuses the version; a changed value makes a new one."""
    await write(db, base_records(), run_id="r1")
    root = tmp_path / "store"
    pipe = TrainingDataPipeline(db, root)
    first = await pipe.build_ad_score()
    again = await TrainingDataPipeline(db, root).build_ad_score()
    assert first["created"] and not again["created"]
    assert again["content_hash"] == first["content_hash"]
    assert again["version"] == first["version"] == first["content_hash"][:16]
    assert [p.name for p in (root / "ad_score").iterdir()] == [first["version"]]
    assert pipe.store.find_version("ad_score", first["content_hash"]) == first["version"]

    await write(db, [record("ad2", 30, clicks=7)], run_id="r2",
                fetched_at="2024-07-01T00:00:00+00:00")
    third = await pipe.build_ad_score()
    assert third["created"] and third["content_hash"] != first["content_hash"]
    assert sorted(p.name for p in (root / "ad_score").iterdir()) == sorted(
        [first["version"], third["version"]])
    assert [m["version"] for m in pipe.store.list_versions("ad_score")] == [
        first["version"], third["version"]]
    # Different build parameters are different content too.
    other = await pipe.build_ad_score(horizon_days=5)
    assert other["created"] and other["version"] not in (first["version"], third["version"])


# -- labels ----------------------------------------------------------------------------------


async def test_ad_score_labels_on_a_hand_built_account(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """CTRs 1%, 2%, 3%, 4% give median 2.5% and labels 0, 0, 1, 1; thin ads are dropped."""
    recs = [record(ad, i, clicks=ctr) for ad, ctr in CTR_PER_MILLE.items() for i in range(9)]
    recs += [record("thin", i, impressions=10, clicks=9) for i in range(9)]  # 70 imps / week
    await db.write_batch(run_id="r1", task="t", kind="ad", records=recs,
                         fetched_at="2024-06-01T00:00:00+00:00")
    cols = ["platform", "account_id", "ad_id", "date", "computed_at"]
    await db.execute_in_transaction([(
        f"INSERT INTO ad_history ({', '.join(cols)}) VALUES (?,?,?,?,?)",
        [("facebook", "acct1", ad, day(i), "now") for ad in [*CTR_PER_MILLE, "thin"]
         for i in range(3)])])
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    res = await pipe.build_ad_score(split=(0.34, 0.33, 0.33), purge=False)
    assert res["rows"] == {"train": 4, "validation": 4, "test": 4}
    assert res["date_range"] == {"start": day(0), "end": day(2)}
    rows = all_rows(pipe.store, "ad_score", res["version"])
    assert {k[1] for k in rows} == set(CTR_PER_MILLE)  # "thin" has < 100 impressions
    for i in range(3):
        got = {ad: rows[("acct1", ad, day(i))] for ad in CTR_PER_MILLE}
        assert {ad: r["label"] for ad, r in got.items()} == {
            "ad1": 0, "ad2": 0, "ad3": 1, "ad4": 1}
        assert all(r["label_account_median"] == pytest.approx(0.025) for r in got.values())
        assert got["ad3"]["label_value"] == pytest.approx(0.03)


# -- manifest and parquet -------------------------------------------------------------------


async def test_manifest_and_parquet_round_trip(db: DatabaseLoader, tmp_path: Path) -> None:
    """The manifest describes the Parquet files exactly, and they read back typed."""
    await write(db, base_records(), run_id="r1")
    await write_creatives(db, CTR_PER_MILLE)
    await write(db, [record("ad1", 5, clicks=12)], run_id="r2",
                fetched_at="2024-07-01T00:00:00+00:00")
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    res = await pipe.build_ad_score(as_of=START + timedelta(days=60))
    path = Path(res["path"])
    assert sorted(p.name for p in path.iterdir()) == [
        "manifest.json", "test.parquet", "train.parquet", "validation.parquet"]
    m = json.loads((path / "manifest.json").read_text())
    assert m["content_hash"] == res["content_hash"] and m["version"] == res["version"]
    assert m["source_run_ids"] == ["r1", "r2"]
    assert m["as_of"] == day(60) and m["created_at"]
    assert m["date_range"] == res["date_range"] and res["date_range"]["end"] <= day(54)
    assert [f["name"] for f in m["features"]] == AD_FEATURES
    assert all(f["definition"] for f in m["features"])
    assert "median" in m["label_definition"] and "7 days" in m["label_definition"]
    assert m["key_columns"] == ["platform", "account_id", "ad_id", "date"]
    total = 0
    for s in SPLITS:
        table = pipe.store.read_split("ad_score", res["version"], s)
        assert [f["name"] for f in m["schema"]] == table.schema.names
        assert table.num_rows == m["splits"][s]["rows"] == res["rows"][s]
        assert table.schema.field("date").type == pa.date32()
        assert table.schema.field("label").type == pa.int64()
        assert table.schema.field("topic").type == pa.string()
        assert str(min(table.column("date").to_pylist())) == m["splits"][s]["date_min"]
        assert str(max(table.column("date").to_pylist())) == m["splits"][s]["date_max"]
        total += table.num_rows
    train = pipe.store.read_split("ad_score", res["version"], "train").to_pylist()
    row = next(r for r in train if r["ad_id"] == "ad3" and r["date"] == START + timedelta(10))
    assert row["topic"] == "shoes" and row["image_brightness"] == 102.0
    assert row["ad_days_7d"] == 7 and row["ad_ctr_7d"] == pytest.approx(
        sum(30 + i % 3 for i in range(3, 10)) / 7000)
    assert total + m["purged_rows"] == 4 * 55  # days 0..54 have a full 7-day label window
