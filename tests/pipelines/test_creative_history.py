"""Creative versions: an edited creative reaches only the rows from the day it was first seen.

``ad_creative_history`` keeps every creative an ad was seen with, each valid from its day;
training rows and the feature history take the version in effect on their date. Tests
taking ``db`` run once per backend (a real SQLite file, a real PostgreSQL database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from within_daemon.config import LoadedConfig
from within_daemon.daemon import run_once
from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.feature_store import FeatureStore, day_end, entity_key
from within_daemon.loaders.schema import migrations
from within_daemon.loaders.schema.analytics import BEGINNING
from within_daemon.loaders.schema.dialect import SQLITE
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.enrich_actor import EnrichActor
from within_daemon.pipelines.messages import RecordBatch, RunRef
from within_daemon.pipelines.training import CREATIVE_FEATURES, TrainingDataPipeline
from within_daemon.records import ad_day
from within_daemon.sandbox import FacebookEmulator

from .test_training_data import (
    AD_FEATURES,
    CTR_PER_MILLE,
    DAYS,
    all_rows,
    base_records,
    day,
    feats,
    record,
    write,
)

#: The day ad1's creative is edited (first seen edited).
EDIT = 40
CREATIVE = list(CREATIVE_FEATURES)
OLD = {"topic": "shoes", "sentiment_compound": 0.1, "image_brightness": 100.0}
NEW = {"topic": "boots", "sentiment_compound": -0.5, "image_brightness": 42.0}


def creative(ad: str, values: dict[str, Any], observed: int, *,
             creative_hash: str = "") -> dict[str, Any]:
    """An enrich actor's row: ``ad``'s creative as seen on day ``observed``."""
    return {"platform": "facebook", "account_id": "acct1", "ad_id": ad,
            "creative_hash": creative_hash or values["topic"], "enrichments": "sentiment",
            "enriched_at": f"{day(observed)}T06:00:00Z", "observed_on": day(observed),
            **values}


async def versions(db: DatabaseLoader, ad: str = "ad1") -> list[tuple[str, str, str]]:
    """``(valid_from, creative_hash, observed_at)`` of ``ad``'s versions, oldest first."""
    rows = await db.fetch_dicts(
        "SELECT valid_from, creative_hash, observed_at FROM ad_creative_history "
        "WHERE ad_id = ?", [ad])
    return sorted((r["valid_from"], r["creative_hash"], r["observed_at"]) for r in rows)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


# -- versions ----------------------------------------------------------------------------------


async def test_an_edit_adds_a_version_a_reobservation_does_not(db: DatabaseLoader) -> None:
    """One version from the beginning; the same hash again adds none; an edit one from its day.

    The current table follows the newest creative.
    """
    await store.upsert_creative_features(db, [creative("ad1", OLD, 10)])
    first = [(BEGINNING, "shoes", f"{day(10)}T06:00:00Z")]
    assert await versions(db) == first
    await store.upsert_creative_features(db, [creative("ad1", OLD, 12)])
    await store.upsert_creative_features(db, [creative("ad1", OLD, 30)])
    assert await versions(db) == first  # observed_at stays that of the first sighting

    await store.upsert_creative_features(db, [creative("ad1", NEW, EDIT)])
    edited = [*first, (day(EDIT), "boots", f"{day(EDIT)}T06:00:00Z")]
    assert await versions(db) == edited
    await store.upsert_creative_features(db, [creative("ad1", NEW, EDIT + 3)])
    assert await versions(db) == edited
    current = await db.fetch_dicts(
        "SELECT creative_hash, topic FROM ad_creative_features WHERE ad_id = ?", ["ad1"])
    assert current == [{"creative_hash": "boots", "topic": "boots"}]

    # Reverted later: the old creative again is a new version (it was not in effect then).
    await store.upsert_creative_features(db, [creative("ad1", OLD, 50)])
    assert [v[:2] for v in await versions(db)] == [
        (BEGINNING, "shoes"), (day(EDIT), "boots"), (day(50), "shoes")]
    # Another ad is untouched.
    assert await versions(db, "ad2") == []


async def test_same_hash_refreshes_columns_and_same_day_edits_keep_the_last(
        db: DatabaseLoader) -> None:
    """Re-enriching a version updates it in place; of two creatives in one day the later stays."""
    await store.upsert_creative_features(db, [
        creative("ad1", {**OLD, "image_brightness": None}, 10, creative_hash="h1")])
    await store.upsert_creative_features(db, [creative("ad1", OLD, 11, creative_hash="h1")])
    got = await db.fetch_dicts("SELECT valid_from, image_brightness FROM ad_creative_history")
    assert got == [{"valid_from": BEGINNING, "image_brightness": 100.0}]

    # Two edits seen on day 20 (in one call: rows of one ad apply in order), then a late,
    # older sighting of the first of them: the later one stands for the day.
    await store.upsert_creative_features(db, [
        creative("ad1", NEW, 20, creative_hash="h2"),
        {**creative("ad1", {**NEW, "topic": "sandals"}, 20, creative_hash="h3"),
         "enriched_at": f"{day(20)}T09:00:00Z"}])
    await store.upsert_creative_features(db, [creative("ad1", NEW, 20, creative_hash="h2")])
    assert [v[:2] for v in await versions(db)] == [(BEGINNING, "h1"), (day(20), "h3")]


async def test_observation_day_defaults_to_enriched_at_and_must_be_a_day(
        db: DatabaseLoader) -> None:
    """Without ``observed_on`` the UTC day of ``enriched_at`` dates a version; junk is refused."""
    await store.upsert_creative_features(db, [creative("ad1", OLD, 1)])
    row = creative("ad1", NEW, 7)
    del row["observed_on"]
    await store.upsert_creative_features(db, [row])
    assert [v[:2] for v in await versions(db)] == [(BEGINNING, "shoes"), (day(7), "boots")]
    with pytest.raises(LoaderError):
        await store.upsert_creative_features(db, [{**row, "observed_on": "yesterday"}])


async def test_versions_fall_back_to_the_current_creative(db: DatabaseLoader) -> None:
    """An ad with a current creative but no history has it as its one version."""
    await db.execute_in_transaction([(
        "INSERT INTO ad_creative_features (platform, account_id, ad_id, creative_hash, "
        "enrichments, enriched_at, topic) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [("facebook", "acct1", "ad9", "h", "", "now", "shoes")])])
    await store.upsert_creative_features(db, [creative("ad1", OLD, 1),
                                              creative("ad1", NEW, EDIT)])
    got = await store.creative_versions(db, ["topic"], platform="facebook")
    assert got[("facebook", "acct1", "ad9")].starts == [BEGINNING]
    ad1 = got[("facebook", "acct1", "ad1")]
    assert [ad1.on(day(i)) for i in (0, EDIT - 1, EDIT, DAYS)] == [
        {"topic": "shoes"}, {"topic": "shoes"}, {"topic": "boots"}, {"topic": "boots"}]
    assert ad1.on("0000-12-31") is None
    assert await store.creative_versions(db, ["topic"], account_id="other") == {}
    with pytest.raises(LoaderError):
        await store.creative_versions(db, ["topic; DROP TABLE ad_data"])


# -- training data -----------------------------------------------------------------------------


async def test_training_rows_take_the_creative_of_their_day(
        db: DatabaseLoader, tmp_path: Path) -> None:
    """Rows before the edit day keep the old creative, rows from it on get the new one.

    Nothing else moves; unchanged creatives give the dataset of the current-table join.
    """
    await write(db, base_records(), run_id="r1")
    # The current table alone (a database from before the history): every ad's one creative.
    await db.execute_in_transaction([(
        "INSERT INTO ad_creative_features (platform, account_id, ad_id, creative_hash, "
        "enrichments, enriched_at, topic, sentiment_compound, image_brightness) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [("facebook", "acct1", ad, "shoes", "sentiment", f"{day(0)}T06:00:00Z", "shoes", 0.1,
          100.0) for ad in CTR_PER_MILLE])])
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    legacy = await pipe.build_ad_score(purge=False)
    # The same creatives seen through the store: first versions, the same dataset.
    await store.upsert_creative_features(db, [creative(ad, OLD, 0) for ad in CTR_PER_MILLE])
    await store.upsert_creative_features(db, [creative(ad, OLD, 20) for ad in CTR_PER_MILLE])
    before = await pipe.build_ad_score(purge=False)
    assert not before["created"] and before["content_hash"] == legacy["content_hash"]

    await store.upsert_creative_features(db, [creative("ad1", NEW, EDIT)])
    after = await pipe.build_ad_score(purge=False)
    assert after["created"] and after["version"] != before["version"]
    a = all_rows(pipe.store, "ad_score", before["version"])
    b = all_rows(pipe.store, "ad_score", after["version"])
    assert a.keys() == b.keys()
    others = [n for n in (*AD_FEATURES, "label", "label_value") if n not in CREATIVE]
    seen = {"old": 0, "new": 0}
    for key, row in a.items():
        assert feats(row, others) == feats(b[key], others), key
        if key[1] == "ad1" and key[2] >= day(EDIT):
            assert {n: b[key][n] for n in NEW} == NEW, key
            seen["new"] += 1
        else:
            assert feats(row, CREATIVE) == feats(b[key], CREATIVE), key
            assert {n: row[n] for n in OLD} == OLD, key
            seen["old"] += key[1] == "ad1"
    assert seen["old"] > 5 and seen["new"] > 5  # both sides of the edit are in the dataset


async def test_as_of_before_the_edit_ignores_it(db: DatabaseLoader, tmp_path: Path) -> None:
    """A dataset as of a day before the edit is the one built before the edit happened."""
    await write(db, base_records(), run_id="r1")
    await store.upsert_creative_features(db, [creative(ad, OLD, 0) for ad in CTR_PER_MILLE])
    pipe = TrainingDataPipeline(db, tmp_path / "store")
    as_of = date.fromisoformat(day(EDIT - 1))
    before = await pipe.build_ad_score(as_of=as_of, purge=False)
    await store.upsert_creative_features(db, [creative("ad1", NEW, EDIT)])
    again = await pipe.build_ad_score(as_of=as_of, purge=False)
    assert not again["created"] and again["content_hash"] == before["content_hash"]


# -- feature store -----------------------------------------------------------------------------


async def test_feature_history_takes_the_creative_of_its_day(db: DatabaseLoader) -> None:
    """Days before the edit keep the old creative, also when first materialized after it."""
    days = [day(i) for i in range(EDIT - 3, EDIT + 3)]
    await db.write_batch(run_id="r1", task="t", kind="ad", fetched_at="2024-03-01T00:00:00Z",
                         records=[record(ad, i) for ad in ("ad1", "ad2")
                                  for i in range(EDIT - 3, EDIT + 3)])
    await store.upsert_creative_features(db, [creative(ad, OLD, EDIT - 3)
                                              for ad in ("ad1", "ad2")])
    fs = FeatureStore(db)
    await fs.materialize(platform="facebook", account_id="acct1", days=days[:1])
    await store.upsert_creative_features(db, [creative("ad1", NEW, EDIT)])
    # Every day, as a backfill would: days[1:3] are new to the store, yet before the edit.
    await fs.materialize(platform="facebook", account_id="acct1", days=days)

    ad1, ad2 = entity_key("facebook", "acct1", "ad1"), entity_key("facebook", "acct1", "ad2")
    rows = await fs.get_historical([(k, day_end(d)) for k in (ad1, ad2) for d in days],
                                   ["topic", "sentiment_compound", "image_brightness"])
    got = [(r["entity_key"], r["event_timestamp"][:10], r["topic"]) for r in rows]
    assert got == [(ad1, d, "shoes" if d < day(EDIT) else "boots") for d in days] + [
        (ad2, d, "shoes") for d in days]
    new = [r for r in rows if r["topic"] == "boots"]
    assert all(r["sentiment_compound"] == -0.5 and r["image_brightness"] == 42.0 for r in new)
    assert (await fs.get_online("ad", ad1, ["topic"])) == {"topic": "boots"}
    # The day materialized before the edit was not rewritten (same value, same stamp).
    stamps = await db.fetch_dicts(
        "SELECT event_timestamp, created_timestamp FROM feature_history "
        "WHERE entity_key = ? AND feature = 'topic'", [ad1])
    created = {r["event_timestamp"][:10]: r["created_timestamp"] for r in stamps}
    assert created[days[0]] < created[days[1]] == created[day(EDIT)]


# -- the enrich actor's observation day --------------------------------------------------------


def batch(dates: Sequence[str], fetched_at: str) -> RecordBatch:
    ref = RunRef("run", "ads", "ad", "facebook", "acct1", "AdDataPipeline",
                 enrich=("sentiment",))
    recs = []
    for d in dates:
        r = record("ad1", 0)
        r.update(date=d, headline="Big sale", description="Shoes for less")
        recs.append(r)
    return RecordBatch(ref, [ad_day(r) for r in recs], [], fetched_at, len(recs))


@pytest.mark.parametrize(("dates", "fetched_at", "observed"), [
    # A backfill of old days comes with today's creative: dated by the fetch, not the rows.
    (["2023-01-01", "2023-01-02"], "2024-03-10T05:00:00.000000Z", "2024-03-10"),
    # An account east of UTC already in its next day: that day's row is the later.
    (["2024-03-10", "2024-03-11"], "2024-03-10T22:00:00.000000Z", "2024-03-11"),
    (["2024-03-09"], "2024-03-10T01:00:00+05:00", "2024-03-09"),
])
async def test_enrich_actor_dates_an_observation(dates: list[str], fetched_at: str,
                                                 observed: str) -> None:
    """``observed_on``: the UTC day of the fetch, or the ad's latest row date if later."""
    actor = EnrichActor(None, None, fetcher=None)
    [row] = await actor.features(batch(dates, fetched_at))
    assert row["observed_on"] == observed and row["creative_hash"]


async def test_engine_runs_record_an_edit_once(
        emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]) -> None:
    """Through the engine: a version per ad; a rerun adds none; an edited ad gets one more."""
    loaded = make_config(tasks=[{"name": "ads", "pipeline": "AdDataPipeline",
                                 "lookback_days": 5, "enrich": ["sentiment"]}])

    async def history() -> list[dict[str, Any]]:
        async with DatabaseLoader.from_url(loaded.config.database.url,
                                           base_dir=loaded.base_dir) as db:
            return await db.fetch_dicts(
                "SELECT h.account_id, h.ad_id, h.valid_from, h.creative_hash, "
                "h.headline_sentiment, (SELECT MAX(date) FROM ad_data a WHERE "
                "a.account_id = h.account_id AND a.ad_id = h.ad_id) AS last_day "
                "FROM ad_creative_history h")

    [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    first = await history()
    assert len(first) == 20 and {r["valid_from"] for r in first} == {BEGINNING}
    [res] = await run_once(loaded, metrics=Metrics())  # a new process: nothing cached
    assert res.status == "success" and await history() == first

    acct = sorted(emulator.accounts)[0]
    ad = emulator.data(acct).ads[0]
    ad.graph["creative"]["title"] = "Terrible awful broken sale"
    # The edit is dated by the account's own calendar (the sandbox accounts are in LA).
    la = ZoneInfo("America/Los_Angeles")
    today = datetime.now(la).date().isoformat()
    [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    now = await history()
    [new] = [r for r in now if r not in first]
    assert (new["account_id"], new["ad_id"]) == (acct, ad.graph["id"])
    assert new["valid_from"] in {max(day, new["last_day"])
                                 for day in (today, datetime.now(la).date().isoformat())}
    [old] = [r for r in first if r["ad_id"] == new["ad_id"]]
    assert new["creative_hash"] != old["creative_hash"]
    assert new["headline_sentiment"] < 0 <= old["headline_sentiment"]


# -- migration ---------------------------------------------------------------------------------


async def test_migration_8_seeds_the_history_of_an_older_database(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at migration 7 gets the table, its current creatives as first versions."""
    every = migrations.migrations
    with monkeypatch.context() as m:
        # 9 adds ad_data.link_clicks, a fact column the loader checks for on every open.
        m.setattr(migrations, "migrations",
                  lambda d=SQLITE: tuple(x for x in every(d)
                                                  if x.version <= 7 or x.version == 9))
        async with DatabaseLoader.from_url(db_url) as old:
            await old.execute_in_transaction([(
                "INSERT INTO ad_creative_features (platform, account_id, ad_id, creative_hash, "
                "enrichments, enriched_at, topic) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [("facebook", "acct1", "ad1", "h", "", "2024-01-05T00:00:00Z", "shoes")])])
            applied = await old.fetch_dicts(
                "SELECT MAX(version) AS v FROM schema_migrations WHERE version < 9")
            assert applied == [{"v": 7}]
    async with DatabaseLoader.from_url(db_url) as db:
        rows = await db.fetch_dicts("SELECT version FROM schema_migrations WHERE version = 8")
        assert rows == [{"version": 8}]
        assert await db.count_rows("ad_creative_history") == 1
        assert await versions(db) == [(BEGINNING, "h", "2024-01-05T00:00:00Z")]
        got = await db.fetch_dicts("SELECT topic FROM ad_creative_history")
        assert got == [{"topic": "shoes"}]
        # And it is in use: an edit adds a version next to the seeded one.
        await store.upsert_creative_features(db, [creative("ad1", NEW, EDIT)])
        assert [v[:2] for v in await versions(db)] == [(BEGINNING, "h"), (day(EDIT), "boots")]
