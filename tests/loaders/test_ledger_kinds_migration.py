"""Migration 14: the ledger takes kind 'audience'; an old database keeps its ledger (both DBs)."""

from __future__ import annotations

import pytest

from tests.loaders.old_schema import opened_before
from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.audience import audience_upsert
from within_daemon.loaders.schema import migrations

FETCHED = "2024-03-02T06:00:00+00:00"
DAYS = ("2024-03-04", "2024-03-05")
LEDGER = "SELECT day, kind, rows, run_id FROM ledger ORDER BY kind, day"


def _audience_row(day: str) -> dict[str, object]:
    return {"platform": "google", "account_id": "123", "ad_id": "ag1", "date": day,
            "age": "25-34", "gender": "all", "impressions": 10, "clicks": 1, "spend": 1.0,
            "conversions": 0.0, "level": "ad_group"}


async def _mark_audience(db: DatabaseLoader, kind: str = "audience") -> None:
    await db.write_with_ledger(
        [audience_upsert([_audience_row(DAYS[0])])], run_id="a1", task="t",
        kind=kind,  # type: ignore[arg-type]
        complete_days=[("google", "123", DAYS[0], 1)])


async def test_old_ledger_migrates_and_takes_audience_days(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pre-14 ledger refuses 'audience'; after migrating it keeps its days and takes them."""
    async with opened_before(monkeypatch, db_url, 14) as old:
        await old.write_batch(run_id="r1", task="t", kind="account", fetched_at=FETCHED,
                              records=[], complete_days=[("google", "123", d, 0)
                                                         for d in DAYS])
        before = await old.fetch_dicts(LEDGER)
        with pytest.raises(LoaderError):
            await _mark_audience(old)
        assert await old.count_rows("audience_data") == 0  # rolled back with the ledger

    async with DatabaseLoader.from_url(db_url) as db:
        assert await db.count_rows("schema_migrations") == len(migrations.migrations())
        assert await db.fetch_dicts(LEDGER) == before
        await _mark_audience(db)
        assert await db.completed_days(task=None, platform="google", account_id="123",
                                       kind="audience", days=list(DAYS)) == {DAYS[0]}
        assert await db.count_rows("audience_data") == 1
        history = await db.fetch_dicts("SELECT kind, day FROM ledger_history WHERE kind = ?",
                                       ["audience"])
        assert history == [{"kind": "audience", "day": DAYS[0]}]
        # The check is still there: an unknown kind is refused, and nothing it wrote stays.
        with pytest.raises(LoaderError):
            await _mark_audience(db, kind="bogus")
        assert await db.completed_days(task=None, platform="google", account_id="123",
                                       kind="audience", days=list(DAYS)) == {DAYS[0]}
        # The index the ledger had is back (SQLite rebuilt the table).
        if db.dialect.name == "sqlite":
            idx = await db.fetch_dicts("PRAGMA index_list(ledger)")
            assert "ledger_day" in {r["name"] for r in idx}


async def test_new_database_takes_audience_days(db_url: str) -> None:
    """A fresh database goes through the same migrations and ends with the same ledger."""
    async with DatabaseLoader.from_url(db_url) as db:
        await _mark_audience(db)
        rows = await db.fetch_dicts(LEDGER)
        assert [(r["day"], r["kind"], r["rows"]) for r in rows] == [(DAYS[0], "audience", 1)]
