"""Internal data end to end: real drop-folder files and a real SQLite source, into SQLite."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import within_daemon.config as config_module
from within_daemon.config import LoadedConfig, load_config
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.internal_pipeline import (
    FileOutcome,
    InternalDataPipeline,
    file_marker,
)
from within_daemon.sources.internal import file_sha256
from within_daemon.transforms.normalize.internal import InternalMapping

FIELD_MAP = {"ad_id": "Ad", "date": "Day", "impressions": "Imps", "clicks": "Clicks",
             "spend": "Cost", "headline": "Title"}
HEADER = "Ad,Day,Imps,Clicks,Cost,Title\n"


def toml(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


@pytest.fixture(autouse=True)
def _internal_accounts_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # config.py does not list "internal" yet; the lead wires it when the source lands.
    monkeypatch.setattr(config_module, "SUPPORTED_PLATFORMS",
                        (*config_module.SUPPORTED_PLATFORMS, "internal"))


def make_config(tmp_path: Path, **internal: Any) -> LoadedConfig:
    # Files here are complete when written; the settle time has tests of its own.
    section = {"drop_folder": "drop", "field_map": FIELD_MAP,
               "constants": {"currency": "EUR", "campaign_id": "C-9"},
               "date_format": "%d/%m/%Y", "settle_seconds": 0, **internal}
    lines = ['[database]\nurl = "sqlite:///data/within.db"\n', "[metrics]\nenabled = false\n",
             "[platforms.internal]"]
    lines += [f"{k} = {toml(v)}" for k, v in section.items()]
    lines += ['\n[[accounts]]\nplatform = "internal"\naccount_id = "internal"\n']
    path = tmp_path / "within.toml"
    path.write_text("\n".join(lines))
    (tmp_path / "drop").mkdir(exist_ok=True)
    return load_config(path)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


async def ad_rows(db: DatabaseLoader) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT ad_id, date, impressions, clicks, spend, ctr, headline, currency, campaign_id,"
        " platform, account_id FROM ad_data ORDER BY ad_id, date")


async def quarantine(db: DatabaseLoader) -> list[dict[str, Any]]:
    rows = await db.fetch_dicts("SELECT reason, raw_json, errors_json FROM quarantine ORDER BY id")
    return [{"reason": r["reason"], "raw": json.loads(r["raw_json"]),
             "errors": json.loads(r["errors_json"])} for r in rows]


async def markers(db: DatabaseLoader) -> list[tuple[str, int]]:
    rows = await db.fetch_dicts("SELECT account_id, rows FROM ledger WHERE task = ?"
                                " ORDER BY account_id", ("internal_files",))
    return [(r["account_id"], r["rows"]) for r in rows]


def drop(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "drop" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


CSV = HEADER + ("a1,01/03/2024,1000,10,5.5,Spring\n"
                "a2,01/03/2024,200,4,1.25,\n"
                "a1,02/03/2024,500,5,2,Spring\n")
JSONL = ('{"Ad": "j1", "Day": "01/03/2024", "Imps": 300, "Clicks": 3, "Cost": 0.75}\n'
         '{"Ad": "j2", "Day": "02/03/2024", "Imps": "40", "Clicks": "0", "Cost": "0"}\n')


async def test_csv_and_jsonl_load_exact_rows_and_totals(tmp_path: Path,
                                                        db: DatabaseLoader) -> None:
    """Both files load every row exactly once, are marked in the ledger and move to done."""
    loaded = make_config(tmp_path)
    drop(tmp_path, "b.jsonl", JSONL)
    drop(tmp_path, "a.csv", CSV)
    drop(tmp_path, "c.csv", "")
    metrics = Metrics()
    res = await InternalDataPipeline(chunk_lines=2).run_files(loaded, db, metrics=metrics)
    assert res["success"] and res["error"] is None
    assert (res["records_processed"], res["records_quarantined"], res["files_loaded"],
            res["files_skipped"]) == (5, 0, 3, 0)
    assert [(f["file"], f["loaded"], f["status"]) for f in res["files"]] == [
        ("a.csv", 3, "loaded"), ("b.jsonl", 2, "loaded"), ("c.csv", 0, "loaded")]
    got = await db.fetch_dicts("SELECT COUNT(*) AS n, SUM(impressions) AS imps,"
                               " SUM(clicks) AS clk, SUM(spend) AS spend FROM ad_data")
    assert got == [{"n": 5, "imps": 2040, "clk": 22, "spend": 9.5}]
    done = tmp_path / "drop" / "done"
    assert sorted(p.name for p in done.iterdir()) == ["a.csv", "b.jsonl", "c.csv"]
    assert sorted(p.name for p in (tmp_path / "drop").iterdir()) == ["done"]
    assert await markers(db) == sorted([
        (file_marker("internal", "a.csv", file_sha256(done / "a.csv")), 3),
        (file_marker("internal", "b.jsonl", file_sha256(done / "b.jsonl")), 2),
        (file_marker("internal", "c.csv", file_sha256(done / "c.csv")), 0)])
    [run] = await db.run_summary([res["run_id"]])
    assert (run["status"], run["records_fetched"], run["records_loaded"],
            run["platform"]) == ("success", 5, 5, "internal")
    loaded_total = metrics.registry.get_sample_value(
        "within_records_total",
        {"platform": "internal", "pipeline": "InternalDataPipeline", "stage": "loaded"})
    assert loaded_total == 5


async def test_mapping_and_constants_applied(tmp_path: Path, db: DatabaseLoader) -> None:
    """Columns land in their unified fields, with constants, ISO dates and recomputed ctr."""
    loaded = make_config(tmp_path)
    drop(tmp_path, "a.csv", CSV)
    await InternalDataPipeline().run_files(loaded, db)
    rows = await ad_rows(db)
    assert rows[0] == {"ad_id": "a1", "date": "2024-03-01", "impressions": 1000, "clicks": 10,
                       "spend": 5.5, "ctr": 0.01, "headline": "Spring", "currency": "EUR",
                       "campaign_id": "C-9", "platform": "internal", "account_id": "internal"}
    assert rows[2]["ad_id"] == "a2" and rows[2]["headline"] is None
    assert [r["date"] for r in rows] == ["2024-03-01", "2024-03-02", "2024-03-01"]


async def test_malformed_lines_quarantined_with_file_and_line(tmp_path: Path,
                                                              db: DatabaseLoader) -> None:
    """Bad lines go to quarantine with file name and line number; the good rows load."""
    loaded = make_config(tmp_path)
    drop(tmp_path, "a.csv", HEADER + "a1,01/03/2024,100,1,1,x\n"
                                     "a2,01/03/2024,100\n"
                                     "a3,01/03/2024,10,50,1,x\n"
                                     "a4,01/03/2024,10,1,1,x\n")
    drop(tmp_path, "b.jsonl", '{"Ad": "j1", "Day": "01/03/2024", "Imps": 1, "Clicks": 0,'
                              ' "Cost": 0}\n{oops\n'
                              '{"Ad": "j2", "Day": "31/02/2024", "Imps": 1, "Clicks": 0,'
                              ' "Cost": 0}\n')
    res = await InternalDataPipeline(chunk_lines=2).run_files(loaded, db)
    assert res["success"] and (res["records_processed"], res["records_quarantined"]) == (3, 4)
    assert [r["ad_id"] for r in await ad_rows(db)] == ["a1", "a4", "j1"]
    q = await quarantine(db)
    assert [(x["raw"]["file"], x["raw"]["line"]) for x in q] == [
        ("a.csv", 3), ("a.csv", 4), ("b.jsonl", 2), ("b.jsonl", 3)]
    assert q[0]["reason"] == "line 3: expected 6 columns, got 3"
    assert q[0]["raw"]["row"] == {"Ad": "a2", "Day": "01/03/2024", "Imps": "100"}
    assert "line 4: clicks (50) exceed impressions (10)" in q[1]["reason"]
    assert q[1]["raw"]["row"]["Ad"] == "a3" and q[1]["raw"]["ad_id"] == "a3"
    assert q[2]["raw"]["text"] == "{oops" and q[2]["reason"].startswith("line 2: invalid JSON")
    assert q[3]["errors"][0]["field"] == "date" and q[3]["errors"][0]["line"] == 3
    assert all(e["file"] == x["raw"]["file"] for x in q for e in x["errors"])


async def test_same_file_again_is_skipped_changed_file_reloads(tmp_path: Path,
                                                               db: DatabaseLoader) -> None:
    """A re-dropped file with the same bytes is skipped; a changed one upserts its rows."""
    loaded = make_config(tmp_path)
    pipe = InternalDataPipeline()
    drop(tmp_path, "a.csv", CSV)
    await pipe.run_files(loaded, db)
    before = await ad_rows(db)
    drop(tmp_path, "a.csv", CSV)
    again = await pipe.run_files(loaded, db)
    assert (again["files_loaded"], again["files_skipped"], again["records_processed"]) == (
        0, 1, 0)
    assert await ad_rows(db) == before
    done = tmp_path / "drop" / "done"
    assert sorted(p.name for p in done.iterdir()) == ["a.1.csv", "a.csv"]
    drop(tmp_path, "a.csv", CSV.replace("a2,01/03/2024,200,4,1.25,",
                                        "a2,01/03/2024,250,5,2.5,New"))
    changed = await pipe.run_files(loaded, db)
    assert (changed["files_loaded"], changed["records_processed"]) == (1, 3)
    after = await ad_rows(db)
    assert len(after) == 3  # upserted on (platform, account, ad, date): no duplicate keys
    assert [(r["impressions"], r["headline"]) for r in after if r["ad_id"] == "a2"] == [
        (250, "New")]
    assert len(await markers(db)) == 2
    assert sorted(p.name for p in done.iterdir()) == ["a.1.csv", "a.2.csv", "a.csv"]


async def test_file_moves_to_done_only_after_commit(tmp_path: Path, db: DatabaseLoader) -> None:
    """When the database fails the last chunk (not over its values) the file stays, unmarked."""
    loaded = make_config(tmp_path)
    pg = db.dialect.name == "postgresql"
    if pg:
        # P0001 (raise_exception) is no data error, so it is not isolated row by row.
        await db.execute_in_transaction([(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.ad_id = 'boom' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; "
            "RETURN NEW; END $$", [()]), (
            "CREATE TRIGGER refuse BEFORE INSERT ON ad_data FOR EACH ROW "
            "EXECUTE FUNCTION refuse_boom()", [()])])
    else:
        # A runtime error in a trigger: an OperationalError, not a refusal of the values.
        await db.execute_in_transaction([(
            "CREATE TRIGGER refuse BEFORE INSERT ON ad_data WHEN NEW.ad_id = 'boom'"
            " BEGIN SELECT abs(-9223372036854775808); END", [()])])
    a = drop(tmp_path, "a.csv", CSV + "boom,03/03/2024,1,1,1,x\n")
    b = drop(tmp_path, "b.jsonl", JSONL)
    pipe = InternalDataPipeline(chunk_lines=2)
    res = await pipe.run_files(loaded, db)
    assert not res["success"] and res["status"] == "failed"
    assert ("refused by the test trigger" if pg else "integer overflow") in res["error"]
    assert [f["file"] for f in res["files"]] == ["a.csv"]  # b.jsonl left for the next run
    assert a.exists() and b.exists() and not (tmp_path / "drop" / "done").exists()
    assert await markers(db) == []
    assert len(await ad_rows(db)) == 2  # the first chunk committed; the last did not

    await db.execute_in_transaction([("DROP TRIGGER refuse" + (" ON ad_data" if pg else ""),
                                      [()])])
    res = await pipe.run_files(loaded, db)
    assert res["success"] and res["files_loaded"] == 2
    assert not a.exists() and not b.exists()
    assert len(await ad_rows(db)) == 6  # 4 + boom from a.csv, 2 from b.jsonl: no duplicates


async def test_row_the_database_refuses_is_quarantined_and_the_file_loads(
        tmp_path: Path, db: DatabaseLoader) -> None:
    """A row only the database refuses (a CHECK) is quarantined with its reason; the file loads."""
    loaded = make_config(tmp_path)
    if db.dialect.name == "postgresql":
        await db.execute_in_transaction([(
            "ALTER TABLE ad_data ADD CONSTRAINT no_boom CHECK (ad_id <> 'boom')", [()])])
    else:  # SQLite cannot add a CHECK to a table; RAISE(ABORT) is the same constraint error
        await db.execute_in_transaction([(
            "CREATE TRIGGER refuse BEFORE INSERT ON ad_data WHEN NEW.ad_id = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'no_boom'); END", [()])])
    a = drop(tmp_path, "a.csv", CSV + "boom,03/03/2024,1,1,1,x\n")
    res = await InternalDataPipeline(chunk_lines=2).run_files(loaded, db)
    assert res["success"] and res["files_loaded"] == 1 and not a.exists()
    assert (res["records_processed"], res["records_quarantined"]) == (3, 1)
    assert len(await ad_rows(db)) == 3
    assert [n for _m, n in await markers(db)] == [3]  # the marker counts rows loaded
    rows = await db.fetch_dicts("SELECT record_key, reason FROM quarantine")
    assert [r["record_key"].split("|")[2] for r in rows] == ["boom"]
    assert "no_boom" in rows[0]["reason"]


async def test_crash_between_commit_and_move_recovers(tmp_path: Path,
                                                      db: DatabaseLoader) -> None:
    """Committed but not moved: the next run finds the marker and only moves the file."""
    loaded = make_config(tmp_path, done_folder="done")
    (tmp_path / "done").write_text("a file where the done folder should be")
    a = drop(tmp_path, "a.csv", CSV + "bad line\n")
    pipe = InternalDataPipeline()
    res = await pipe.run_files(loaded, db)
    assert not res["success"]
    assert res["files"][0]["status"] == "failed" and "FileExistsError" in res["error"]
    assert a.exists() and len(await markers(db)) == 1
    rows, quarantined = await ad_rows(db), await quarantine(db)
    assert len(rows) == 3 and len(quarantined) == 1

    (tmp_path / "done").unlink()
    res = await pipe.run_files(loaded, db)
    assert res["success"] and (res["files_loaded"], res["files_skipped"]) == (0, 1)
    assert not a.exists() and (tmp_path / "done" / "a.csv").exists()
    assert await ad_rows(db) == rows and await quarantine(db) == quarantined


async def test_load_step_commits_and_run_moves_without_reloading(tmp_path: Path,
                                                                 db: DatabaseLoader) -> None:
    """load_file commits rows and marker without moving; the next run moves, no reload."""
    loaded = make_config(tmp_path)
    a = drop(tmp_path, "a.csv", CSV)
    pipe = InternalDataPipeline()
    run_id = await db.start_run(task="internal_files")
    out = FileOutcome("a.csv", sha256=file_sha256(a))
    mapping = InternalMapping(field_map=FIELD_MAP, date_format="%d/%m/%Y",
                              account_id="internal")
    await pipe.load_file(a, out, db=db, run_id=run_id, task="internal_files",
                         account_id="internal", mapping=mapping)
    await db.finish_run(run_id, "interrupted")  # the process "died" here
    assert out.status == "loaded" and a.exists() and len(await ad_rows(db)) == 3
    res = await pipe.run_files(loaded, db)
    assert (res["files_skipped"], res["records_processed"]) == (1, 0)
    assert not a.exists() and len(await ad_rows(db)) == 3


async def test_file_changed_while_read_is_not_marked(tmp_path: Path, db: DatabaseLoader) -> None:
    """Bytes that no longer match the hash taken before loading leave the file unmarked."""
    a = drop(tmp_path, "a.csv", CSV)
    out = FileOutcome("a.csv", sha256=file_sha256(a))
    a.write_text(CSV + "a9,03/03/2024,1,1,1,late\n")  # a writer still appending to it
    run_id = await db.start_run(task="internal_files")
    mapping = InternalMapping(field_map=FIELD_MAP, date_format="%d/%m/%Y")
    await InternalDataPipeline().load_file(a, out, db=db, run_id=run_id, task="internal_files",
                                           account_id="internal", mapping=mapping)
    assert out.status == "failed" and out.error is not None and "changed" in out.error
    assert await markers(db) == [] and a.exists()


async def test_recursive_pattern_leaves_done_folder_alone(tmp_path: Path,
                                                          db: DatabaseLoader) -> None:
    """A "**" pattern does not find loaded files in the done folder and move them again."""
    loaded = make_config(tmp_path, patterns=["**/*.csv"])
    drop(tmp_path, "a.csv", CSV)
    pipe = InternalDataPipeline()
    assert (await pipe.run_files(loaded, db))["files_loaded"] == 1
    again = await pipe.run_files(loaded, db)
    assert again["success"] and again["files"] == []
    assert [p.name for p in (tmp_path / "drop" / "done").iterdir()] == ["a.csv"]


async def test_missing_drop_folder_is_an_error_in_the_result(tmp_path: Path,
                                                            db: DatabaseLoader) -> None:
    """A missing or unset drop folder is a clear error in the result, not an exception."""
    loaded = make_config(tmp_path, drop_folder="nowhere")
    res = await InternalDataPipeline().run_files(loaded, db)
    assert not res["success"] and res["status"] == "failed"
    assert "drop_folder" in res["error"] and "does not exist" in res["error"]
    [run] = await db.run_summary([res["run_id"]])
    assert run["status"] == "failed"
    unset = make_config(tmp_path, drop_folder="")
    res = await InternalDataPipeline().run_files(unset, db)
    assert res["error"] == "platforms.internal.drop_folder is not set"
    bad = make_config(tmp_path, field_map={"ad_id": "Ad"})
    res = await InternalDataPipeline().run_files(bad, db)
    assert not res["success"] and "required fields" in res["error"]


# -- the SQL query ------------------------------------------------------------------------


def make_source(path: Path, rows: list[tuple[Any, ...]]) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE perf (ad TEXT, day TEXT, imps INTEGER, clicks INTEGER,"
                " cost REAL)")
    con.executemany("INSERT INTO perf VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


SQL_MAP = {"ad_id": "ad", "date": "day", "impressions": "imps", "clicks": "clicks",
           "spend": "cost"}
QUERY = "SELECT * FROM perf WHERE day BETWEEN :since AND :until ORDER BY day, ad"


async def test_sql_query_windows_and_ledger_days(tmp_path: Path, db: DatabaseLoader) -> None:
    """Each window is queried with its own days; finished days are marked with their rows."""
    today = datetime.now(UTC).date()
    d = [(today - timedelta(days=4 - i)).isoformat() for i in range(5)]  # d[4] is today
    make_source(tmp_path / "company.db", [
        ("s1", d[0], 100, 1, 1.0), ("s2", d[0], 100, 2, 2.0), ("s1", d[1], 50, 5, 0.5),
        ("s1", d[2], 10, 20, 1.0),  # more clicks than impressions: quarantined
        ("s1", d[4], 7, 0, 0.0), ("s1", (today + timedelta(days=1)).isoformat(), 1, 0, 0.0),
    ])
    loaded = make_config(tmp_path, sql_url="sqlite:///company.db", sql_query=QUERY,
                         field_map=SQL_MAP, date_format="%Y-%m-%d", window_days=2)
    pipe = InternalDataPipeline(chunk_lines=1)
    res = await pipe.run_query(loaded, db, since=d[0], until=d[4])
    assert res["success"], res["error"]
    assert [(w["since"], w["until"], w["rows"], w["loaded"], w["quarantined"],
             w["days_completed"]) for w in res["windows"]] == [
        (d[0], d[1], 3, 3, 0, 2), (d[2], d[3], 1, 0, 1, 2), (d[4], d[4], 1, 1, 0, 0)]
    ledger = await db.fetch_dicts("SELECT day, rows FROM ledger WHERE task = 'internal_sql'"
                                  " AND account_id = 'internal' ORDER BY day")
    assert [(r["day"], r["rows"]) for r in ledger] == [(d[0], 2), (d[1], 1), (d[2], 0),
                                                       (d[3], 0)]
    [q] = await quarantine(db)
    assert q["raw"]["row_number"] == 1 and q["raw"]["window"] == [d[2], d[3]]
    assert q["raw"]["row"]["clicks"] == 20 and "row 1: clicks (20)" in q["reason"]
    [run] = await db.run_summary([res["run_id"]])
    assert (run["window_start"], run["window_end"], run["records_loaded"],
            run["records_quarantined"]) == (d[0], d[4], 4, 1)

    again = await pipe.run_query(loaded, db, since=d[0], until=d[4])
    assert again["success"] and again["records_processed"] == 4
    assert len(await ad_rows(db)) == 4  # the same rows upserted, not appended


async def test_sql_query_problems_are_errors_in_the_result(tmp_path: Path,
                                                          db: DatabaseLoader) -> None:
    """A missing query, a backwards range and a failing query are reported, not raised."""
    loaded = make_config(tmp_path, field_map=SQL_MAP)
    res = await InternalDataPipeline().run_query(loaded, db, since="2024-01-01",
                                                 until="2024-01-02")
    assert res["error"] == "platforms.internal.sql_url and sql_query must both be set"
    make_source(tmp_path / "company.db", [])
    loaded = make_config(tmp_path, sql_url="sqlite:///company.db", field_map=SQL_MAP,
                         sql_query="SELECT * FROM no_such_table WHERE :since <= :until")
    res = await InternalDataPipeline().run_query(loaded, db, since="2024-01-02",
                                                 until="2024-01-01")
    assert not res["success"] and "empty date range" in res["error"]
    res = await InternalDataPipeline().run_query(loaded, db, since="2024-01-01",
                                                 until="2024-01-01")
    assert not res["success"] and "no such table: no_such_table" in res["error"]
    assert res["windows"][0]["status"] == "failed"
    assert await db.fetch_dicts("SELECT day FROM ledger") == []


async def test_sql_query_task_feeds_the_engines_actor_chain(tmp_path: Path,
                                                            db: DatabaseLoader) -> None:
    """Run by the engine, the query's rows go through its transform and loader actors."""
    from within_daemon.config import TaskConfig
    from within_daemon.pipelines.engine import open_engine

    today = datetime.now(UTC).date()
    d = [(today - timedelta(days=3 - i)) for i in range(3)]
    make_source(tmp_path / "company.db", [
        ("s1", d[0].isoformat(), 100, 1, 1.0), ("s2", d[1].isoformat(), 100, 2, 2.0),
        ("s3", d[2].isoformat(), 10, 20, 1.0)])  # more clicks than impressions
    loaded = make_config(tmp_path, sql_url="sqlite:///company.db", sql_query=QUERY,
                         field_map=SQL_MAP, date_format="%Y-%m-%d", window_days=2,
                         drop_folder="")
    task = TaskConfig(name="internal_sql", pipeline="AdDataPipeline",
                      platform="internal")  # type: ignore[arg-type]
    metrics = Metrics()
    async with open_engine(loaded, db, metrics=metrics) as engine:
        res = await engine.run_task(task, start=d[0], end=d[2])
    [acct] = res.accounts
    assert (acct.status, acct.loaded, acct.quarantined, acct.fetched) == ("success", 2, 1, 3)
    ledger = await db.fetch_dicts("SELECT day, rows FROM ledger WHERE task = 'internal_sql'"
                                  " ORDER BY day")
    assert [(r["day"], r["rows"]) for r in ledger] == [
        (d[0].isoformat(), 1), (d[1].isoformat(), 1), (d[2].isoformat(), 0)]
    sample = metrics.registry.get_sample_value
    labels = {"platform": "internal", "pipeline": "InternalDataPipeline"}
    assert sample("within_records_total", {**labels, "stage": "loaded"}) == 2
    assert sample("within_stage_duration_seconds_count", {"stage": "transform"})


async def test_drop_folder_task_feeds_the_engines_actor_chain(tmp_path: Path,
                                                              db: DatabaseLoader) -> None:
    """Run by the engine, a dropped file loads through its chain, then is marked and moved."""
    from within_daemon.config import TaskConfig
    from within_daemon.pipelines.engine import open_engine

    loaded = make_config(tmp_path)
    a = drop(tmp_path, "a.csv", CSV + "bad line\n")
    task = TaskConfig(name="internal_files", pipeline="AdDataPipeline",
                      platform="internal")  # type: ignore[arg-type]
    async with open_engine(loaded, db, metrics=Metrics()) as engine:
        res = await engine.run_task(task)
    [acct] = res.accounts
    assert (acct.status, acct.loaded, acct.quarantined, acct.fetched) == ("success", 3, 1, 4)
    assert not a.exists() and (tmp_path / "drop" / "done" / "a.csv").exists()
    sha = file_sha256(tmp_path / "drop" / "done" / "a.csv")
    assert await markers(db) == [(file_marker("internal", "a.csv", sha), 3)]
    [q] = await quarantine(db)
    assert (q["raw"]["file"], q["raw"]["line"]) == ("a.csv", 5)
