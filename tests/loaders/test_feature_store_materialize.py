"""The set-based materialize stores what the row-at-a-time one stored, value for value.

``reference_materialize`` below is the store's former ``materialize`` (every source row read
into Python, one long history row offered per entity, day and feature, into a long table
of its own as ``feature_history`` was before schema migration 15). The same sources are
materialized by it and by ``FeatureStore.materialize`` (SQL inside the database, into one
wide table per feature view, :mod:`within_daemon.loaders.feature_store.materialize`), on
each backend, in steps of a few days, re-run over restated sources and in a backfill
order (newest days first); the oracle's long table and the ``feature_history`` view (the
wide tables unpivoted), but ``created_timestamp``, and the online tables must be identical.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from within_daemon.features import FEATURES, FEATURES_BY_NAME, FeatureDef, features_of
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.analytics import CreativeVersions, creative_versions
from within_daemon.loaders.feature_store import FeatureStore, day_end, entity_key
from within_daemon.loaders.feature_store import materialize as fsm
from within_daemon.loaders.feature_store import store as fs_store
from within_daemon.loaders.feature_store.sql import (
    CREATIVE_SOURCE,
    SOURCES,
    source_sql,
    statements,
)
from within_daemon.loaders.feature_store.values import (
    load_value,
    now_stamp,
    parse_ts,
    store_value,
)
from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS
from within_daemon.loaders.schema.feature_store import (
    FEATURE_HISTORY_COLUMNS,
    FEATURE_VIEWS,
    feature_store_ddl,
)
from within_daemon.loaders.schema.rollups import ROLLUP_TABLES
from within_daemon.schema import AD_FIELDS

DAYS = [f"2024-03-{d:02d}" for d in range(1, 13)]
ADS = ("ad1", "ad2", "ad3", "ad4", "ad_5")
ROLLUP_COLS = [c for c, _ in ROLLUP_TABLES["rollup_account_daily"][0]]


#: The oracle's long history: ``feature_history`` as migration 6 created it, renamed.
ORACLE = "oracle_history"


def oracle_upsert(db: DatabaseLoader) -> str:
    """The former row-at-a-time history upsert (an unchanged value keeps its row)."""
    differs = "IS NOT" if db.dialect.name == "sqlite" else "IS DISTINCT FROM"
    return (
        f"INSERT INTO {ORACLE} ({', '.join(FEATURE_HISTORY_COLUMNS)}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (entity, entity_key, feature, event_timestamp) DO UPDATE SET "
        "created_timestamp = excluded.created_timestamp, value_real = excluded.value_real, "
        f"value_text = excluded.value_text WHERE {ORACLE}.value_real {differs} "
        f"excluded.value_real OR {ORACLE}.value_text {differs} excluded.value_text")


async def create_oracle(db: DatabaseLoader) -> None:
    ddl = feature_store_ddl(db.dialect)[1]
    await db.execute_in_transaction([(ddl.replace("feature_history", ORACLE), [()])])


async def reference_materialize(db: DatabaseLoader, platform: str, account_id: str,
                                days: Sequence[str], days_per_step: int = 7) -> int:
    """The former ``FeatureStore.materialize``, kept here as the oracle."""
    sql = statements(db.dialect)
    ordered = sorted(set(days))
    total = 0
    versions: dict[tuple[str, str, str], CreativeVersions] | None = None
    for i in range(0, len(ordered), days_per_step):
        chunk = ordered[i:i + days_per_step]
        created = now_stamp()
        out: list[tuple[Any, ...]] = []
        online: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for src, feats in SOURCES.items():
            rows = await db.fetch_dicts(source_sql(src, feats, len(chunk)),
                                        [platform, account_id, min(chunk), max(chunk), *chunk])
            if src == CREATIVE_SOURCE:
                if versions is None:
                    versions = await creative_versions(
                        db, [f.source_column for f in feats], platform=platform,
                        account_id=account_id)
                rows = _with_creatives(rows, feats, versions)
            for r in rows:
                key = entity_key(r["platform"], r["account_id"],
                                 r["ad_id"] if src.entity == "ad" else None)
                ts = day_end(r["day"])
                for f in feats:
                    real, text = store_value(f, r[f.name])
                    out.append((f.entity, key, f.name, ts, created, real, text))
                    slot = (f.entity, key, f.name)
                    seen = online.get(slot)
                    if seen is None or seen[5] <= ts:
                        online[slot] = (f.entity, key, f.name, real, text, ts)
        await db.execute_in_transaction([(oracle_upsert(db), out),
                                         (sql.upsert_online, list(online.values()))])
        total += len(out)
    return total


def _with_creatives(rows: list[dict[str, Any]], feats: Sequence[FeatureDef],
                    versions: dict[tuple[str, str, str], CreativeVersions],
                    ) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        ad_versions = versions.get((r["platform"], r["account_id"], r["ad_id"]))
        version = ad_versions.on(r["day"]) if ad_versions is not None else None
        if version is not None:
            out.append({**r, **{f.name: version[f.source_column] for f in feats}})
    return out


def _ad_row(account: str, ad: str, day: str, n: int) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="facebook", account_id=account, ad_id=ad, date=day, currency="USD",
             impressions=1000 + n, clicks=20 + n % 7, spend=10.0 + n / 3, conversions=n % 3,
             revenue=30.0 + n, headline="Sale ends today")
    return r


async def seed(db: DatabaseLoader, scale: float = 1.0) -> None:
    """Two accounts; gaps, NULLs, creative versions of every kind, two currencies a day."""
    for acct in ("act_1", "act_2"):
        n = 0
        rows, hist, bench = [], [], []
        for ad_i, ad in enumerate(ADS):
            for day_i, day in enumerate(DAYS):
                if (ad_i + day_i) % 5 == 4:
                    continue  # a day the ad did not run
                n += 1
                rows.append(_ad_row(acct, ad, day, n))
                h: dict[str, Any] = dict.fromkeys(c for c, _ in HISTORY_COLUMNS)
                h.update(ad_id=ad, date=day, ad_ctr_7d=n / 1000 * scale, ad_days_28d=day_i,
                         ad_cpa_7d=None if n % 4 == 0 else n / 7, acct_ctr_7d=day_i / 100,
                         acct_roas_28d=None if day_i == 3 else day_i / 7 * scale)
                hist.append(h)
                if day_i % 3 != 1:
                    bench.append({"platform": "facebook", "account_id": acct, "ad_id": ad,
                                  "date": day, "topic": "apparel", "peer_group_size": 5,
                                  "ctr_percentile": round(n / 97 * scale % 1, 6),
                                  "cpa_percentile": None, "roas_percentile": 0.5})
        await db.write_batch(run_id="r", task="t", kind="ad", fetched_at="2024-03-20T00:00:00Z",
                             records=rows)
        await store.upsert_history(db, "facebook", acct, hist)
        await store.upsert_benchmarks(db, bench)
        rollups = []
        for day_i, day in enumerate(DAYS):
            base = {c: None for c in ROLLUP_COLS}
            base.update(platform="facebook", account_id=acct, period="day", period_start=day,
                        currency="USD", row_count=5, ad_count=5, spend=20.0 * scale,
                        ctr=0.02, roas=3.0)
            rollups.append(base)
            if day_i % 4 == 0:  # a minority currency, or a tie broken by spend, currency
                rollups.append({**base, "currency": "EUR", "row_count": 5 - day_i % 8 // 4,
                                "spend": 99.0})
        await db.execute_in_transaction([(
            f"INSERT INTO rollup_account_daily ({', '.join(ROLLUP_COLS)}) "
            f"VALUES ({', '.join('?' * len(ROLLUP_COLS))})",
            [tuple(r[c] for c in ROLLUP_COLS) for r in rollups])])
    # ad1: two versions through the store (the first valid from the beginning, the second
    # from the 6th); ad2: a current creative and no history row; ad3: a version starting on
    # the 4th only (no creative before); ad4 and ad_5: none.
    base = {"platform": "facebook", "account_id": "act_1", "enrichments": "sentiment",
            "enriched_at": "2024-03-20T00:00:00Z", "topic": "apparel", "has_urgency": 1,
            "sentiment_compound": 0.4 * scale, "image_brightness": None}
    await store.upsert_creative_features(db, [
        {**base, "ad_id": "ad1", "creative_hash": "h1", "observed_on": DAYS[0]},
        {**base, "ad_id": "ad1", "creative_hash": "h2", "observed_on": DAYS[5],
         "topic": "beauty", "has_urgency": 0, "image_brightness": 0.25}])
    # act_2 has versions of the same ad ids (another from the 3rd, ad2 and ad4 too): an
    # account's ad-days must only ever find their own account's versions.
    other = {**base, "account_id": "act_2", "topic": "finance", "sentiment_compound": -0.7}
    await store.upsert_creative_features(db, [
        {**other, "ad_id": ad, "creative_hash": f"o{ad}", "observed_on": DAYS[0]}
        for ad in ("ad1", "ad2", "ad4")] + [
        {**other, "ad_id": "ad1", "creative_hash": "o2", "observed_on": DAYS[2],
         "topic": "autos"}])
    cols = ("platform", "account_id", "ad_id", "creative_hash", "enrichments", "enriched_at",
            "topic", "has_urgency", "sentiment_compound")
    vals = ("facebook", "act_1", "ad2", "h", "sentiment", "2024-03-20T00:00:00Z", "food", 0,
            -0.2 * scale)
    await db.execute_in_transaction([
        (f"INSERT INTO ad_creative_features ({', '.join(cols)}) VALUES "
         f"({', '.join('?' * len(cols))})", [vals]),
        (f"INSERT INTO ad_creative_history ({', '.join(cols)}, valid_from, observed_at) "
         f"VALUES ({', '.join('?' * (len(cols) + 2))})",
         [("facebook", "act_1", "ad3", "h3", "sentiment", "2024-03-20T00:00:00Z", "travel",
           1, 0.9 * scale, DAYS[3], "2024-03-20T00:00:00Z")])])


async def snapshot(db: DatabaseLoader, history: str = "feature_history",
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    hist = await db.fetch_dicts(
        "SELECT entity, entity_key, feature, event_timestamp, value_real, value_text "
        f"FROM {history}")
    online = await db.fetch_dicts("SELECT * FROM feature_online")
    key = lambda r: (r["entity"], r["entity_key"], r["feature"])  # noqa: E731
    return sorted(hist, key=lambda r: (*key(r), r["event_timestamp"])), sorted(online, key=key)


async def clear(db: DatabaseLoader) -> None:
    await db.execute_in_transaction([(f"DELETE FROM {t}", [()]) for t in (
        ORACLE, "feature_online", *(v.table for v in FEATURE_VIEWS))])


async def _both(db: DatabaseLoader, runs: Sequence[Sequence[str]], restate: bool = False,
                ) -> tuple[Any, Any]:
    """Snapshots after ``runs`` (each a materialize of act_1 over those days): old, new."""
    out = []
    for materialize in ("reference", "set-based"):
        await clear(db)
        if restate:
            await reseed(db, 1.0)
        for i, days in enumerate(runs):
            if restate and i == len(runs) - 1:
                await reseed(db, 1.5)  # the sources restated before the last run
            if materialize == "reference":
                await reference_materialize(db, "facebook", "act_1", days, days_per_step=3)
            else:
                await FeatureStore(db).materialize(platform="facebook", account_id="act_1",
                                                   days=days)
        out.append(await snapshot(db, ORACLE if materialize == "reference"
                                  else "feature_history"))
    return out[0], out[1]


async def reseed(db: DatabaseLoader, scale: float) -> None:
    tables = ("ad_data", "ad_history", "ad_benchmarks", "rollup_account_daily",
              "ad_creative_features", "ad_creative_history")
    await db.execute_in_transaction([(f"DELETE FROM {t}", [()]) for t in tables])
    await seed(db, scale)


@pytest.fixture
async def db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DatabaseLoader]:
    monkeypatch.setattr(fsm, "AD_DAYS_PER_STEP", 12)  # several steps of a few days
    async with DatabaseLoader.from_url(db_url) as loader:
        await seed(loader)
        await create_oracle(loader)
        yield loader


async def test_same_history_and_online_as_row_at_a_time(db: DatabaseLoader) -> None:
    old, new = await _both(db, [DAYS])
    assert len(old[0]) > 500 and old[1]
    assert new == old
    # Every view row holds all its features, so the wide tables hold 1/n of the long rows.
    wide = sum([await db.count_rows(v.table) * len(v.features) for v in FEATURE_VIEWS])
    assert wide == len(new[0])


async def test_same_after_a_backfill_newest_first(db: DatabaseLoader) -> None:
    # Later days first, then the older ones: the online values must not roll back.
    old, new = await _both(db, [DAYS[8:], DAYS[4:8], DAYS[:4]])
    assert new == old


async def test_same_after_restated_sources(db: DatabaseLoader) -> None:
    old, new = await _both(db, [DAYS, DAYS[2:9]], restate=True)
    assert new == old
    assert any(r["feature"] == "sentiment_compound" and r["value_real"] == pytest.approx(0.6)
               for r in new[0])


async def test_rows_offered_are_counted(db: DatabaseLoader) -> None:
    await clear(db)
    want = await reference_materialize(db, "facebook", "act_1", DAYS)
    await clear(db)
    got = await FeatureStore(db).materialize(platform="facebook", account_id="act_1", days=DAYS)
    assert got == want


async def test_steps_are_cut_by_ad_days(db: DatabaseLoader,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Four ads run each day (one of five skips it): 12 ad-days are three days.
    steps = await fsm._steps(db, "facebook", "act_1", DAYS)
    assert steps == [DAYS[i:i + 3] for i in range(0, 12, 3)]
    monkeypatch.setattr(fsm, "MAX_DAYS_PER_STEP", 2)
    assert await fsm._steps(db, "facebook", "act_1", DAYS) == [
        DAYS[i:i + 2] for i in range(0, 12, 2)]
    # A day bigger than a step is a step of its own; days without rows weigh nothing.
    monkeypatch.setattr(fsm, "AD_DAYS_PER_STEP", 1)
    monkeypatch.setattr(fsm, "MAX_DAYS_PER_STEP", 62)
    assert await fsm._steps(db, "facebook", "act_1", ["2024-02-01", *DAYS[:2]]) == [
        ["2024-02-01", DAYS[0]], [DAYS[1]]]


def test_every_source_has_a_reader() -> None:
    fsm.check_sources()  # (checked at import too)
    with pytest.raises(Exception, match="no reader"):
        fsm._wide_sql("nowhere", "ad", [], "?")


async def test_point_in_time_as_over_the_long_rows(db: DatabaseLoader) -> None:
    """One seek per view gives each feature's answer one seek per feature gave.

    Every feature of both entities at once, over sparse sources (days an ad did not run,
    benchmarks two days in three, a creative starting on the 4th, NULL values), for times
    before, on and between the days, keys without history and ad and account keys.
    """
    await reference_materialize(db, "facebook", "act_1", DAYS)
    long_rows = await db.fetch_dicts(f"SELECT * FROM {ORACLE}")
    await FeatureStore(db).materialize(platform="facebook", account_id="act_1", days=DAYS)
    names = [f.name for f in FEATURES]
    keys = [entity_key("facebook", "act_1", ad) for ad in (*ADS, "no_such_ad")]
    keys += ["facebook:act_1", "facebook:act_9:ad1"]
    requests = [(k, f"2024-03-{d:02d}T{t}") for k in keys for d in range(1, 15)
                for t in ("00:00:00Z", "23:59:59Z")]
    got = await FeatureStore(db).get_historical(requests, names)
    by_slot: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in long_rows:
        by_slot.setdefault((r["entity_key"], r["feature"]), []).append(r)
    answered = 0
    for (key, ts), row in zip(requests, got, strict=True):
        for f in FEATURES:
            k = key if f.entity == "ad" else ":".join(key.split(":", 2)[:2])
            older = [r for r in by_slot.get((k, f.name), []) if r["event_timestamp"] <= ts]
            last = max(older, key=lambda r: r["event_timestamp"]) if older else None
            want = None if last is None else load_value(f, last["value_real"],
                                                        last["value_text"])
            assert row[f.name] == want, (key, ts, f.name)
            answered += want is not None
    assert answered > 1000


@pytest.mark.parametrize("page", [3, 50_000])
async def test_export_is_the_long_rows_pivoted(db: DatabaseLoader, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               page: int) -> None:
    """The Parquet rows are the former export's: the long rows pivoted per key and time.

    Over sparse views (keys and days in one view and not another), in pages smaller than
    a view's rows and in one page.
    """
    import pyarrow.parquet as pq

    monkeypatch.setattr(fs_store, "EXPORT_PAGE", page)
    for acct in ("act_1", "act_2"):
        await FeatureStore(db).materialize(platform="facebook", account_id=acct, days=DAYS)
    for ent in ("ad", "account"):
        long_rows = await db.fetch_dicts("SELECT * FROM feature_history WHERE entity = ?",
                                         [ent])
        want: dict[tuple[str, str], dict[str, Any]] = {}
        for r in long_rows:
            f = FEATURES_BY_NAME[r["feature"]]
            w = want.setdefault((r["entity_key"], r["event_timestamp"]),
                                {"created": r["created_timestamp"]})
            w["created"] = max(w["created"], r["created_timestamp"])
            w[f.name] = load_value(f, r["value_real"], r["value_text"])
        path = await FeatureStore(db).export_parquet(tmp_path / f"{ent}.parquet", ent)
        got = pq.read_table(path).to_pylist()
        assert len(got) == len(want) > 20
        keys = ("platform", "account_id", "ad_id") if ent == "ad" else ("platform",
                                                                        "account_id")
        for row, ((key, ts), w) in zip(got, sorted(want.items()), strict=True):
            assert ":".join(row[k] for k in keys) == key
            assert row["event_timestamp"] == parse_ts(ts)
            assert row["created"] == parse_ts(w["created"])
            assert {n: row[n] for n in w if n != "created"} == {
                n: v for n, v in w.items() if n != "created"}
            assert all(row[f.name] is None for f in features_of(ent) if f.name not in w)


@pytest.mark.parametrize("online_days", [1000, 5])
async def test_online_rows_of_an_ad_seen_only_in_the_first_step(
        db: DatabaseLoader, monkeypatch: pytest.MonkeyPatch, online_days: int) -> None:
    # The online rows are written once, with the last step, over all the call's days
    # (in groups of ONLINE_DAYS): an ad whose newest day is in the first step keeps it.
    monkeypatch.setattr(fsm, "ONLINE_DAYS", online_days)
    early = [_ad_row("act_1", "ad_early", d, 7) for d in DAYS[:2]]
    await db.write_batch(run_id="r", task="t", kind="ad", fetched_at="2024-03-20T00:00:00Z",
                         records=early)
    hist: list[dict[str, Any]] = []
    for i, d in enumerate(DAYS[:2]):
        h: dict[str, Any] = dict.fromkeys(c for c, _ in HISTORY_COLUMNS)
        h.update(ad_id="ad_early", date=d, ad_ctr_7d=0.5 + i)
        hist.append(h)
    await store.upsert_history(db, "facebook", "act_1", hist)
    assert len(await fsm._steps(db, "facebook", "act_1", DAYS)) > 2
    old, new = await _both(db, [DAYS])
    assert new == old
    mine = [r for r in new[1] if r["entity_key"] == entity_key("facebook", "act_1",
                                                                 "ad_early")]
    assert {r["event_timestamp"] for r in mine} == {day_end(DAYS[1])}
    assert any(r["feature"] == "ad_ctr_7d" and r["value_real"] == 1.5 for r in mine)
