"""DatabaseLoader on real SQLite files and a real PostgreSQL server.

Migrations, upserts, atomic ledger, runs, crashes; tests taking ``db`` or ``db_url`` run
once per backend.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.schema import migrations
from within_daemon.loaders.schema.tables import TABLES, column_type
from within_daemon.schema import (
    ACCOUNT_DATA_SCHEMA,
    ACCOUNT_FIELDS,
    AD_DATA_SCHEMA,
    AD_FIELDS,
)

REPO = Path(__file__).resolve().parents[2]
FETCHED = "2024-03-02T06:00:00+00:00"


def ad(i: int, day: str = "2024-03-01", **over: Any) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="facebook", account_id="act_1", ad_id=f"ad{i}", date=day,
             headline=f"headline {i}", impressions=100 + i, clicks=i % 7, spend=1.25 * i,
             ctr=0.01, currency="USD")
    r.update(over)
    return r


def account(day: str, **over: Any) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(ACCOUNT_FIELDS)
    r.update(platform="facebook", account_id="act_1", account_name="Shop", currency="USD",
             timezone="UTC", date=day, daily_spend=10.0, daily_impressions=1000, daily_clicks=20)
    r.update(over)
    return r


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url("sqlite:///state/within.db", base_dir=tmp_path) as loader:
        yield loader


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


async def q(db: DatabaseLoader, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A query through the loader's own connection, so it works on either backend."""
    return [tuple(r.values()) for r in await db.fetch_dicts(sql, params)]


# -- urls, open, migrations ---------------------------------------------------------------


def test_url_forms(tmp_path: Path) -> None:
    """Relative paths resolve against base_dir, four slashes are absolute, :memory: is none."""
    rel = DatabaseLoader.from_url("sqlite:///d/x.db", base_dir=tmp_path)
    assert rel.path == tmp_path / "d/x.db"
    assert DatabaseLoader.from_url("sqlite:////var/lib/w.db").path == Path("/var/lib/w.db")
    assert DatabaseLoader.from_url("sqlite:///x.db").path == Path.cwd() / "x.db"
    assert DatabaseLoader.from_url("sqlite:///:memory:").path is None


def test_url_errors() -> None:
    """Other schemes, missing slashes, empty paths and non-urls raise LoaderError."""
    with pytest.raises(LoaderError) as exc:
        DatabaseLoader.from_url("mysql://u@h/db")
    assert str(exc.value) == (
        "unsupported database url scheme 'mysql' (sqlite:/// or postgresql://)"
    )
    for bad in ("sqlite://x.db", "sqlite:///", "within.db", "sqlite:///x.db?mode=ro"):
        with pytest.raises(LoaderError):
            DatabaseLoader.from_url(bad)


async def test_memory_database() -> None:
    """sqlite:///:memory: opens, migrates and takes writes (for unit use)."""
    async with DatabaseLoader.from_url("sqlite:///:memory:") as mem:
        await mem.write_batch(run_id="r", task="t", kind="ad", records=[ad(1)], fetched_at=FETCHED)
        assert await mem.count_rows("ad_data") == 1


async def test_open_sets_pragmas_and_creates_folder(sqlite_db: DatabaseLoader,
                                                     tmp_path: Path) -> None:
    """Open creates the parent folder, a private file, WAL mode and the tables."""
    db = sqlite_db
    assert db.path is not None and db.path.parent == tmp_path / "state"
    assert (db.path.stat().st_mode & 0o777) == 0o600
    assert await q(db, "PRAGMA journal_mode") == [("wal",)]
    tables = {r[0] for r in await q(
        db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert set(TABLES) <= tables
    # feature_history is a view over the feature views' tables (migration 15)
    assert await q(db, "SELECT type FROM sqlite_master WHERE name = 'feature_history'") == [
        ("view",)]


async def test_migrations_twice_are_noop(db_url: str) -> None:
    """Re-opening (and re-migrating) keeps one migration row and all data."""
    url = db_url
    async with DatabaseLoader.from_url(url) as first:
        await first.write_batch(run_id="r", task="t", kind="ad", records=[ad(1)],
                                fetched_at=FETCHED)
        await first._migrate()
    for _ in range(2):
        async with DatabaseLoader.from_url(url) as again:
            assert await again.count_rows("schema_migrations") == len(migrations.migrations())
            assert await again.count_rows("ad_data") == 1


async def test_newer_schema_is_refused(db_url: str) -> None:
    """A database migrated by a newer daemon is not opened by an older one."""
    async with DatabaseLoader.from_url(db_url) as db:
        await db.execute_in_transaction(
            [("INSERT INTO schema_migrations VALUES (999, 'future', 'x')", [()])])
    with pytest.raises(LoaderError, match="newer"):
        await DatabaseLoader.from_url(db_url).open()


def test_column_types_follow_validation_schema() -> None:
    """Columns typed integer/float in the validation schemas are INTEGER/REAL in the DDL."""
    want = {"integer": "INTEGER", "float": "REAL", "string": "TEXT", "date": "TEXT"}
    for spec in (AD_DATA_SCHEMA, ACCOUNT_DATA_SCHEMA):
        for field, rule in spec.items():
            assert column_type(field) == want[rule["type"]], field


# -- upserts and atomicity ------------------------------------------------------------------


async def test_upsert_is_idempotent_and_updates_win(db: DatabaseLoader) -> None:
    """The same batch twice leaves the same rows; a re-pull's values replace the old ones."""
    batch = [ad(i) for i in range(50)]
    assert await db.write_batch(run_id="r1", task="t", kind="ad", records=batch,
                                fetched_at=FETCHED) == 50
    await db.write_batch(run_id="r1", task="t", kind="ad", records=batch, fetched_at=FETCHED)
    assert await db.count_rows("ad_data") == 50
    restated = [ad(i, clicks=99, headline="new") for i in range(50)]
    await db.write_batch(run_id="r2", task="t", kind="ad", records=restated,
                         fetched_at="2024-03-03T06:00:00Z")
    rows = await q(db, "SELECT DISTINCT clicks, headline, run_id, fetched_at FROM ad_data")
    assert rows == [(99, "new", "r2", "2024-03-03T06:00:00.000000+00:00")]
    assert await db.count_rows("ad_data") == 50


async def test_older_fetch_does_not_overwrite_newer(db: DatabaseLoader) -> None:
    """A late-arriving retry of an older fetch keeps the newer stored row."""
    await db.write_batch(run_id="new", task="t", kind="ad", records=[ad(1, clicks=5)],
                         fetched_at="2024-03-03T00:00:00Z")
    written = await db.write_batch(run_id="old", task="t", kind="ad",
                                   records=[ad(1, clicks=1)], fetched_at="2024-03-02T00:00:00Z")
    assert written == 0
    assert await q(db, "SELECT clicks, run_id FROM ad_data") == [(5, "new")]


async def test_account_records_upsert(db: DatabaseLoader) -> None:
    """Account-day records upsert on (platform, account_id, date)."""
    days = ["2024-03-01", "2024-03-02"]
    await db.write_batch(run_id="r", task="t", kind="account",
                         records=[account(d) for d in days], fetched_at=FETCHED)
    await db.write_batch(run_id="r", task="t", kind="account",
                         records=[account(days[0], daily_clicks=21)], fetched_at=FETCHED)
    assert await q(db, "SELECT date, daily_clicks FROM account_data ORDER BY date") == [
        ("2024-03-01", 21), ("2024-03-02", 20)]


async def test_wrong_key_set_is_rejected(db: DatabaseLoader) -> None:
    """A record with a missing or stray key raises LoaderError and writes nothing."""
    extra = ad(2) | {"surprise": 1}
    missing = ad(3)
    del missing["cta"]
    for bad in (extra, missing):
        with pytest.raises(LoaderError, match="wrong keys"):
            await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1), bad],
                                 fetched_at=FETCHED,
                                 complete_days=[("facebook", "act_1", "2024-03-01", 2)])
    assert await db.count_rows("ad_data") == 0
    assert await db.count_rows("ledger") == 0


async def test_bad_value_mid_batch_rolls_back_rows_and_ledger(db: DatabaseLoader) -> None:
    """A value the insert rejects after 500 rows leaves neither rows nor ledger days behind."""
    await db.write_batch(run_id="r0", task="t", kind="ad", records=[ad(0, clicks=1)],
                         fetched_at=FETCHED)
    batch = [ad(i, clicks=3) for i in range(1000)]
    batch[500]["impressions"] = "lots"  # STRICT table: TEXT in an INTEGER column fails
    with pytest.raises(LoaderError, match="rolled back"):
        await db.write_batch(run_id="r1", task="t", kind="ad", records=batch, fetched_at=FETCHED,
                             complete_days=[("facebook", "act_1", "2024-03-01", 1000)])
    assert await db.count_rows("ad_data") == 1
    assert await db.count_rows("ledger") == 0
    assert await q(db, "SELECT clicks, run_id FROM ad_data") == [(1, "r0")]


async def test_ledger_failure_after_rows_rolls_back_rows(db: DatabaseLoader) -> None:
    """When marking a day fails after the rows went in, the rows are rolled back too."""
    with pytest.raises(LoaderError):
        await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(i) for i in range(10)],
                             fetched_at=FETCHED,
                             complete_days=[("facebook", "act_1", "2024-03-01", 10),
                                            ("facebook", "act_1", "yesterday", 0)])
    assert await db.count_rows("ad_data") == 0
    assert await db.count_rows("ledger") == 0
    assert await db.count_rows("ledger_history") == 0
    # The connection is clean afterwards: the next batch commits.
    await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1)], fetched_at=FETCHED)
    assert await db.count_rows("ad_data") == 1


async def test_injected_fault_in_quarantine_insert_rolls_back(
    db: DatabaseLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected at the last statement of the transaction undoes rows and ledger."""
    broken = dict(db._sql._sql, quarantine="INSERT INTO no_such_table VALUES (?)")
    monkeypatch.setattr(db._sql, "_sql", broken)
    with pytest.raises(LoaderError):
        await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1)], fetched_at=FETCHED,
                             complete_days=[("facebook", "act_1", "2024-03-01", 1)],
                             quarantined=[("facebook", "act_1", {"ad_id": "x"}, [])])
    for table in ("ad_data", "ledger", "quarantine"):
        assert await db.count_rows(table) == 0


async def test_cancelled_write_is_all_or_nothing(db: DatabaseLoader) -> None:
    """A write cancelled mid-flight committed fully or not at all; the loader works on."""
    batch = [ad(i) for i in range(20_000)]  # ~0.1 s of executemany on the worker thread
    with anyio.move_on_after(0.03):
        await db.write_batch(run_id="r", task="t", kind="ad", records=batch, fetched_at=FETCHED,
                             complete_days=[("facebook", "act_1", "2024-03-01", 20_000)])
    rows, days = await db.count_rows("ad_data"), await db.count_rows("ledger")
    assert (rows, days) in {(0, 0), (20_000, 1)}
    await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(0, day="2024-03-05")],
                         fetched_at=FETCHED)
    assert await db.count_rows("ad_data") == rows + 1


async def test_readers_never_see_half_a_batch(db: DatabaseLoader) -> None:
    """Reads from another task see whole batches only."""
    seen: list[int] = []

    async def reader() -> None:
        while True:
            seen.append(await db.count_rows("ad_data"))
            await anyio.sleep(0)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            for b in range(20):
                await db.write_batch(run_id="r", task="t", kind="ad", fetched_at=FETCHED,
                                     records=[ad(b * 500 + i) for i in range(500)])
            tg.cancel_scope.cancel()
    assert seen and all(n % 500 == 0 for n in seen)


# -- quarantine, ledger -----------------------------------------------------------------------


async def test_quarantine_stores_reason_and_raw(db: DatabaseLoader) -> None:
    """Quarantine keeps a readable reason, the errors and the raw record as received."""
    raw = {"ad_id": "9", "platform": "facebook", "account_id": "act_1", "date": "2024-03-01",
           "clicks": 12, "impressions": 5, "when": date(2024, 3, 1), "odd": {1, 2}}
    errors = [{"field": "clicks", "message": "must be <= impressions (12 > 5)"}]
    n = await db.quarantine(run_id="r", task="t", platform="facebook", account_id="act_1",
                            kind="ad", items=[(raw, errors), (["not", "a", "dict"], [])])
    assert n == 2
    await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1)], fetched_at=FETCHED,
                         quarantined=[("facebook", "act_1", {"ad_id": "x"},
                                       [{"field": "spend", "message": "must be >= 0"},
                                        {"message": "no date"}])])
    rows = await q(db, "SELECT kind, record_key, reason, errors_json, raw_json, run_id "
                          "FROM quarantine ORDER BY id")
    kind, key, reason, errs, raw_json, run = rows[0]
    assert (kind, key, reason, run) == (
        "ad", "facebook|act_1|9|2024-03-01", "clicks: must be <= impressions (12 > 5)", "r")
    assert msgspec.json.decode(errs) == errors
    decoded = msgspec.json.decode(raw_json)
    assert decoded["clicks"] == 12 and decoded["when"] == "2024-03-01"
    assert rows[1][1] is None and msgspec.json.decode(rows[1][4]) == ["not", "a", "dict"]
    assert rows[2][2] == "spend: must be >= 0; no date"


async def test_completed_days_and_restatements(db: DatabaseLoader) -> None:
    """completed_days filters by task, run, kind and account; re-marking a day is recorded."""
    days = [(date(2024, 1, 1) + timedelta(days=i)).isoformat() for i in range(700)]
    marks = [("facebook", "act_1", d, 0) for d in days[:600]]
    await db.write_batch(run_id="r1", task="daily", kind="ad", records=[], fetched_at=FETCHED,
                         complete_days=marks)
    await db.write_batch(run_id="r2", task="backfill", kind="ad", records=[ad(1, day=days[0])],
                         fetched_at=FETCHED, complete_days=[("facebook", "act_1", days[0], 1)])
    got = await db.completed_days(task=None, platform="facebook", account_id="act_1",
                                  kind="ad", days=days)
    assert got == set(days[:600])
    assert await db.completed_days(task="backfill", platform="facebook", account_id="act_1",
                                   kind="ad", days=days) == {days[0]}
    assert await db.completed_days(task=None, platform="facebook", account_id="act_1",
                                   kind="ad", days=days, run_id="r2") == {days[0]}
    assert await db.completed_days(task="daily", platform="facebook", account_id="act_1",
                                   kind="ad", days=days[:3], run_id="r1") == set(days[:3])
    assert await db.completed_days(task=None, platform="facebook", account_id="act_1",
                                   kind="account", days=days) == set()
    assert await db.completed_days(task=None, platform="facebook", account_id="act_2",
                                   kind="ad", days=days) == set()
    await db.write_batch(run_id="r3", task="daily", kind="ad", records=[], fetched_at=FETCHED,
                         complete_days=[("facebook", "act_1", days[1], 0)])
    assert await q(db, "SELECT run_id, restated_count, first_completed_at < completed_at "
                          "FROM ledger WHERE task='daily' AND day=?", (days[1],)) == [("r3", 1, 1)]
    assert await q(db, "SELECT run_id FROM ledger_history WHERE task='daily' AND day=? "
                          "ORDER BY id", (days[1],)) == [("r1",), ("r3",)]


# -- runs ------------------------------------------------------------------------------------


async def test_run_lifecycle(db: DatabaseLoader) -> None:
    """A run starts running, accumulates counts (also inside batches) and finishes."""
    run = await db.start_run(task="daily", pipeline="AdDataPipeline", platform="facebook",
                             account_id="act_1", window_start="2024-03-01",
                             window_end="2024-03-07")
    await db.add_run_counts(run, fetched=12)
    await db.write_batch(run_id=run, task="daily", kind="ad", records=[ad(1), ad(2)],
                         fetched_at=FETCHED, count_in_run=True,
                         quarantined=[("facebook", "act_1", {}, [{"message": "bad"}])])
    [s] = await db.run_summary([run])
    assert (s["status"], s["records_fetched"], s["records_loaded"], s["records_quarantined"]) \
        == ("running", 12, 2, 1)
    await db.finish_run(run, "partial", error="1 record quarantined")
    [s] = await db.run_summary([run, "unknown"])
    assert s["status"] == "partial" and s["finished_at"] and s["records_loaded"] == 2
    with pytest.raises(LoaderError):
        await db.finish_run("nope", "success")
    with pytest.raises(LoaderError):
        await db.add_run_counts("nope", loaded=1)
    with pytest.raises(LoaderError):
        await db.finish_run(run, "running")  # type: ignore[arg-type]
    assert await db.run_summary([]) == []


async def test_interrupted_runs_are_found_and_resumed(db_url: str) -> None:
    """Runs left 'running' by a dead process are marked interrupted, found and resumed."""
    url, window = db_url, ("2024-03-01", "2024-03-07")
    async with DatabaseLoader.from_url(url) as db:
        old = await db.start_run(task="daily", platform="facebook", account_id="act_1",
                                 window_start=window[0], window_end=window[1])
        late = await db.start_run(task="daily", platform="facebook", account_id="act_1",
                                  window_start=window[0], window_end=window[1])
        many = await db.start_run(task="weekly", platform="google", window_start=window[0],
                                  window_end=window[1])
        done = await db.start_run(task="daily", platform="facebook", account_id="act_1",
                                  window_start=window[0], window_end=window[1])
        await db.finish_run(done, "success")
        with pytest.raises(LoaderError, match="already running"):
            await db.start_run(task="daily", run_id=old)
    async with DatabaseLoader.from_url(url) as db:
        assert await db.mark_interrupted_runs() == sorted([old, late, many])
        assert await db.mark_interrupted_runs() == []
        assert await db.find_resumable_run("daily", "facebook", "act_1", *window) == late
        assert await db.find_resumable_run("weekly", "google", None, *window) == many
        assert await db.find_resumable_run("daily", "facebook", "act_1", "2024-03-02",
                                           window[1]) is None
        assert await db.start_run(task="daily", run_id=late) == late
        [s] = await db.run_summary([late])
        assert (s["status"], s["resumed_count"], s["finished_at"]) == ("running", 1, None)
        assert await db.find_resumable_run("daily", "facebook", "act_1", *window) == old


async def test_inspection_helpers(db: DatabaseLoader) -> None:
    """ping, integrity_check and count_rows answer; unknown tables and closed loaders do not."""
    assert await db.ping() is True
    assert await db.integrity_check() == "ok"
    with pytest.raises(LoaderError, match="unknown table"):
        await db.count_rows("sqlite_master; DROP TABLE runs")
    await db.close()
    assert await db.ping() is False
    with pytest.raises(LoaderError, match="not open"):
        await db.count_rows("runs")


# -- crash -----------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import asyncio, sys
    from datetime import date, timedelta
    from pathlib import Path
    from within_daemon.loaders import DatabaseLoader
    from within_daemon.schema import AD_FIELDS

    PER_DAY = 600

    def rec(i, day, gen):
        r = dict.fromkeys(AD_FIELDS)
        r.update(platform="facebook", account_id="act_1", ad_id=f"ad{i}", date=day,
                 impressions=1000 + i, clicks=gen, spend=1.0, headline="h" * 40)
        return r

    async def main(url, start, gen):
        async with DatabaseLoader.from_url(url) as db:
            await db.mark_interrupted_runs()
            run = await db.start_run(task="crash", platform="facebook", account_id="act_1")
            print("ready", flush=True)
            n = start
            while True:
                day = (date(2020, 1, 1) + timedelta(days=n)).isoformat()
                recs = [rec(i, day, gen) for i in range(PER_DAY)]
                # A day spans two transactions; only the second marks it complete.
                await db.write_batch(run_id=run, task="crash", kind="ad", records=recs[:250],
                                     fetched_at="2024-01-01T00:00:00Z", count_in_run=True)
                await db.write_batch(run_id=run, task="crash", kind="ad", records=recs[250:],
                                     fetched_at="2024-01-01T00:00:00Z", count_in_run=True,
                                     complete_days=[("facebook", "act_1", day, PER_DAY)])
                n += 1

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
""")


async def _run_and_kill(url: str, start: int, gen: int, delay: float) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                    os.environ.get("PYTHONPATH")]))}
    proc = await anyio.open_process([sys.executable, "-c", CHILD, url, str(start), str(gen)],
                                    env=env)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        with anyio.fail_after(30):
            out = b""
            while b"ready" not in out:
                try:
                    out += await proc.stdout.receive()
                except anyio.EndOfStream:
                    err = await proc.stderr.receive()
                    raise AssertionError(f"child died before ready: {err.decode()}") from None
        await anyio.sleep(delay)  # real time is the point: kill the writer at a random moment
        proc.send_signal(signal.SIGKILL)
        with anyio.fail_after(10):
            code = await proc.wait()
        assert code == -signal.SIGKILL, "the child must still be writing when it is killed"
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.aclose()


@pytest.mark.slow
async def test_sigkill_mid_write_never_leaves_ledger_ahead_of_data(db_url: str) -> None:
    """A writer SIGKILLed at random moments leaves an intact DB, no ledger day without rows."""
    rng = random.Random(20240301)
    killed_runs = 0
    for gen in range(6):
        async with DatabaseLoader.from_url(db_url) as db:
            done = await db.count_rows("ledger")
        # Restart a little behind the ledger, so re-pulls of complete days are exercised too.
        await _run_and_kill(db_url, max(0, done - 2), gen, rng.uniform(0.05, 0.8))
        async with DatabaseLoader.from_url(db_url) as db:
            assert await db.integrity_check() == "ok"
            killed_runs += len(await db.mark_interrupted_runs())
            behind = await q(db, """
                SELECT l.day, l.rows, COUNT(a.ad_id) FROM ledger l
                LEFT JOIN ad_data a ON a.platform = l.platform AND a.account_id = l.account_id
                                   AND a.date = l.day
                GROUP BY l.day, l.rows HAVING COUNT(a.ad_id) < l.rows""")
            assert behind == []
            # Every committed row was counted in its run within the same transaction.
            loaded = (await q(db, "SELECT SUM(records_loaded) FROM runs"))[0][0] or 0
            assert loaded >= (await q(db, "SELECT COUNT(*) FROM ad_data"))[0][0]
    assert killed_runs == 6
    async with DatabaseLoader.from_url(db_url) as db:
        assert await db.count_rows("ledger") > 0
