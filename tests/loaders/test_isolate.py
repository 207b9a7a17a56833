"""One bad value never costs a batch: refused rows are isolated, quarantined, the rest load.

Every test runs on SQLite and PostgreSQL (``db_url``), through the real drivers.
"""

from __future__ import annotations

import random
import sqlite3
import string
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec
import pytest

from within_daemon.errors import RowsRefusedError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.isolate import write_isolating
from within_daemon.loaders.refusals import refused_values
from within_daemon.pipelines.loader_actor import LoaderActor, RunTracker
from within_daemon.pipelines.messages import RecordBatch, RunRef, SourceDone, WindowDone
from within_daemon.records import ad_day
from within_daemon.transforms import DataValidator

from .test_database import FETCHED, ad, q


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


def good(i: int) -> dict[str, Any]:
    """An ad row the default validator accepts."""
    return ad(i, ctr=None)


def long_id(n: int = 4000) -> str:
    # Random letters do not compress, so the index entry really is this large.
    rng = random.Random(7)
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


async def test_refused_rows_are_quarantined_and_the_rest_loads(db: DatabaseLoader) -> None:
    """Refused rows go to quarantine with the database's reason; the rest and the day load."""
    records = [good(i) for i in range(40)]
    records[5]["cta"] = ["a", "list"]  # validation has no rule for cta; no driver binds a list
    records[31]["cta"] = {"nested": 1}
    assert DataValidator().split(records)[1] == []  # validation lets these through
    run = await db.start_run(task="t")
    rejected = [("facebook", "act_1", {"ad_id": "v"}, [{"field": "clicks", "message": "bad"}])]
    res = await write_isolating(
        db, run_id=run, task="t", kind="ad", records=records, fetched_at=FETCHED,
        complete_days=[("facebook", "act_1", "2024-03-01", 40)], quarantined=rejected)
    assert (res.written, res.quarantined, res.refused) == (38, 3, 2)
    ids = {r[0] for r in await q(db, "SELECT ad_id FROM ad_data")}
    assert ids == {f"ad{i}" for i in range(40)} - {"ad5", "ad31"}
    rows = await q(db, "SELECT record_key, reason, raw_json FROM quarantine ORDER BY id")
    assert rows[0][1] == "clicks: bad"
    assert sorted(r[0] for r in rows[1:]) == ["facebook|act_1|ad31|2024-03-01",
                                              "facebook|act_1|ad5|2024-03-01"]
    assert all(r[1].startswith("the database refused the row: ") for r in rows[1:])
    assert {msgspec.json.decode(r[2])["ad_id"] for r in rows[1:]} == {"ad5", "ad31"}
    # The day completes with the rows it holds; the run counts every outcome once.
    assert await q(db, "SELECT day, rows FROM ledger") == [("2024-03-01", 38)]
    (s,) = await db.run_summary([run])
    assert (s["records_loaded"], s["records_quarantined"]) == (38, 3)


async def test_value_postgresql_alone_refuses(db: DatabaseLoader) -> None:
    """A 4000-character account id passes validation and SQLite; PostgreSQL refuses that row."""
    records = [good(i) for i in range(10)]
    records[7]["account_id"] = long_id()
    assert DataValidator().split(records)[1] == []
    run = await db.start_run(task="t")
    res = await write_isolating(db, run_id=run, task="t", kind="ad", records=records,
                                fetched_at=FETCHED)
    if db.dialect.name == "postgresql":
        assert (res.written, res.refused) == (9, 1)
        ((reason,),) = await q(db, "SELECT reason FROM quarantine")
        assert "index row size" in reason and "\n" not in reason
    else:
        assert (res.written, res.refused) == (10, 0)
    assert await db.count_rows("ad_data") == 10 - res.refused


async def test_quarantine_of_unstorable_values_is_storable(db: DatabaseLoader) -> None:
    """NUL, lone surrogates and huge ints in a rejected record are stored escaped, never refused."""
    raw = {"ad_id": "a\x00b", "platform": "facebook", "account_id": "act\udc80",
           "date": "2024-03-01", "impressions": 10**5000, "headline": "x\ud800y"}
    errs = DataValidator().record_errors(raw)
    assert errs
    await db.write_batch(run_id="r", task="t", kind="ad", records=[], fetched_at=FETCHED,
                         quarantined=[("facebook", "act\udc80", raw, errs)])
    ((key, account, reason, raw_json),) = await q(
        db, "SELECT record_key, account_id, reason, raw_json FROM quarantine")
    assert key == "facebook|act\\udc80|a\\x00b|2024-03-01" and account == "act\\udc80"
    assert "NUL" in reason and "64-bit" in reason
    stored = msgspec.json.decode(raw_json)
    assert stored["impressions"] == "<int of 16610 bits>" and stored["headline"] == "x\\ud800y"


async def test_a_clean_batch_is_one_transaction(db: DatabaseLoader) -> None:
    """Without a refusal nothing is split: one write, every row counted once."""
    run = await db.start_run(task="t")
    calls = 0
    real = db.write_batch

    async def counting(**kw: Any) -> int:
        nonlocal calls
        calls += 1
        return await real(**kw)

    db.write_batch = counting  # type: ignore[method-assign]
    res = await write_isolating(db, run_id=run, task="t", kind="ad",
                                records=[ad(i) for i in range(100)], fetched_at=FETCHED)
    assert (calls, res.written, res.refused) == (1, 100, 0)


async def test_loader_actor_loads_around_a_refused_row(db: DatabaseLoader) -> None:
    """The loader actor's run succeeds with the bad row quarantined, not failed as a whole."""
    ref = RunRef(run_id=await db.start_run(task="t"), task="t", kind="ad",
                 platform="facebook", account_id="act_1", pipeline="AdDataPipeline")
    records = [good(i) for i in range(25)]
    records[12]["video_url"] = ["not", "text"]
    tracker = RunTracker()
    st = tracker.open(ref)
    send, recv = anyio.create_memory_object_stream[Any](8)
    actor = LoaderActor(recv, db=db, tracker=tracker, batch_size=10)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(actor.run)
            async with send:
                await send.send(RecordBatch(ref=ref, records=[ad_day(r) for r in records],
                                            quarantined=[],
                                            fetched_at=FETCHED, fetched=25))
                await send.send(WindowDone(ref=ref, days=("2024-03-01",)))
                await send.send(SourceDone(ref=ref, status="success"))
            await st.done.wait()
    assert (st.status, st.loaded, st.quarantined, st.days_completed) == ("success", 24, 1, 1)
    assert await db.count_rows("ad_data") == 24
    assert await q(db, "SELECT rows FROM ledger") == [(24,)]


def test_refusal_classification() -> None:
    """Value errors of either driver are refusals; lost connections and locks are not."""
    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    assert refused_values(PgError("22021")) and refused_values(PgError("23514"))
    assert refused_values(PgError("54000"))
    assert not refused_values(PgError("57P01")) and not refused_values(PgError("40001"))
    assert refused_values(sqlite3.IntegrityError("CHECK constraint failed"))
    assert refused_values(sqlite3.ProgrammingError("Error binding parameter 3: type 'list'"))
    assert not refused_values(sqlite3.ProgrammingError("Cannot operate on a closed database."))
    assert not refused_values(sqlite3.OperationalError("database is locked"))
    assert refused_values(OverflowError("int too big")) and refused_values(
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    assert not refused_values(ConnectionResetError())
    assert RowsRefusedError("x", detail="why").detail == "why"
