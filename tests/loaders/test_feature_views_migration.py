"""Migration 15: the long ``feature_history`` rows move into the feature views (both DBs).

A database written by the daemon before migration 15 holds the history long, one row per
entity, key, feature and day. After it, the same rows read back through the
``feature_history`` view (a view row's ``created_timestamp`` is the newest of its values'),
the point-in-time answers are those the long rows gave, and a feature no longer defined is
gone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.loaders.old_schema import opened_before
from within_daemon.errors import LoaderError
from within_daemon.features import FEATURES_BY_NAME
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.feature_store import FeatureStore
from within_daemon.loaders.schema import migrations
from within_daemon.loaders.schema.feature_store import FEATURE_HISTORY_COLUMNS, FEATURE_VIEWS

AD1, AD2, ACCT = "facebook:act_1:ad1", "facebook:act_1:ad:2", "facebook:act_1"
C1, C2 = "2024-03-20T00:00:00.000001Z", "2024-03-21T00:00:00.000002Z"


def _ts(day: int) -> str:
    return f"2024-03-{day:02d}T23:59:59Z"


def _long_rows() -> list[tuple[Any, ...]]:
    """Long rows as the former store wrote them: every feature of a source row, NULLs too.

    Sources are sparse and different: ad history on days 1-4, benchmarks on 2 and 4 only,
    the creative on 3-4 (a text feature), account rollups on 1 and 3; one benchmark value
    restated later (its created_timestamp newer than its row's others).
    """
    rows: list[tuple[Any, ...]] = []

    def add(entity: str, key: str, names: list[str], day: int, values: list[Any],
            created: str = C1) -> None:
        for name, v in zip(names, values, strict=True):
            text = FEATURES_BY_NAME[name].dtype == "str"
            rows.append((entity, key, name, _ts(day), created, None if text else v,
                         v if text else None))

    hist = [f.name for v in FEATURE_VIEWS if v.table == "feature_view_ad_ad_history"
            for f in v.features]
    for key, scale in ((AD1, 1.0), (AD2, 2.0)):
        for day in (1, 2, 3, 4):
            add("ad", key, hist, day,
                [None if i == 2 and day == 3 else scale * (day + i / 10)
                 for i in range(len(hist))])
    bench = ["ctr_percentile", "cpa_percentile", "roas_percentile"]
    add("ad", AD1, bench, 2, [0.1, None, 0.3])
    add("ad", AD1, bench[:1], 4, [0.9], created=C2)
    add("ad", AD1, bench[1:], 4, [0.5, 0.6])
    creative = ["sentiment_compound", "topic", "topic_confidence", "discount_percent_max",
                "has_urgency", "image_brightness"]
    for day in (3, 4):
        add("ad", AD2, creative, day, [0.4, "apparel", 0.8, None, 1.0, 0.25])
    rollup = ["acct_spend_1d", "acct_ctr_1d", "acct_roas_1d", "acct_currency_1d"]
    add("account", ACCT, rollup, 1, [20.0, 0.02, 3.0, "USD"])
    add("account", ACCT, rollup, 3, [25.0, None, 2.5, "EUR"])
    rows.append(("ad", AD1, "a_feature_since_removed", _ts(1), C1, 1.0, None))
    return rows


def _pit(rows: list[tuple[Any, ...]], key: str, ts: str, name: str) -> Any:
    """The long table's point-in-time answer (the newest value at or before ``ts``)."""
    f = FEATURES_BY_NAME[name]
    k = key if f.entity == "ad" else ":".join(key.split(":", 2)[:2])
    found = [r for r in rows if r[1] == k and r[2] == name and r[3] <= ts]
    if not found:
        return None
    r = max(found, key=lambda r: r[3])
    if f.dtype == "str":
        return r[6]
    return None if r[5] is None else (int(r[5]) if f.dtype == "int" else r[5])


async def test_long_history_moves_into_the_views(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _long_rows()
    cols = ", ".join(FEATURE_HISTORY_COLUMNS)
    async with opened_before(monkeypatch, db_url, 15) as old:
        await old.execute_in_transaction([
            (f"INSERT INTO feature_history ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)])

    async with DatabaseLoader.from_url(db_url) as db:
        assert await db.count_rows("schema_migrations") == len(migrations.migrations())
        got = await db.fetch_dicts(f"SELECT {cols} FROM feature_history")
        known = [r for r in rows if r[2] in FEATURES_BY_NAME]
        # Each view row takes the newest created_timestamp of its values.
        newest: dict[tuple[str, str, str], str] = {}
        view_of = {f.name: v.table for v in FEATURE_VIEWS for f in v.features}
        for r in known:
            slot = (view_of[r[2]], r[1], r[3])
            newest[slot] = max(newest.get(slot, ""), r[4])
        want = sorted((*r[:4], newest[(view_of[r[2]], r[1], r[3])], *r[5:]) for r in known)
        assert sorted(tuple(r[c] for c in FEATURE_HISTORY_COLUMNS) for r in got) == want
        assert await db.count_rows("feature_view_ad_ad_history") == 8
        # AD1's benchmarks of day 4: one value restated later (C2), the row takes it.
        assert (await db.fetch_dicts(
            "SELECT created_timestamp FROM feature_view_ad_ad_benchmarks "
            "WHERE event_timestamp = ?", [_ts(4)])) == [{"created_timestamp": C2}]

        requests = [(key, f"2024-03-{day:02d}T{hour}")
                    for key in (AD1, AD2, "facebook:act_2:ad1") for day in range(1, 6)
                    for hour in ("12:00:00Z", "23:59:59Z")]
        names = sorted({r[2] for r in known})
        answers = await FeatureStore(db).get_historical(requests, names)
        for (key, ts), a in zip(requests, answers, strict=True):
            for name in names:
                assert a[name] == pytest.approx(_pit(rows, key, ts, name)), (key, ts, name)
        with pytest.raises(LoaderError):  # the long table is gone: a view takes no rows
            await db.execute_in_transaction([
                (f"INSERT INTO feature_history ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 rows[:1])])


async def test_a_feature_column_missing_is_refused(db_url: str) -> None:
    """A feature defined without the migration adding its column stops the loader."""
    async with DatabaseLoader.from_url(db_url) as db:
        await db.execute_in_transaction([
            ("DROP VIEW feature_history", [()]),
            ("ALTER TABLE feature_view_ad_ad_benchmarks DROP COLUMN roas_percentile", [()])])
    with pytest.raises(LoaderError, match="roas_percentile"):
        async with DatabaseLoader.from_url(db_url):
            pass
