"""The drop folder is not a door: links, FIFOs and half-written files are not read.

A real drop folder on disk, a real database (both backends), a clock moved by the test
instead of sleeping out the settle time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.logging import register_secret
from within_daemon.pipelines.internal_pipeline import InternalDataPipeline
from within_daemon.sources.internal import FileParser, file_sha256, open_regular, scan_drop_folder

from .test_internal_pipeline import CSV, _internal_accounts_allowed, ad_rows, drop, make_config

__all__ = ["_internal_accounts_allowed"]  # the autouse fixture, shared


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


def later(seconds: float) -> float:
    return time.time() + seconds


async def test_symlinks_fifos_and_hard_links_are_refused(tmp_path: Path,
                                                         db: DatabaseLoader) -> None:
    """A link to a secret file, a FIFO and a hard link are reported, never read or moved."""
    secret = tmp_path / "secret.csv"
    secret.write_text(CSV.replace("Spring", "TOP-SECRET"))
    loaded = make_config(tmp_path)
    (tmp_path / "drop" / "link.csv").symlink_to(secret)
    os.mkfifo(tmp_path / "drop" / "pipe.csv")
    os.link(secret, tmp_path / "drop" / "hard.csv")
    good = drop(tmp_path, "good.csv", CSV)
    res = await InternalDataPipeline().run_files(loaded, db)
    outcome = {f["file"]: (f["status"], f["error"]) for f in res["files"]}
    assert outcome["good.csv"] == ("loaded", None)
    assert outcome["link.csv"] == ("failed", "refused: a symbolic link; only regular files are "
                                             "read")
    assert outcome["pipe.csv"][1].startswith("refused: a FIFO")
    assert outcome["hard.csv"][1].startswith("refused: a hard link")
    assert res["status"] == "partial" and res["records_processed"] == 3
    assert not any("TOP-SECRET" in str(r) for r in await ad_rows(db))
    assert (tmp_path / "drop" / "link.csv").is_symlink() and not good.exists()


def test_opening_refuses_what_was_swapped_in_after_the_scan(tmp_path: Path) -> None:
    """Hashing and parsing open with O_NOFOLLOW and check the opened file itself."""
    target = tmp_path / "t.csv"
    target.write_text("a\n")
    link = tmp_path / "l.csv"
    link.symlink_to(target)
    for call in (lambda: file_sha256(link), lambda: FileParser(link).__enter__(),
                 lambda: open_regular(link)):
        with pytest.raises(ValueError, match="symbolic link"):
            call()
    os.mkfifo(tmp_path / "p.csv")
    with pytest.raises(ValueError, match="FIFO"):
        open_regular(tmp_path / "p.csv")  # and it did not block waiting for a writer


async def test_a_file_loads_only_once_settled(tmp_path: Path, db: DatabaseLoader) -> None:
    """A fresh file waits for settle_seconds (the clock is moved, not slept); then it loads."""
    loaded = make_config(tmp_path, settle_seconds=30)
    path = drop(tmp_path, "a.csv", CSV)
    res = await InternalDataPipeline(clock=lambda: later(5)).run_files(loaded, db)
    assert res["files"] == [] and res["records_processed"] == 0 and path.exists()
    assert res["waiting"][0]["file"] == "a.csv" and "waits until unchanged for 30s" in \
        res["waiting"][0]["reason"]
    res = await InternalDataPipeline(clock=lambda: later(31)).run_files(loaded, db)
    assert res["files_loaded"] == 1 and res["records_processed"] == 3 and not path.exists()


async def test_a_file_without_final_newline_waits(tmp_path: Path, db: DatabaseLoader) -> None:
    """A writer mid-line (no final newline) is not read half-way; the finished file loads."""
    loaded = make_config(tmp_path)
    path = drop(tmp_path, "a.csv", CSV + "a3,03/03/2024,7")
    res = await InternalDataPipeline().run_files(loaded, db)
    assert res["files"] == [] and "newline" in res["waiting"][0]["reason"]
    with path.open("a") as f:
        f.write(",1,1,x\n")
    res = await InternalDataPipeline(clock=lambda: later(1)).run_files(loaded, db)
    assert res["files_loaded"] == 1 and res["records_processed"] == 4


def test_patterns_do_not_walk_into_linked_folders(tmp_path: Path) -> None:
    """A pattern like */*.csv does not read files through a symbolically linked folder."""
    elsewhere = tmp_path / "elsewhere" / "sub"
    elsewhere.mkdir(parents=True)
    (elsewhere / "x.csv").write_text("a\n")
    drop_dir = tmp_path / "drop"
    (drop_dir / "real").mkdir(parents=True)
    (drop_dir / "real" / "y.csv").write_text("a\n")
    (drop_dir / "link").symlink_to(tmp_path / "elsewhere")
    scan = scan_drop_folder(drop_dir, ["*/*.csv", "*/*/*.csv"], settle_seconds=0)
    assert [p.name for p in scan.ready] == ["y.csv"]
    assert [(p.name, why.split(",")[0]) for p, why in scan.refused] == [
        ("x.csv", "inside link")]


def test_scan_sorts_ready_waiting_refused(tmp_path: Path) -> None:
    """scan_drop_folder: empty files are complete; folders and dotfiles are left out."""
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ok.csv").write_text("a\n")
    (tmp_path / "half.csv").write_text("a")
    (tmp_path / ".tmp.csv").write_text("a\n")
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "nowhere")
    scan = scan_drop_folder(tmp_path, ["*.csv"], settle_seconds=0)
    assert [p.name for p in scan.ready] == ["empty.csv", "ok.csv"]
    assert [p.name for p, _ in scan.waiting] == ["half.csv"]
    assert [p.name for p, _ in scan.refused] == ["dangling.csv"]
    fresh = scan_drop_folder(tmp_path, ["*.csv"], settle_seconds=60)
    assert fresh.ready == [] and len(fresh.waiting) == 3


async def test_known_secrets_are_scrubbed_from_quarantined_lines(tmp_path: Path,
                                                                 db: DatabaseLoader) -> None:
    """A token pasted into a dropped file never reaches the quarantine verbatim."""
    token = "EAAB-dropped-secret-7f3a9c"
    register_secret(token)
    loaded = make_config(tmp_path)
    drop(tmp_path, "a.jsonl", '{"Ad": "j1", "Day": "01/03/2024", "Imps": "x", "Clicks": 1,'
         f' "Cost": 1, "Title": "{token}"}}\n' + f"not json {token}\n")
    drop(tmp_path, "b.csv", CSV + f"a9,01/03/2024,1,2,3,{token},extra\n")
    res = await InternalDataPipeline().run_files(loaded, db)
    assert res["records_quarantined"] == 3
    stored = await db.fetch_dicts("SELECT reason, raw_json, errors_json FROM quarantine")
    assert len(stored) == 3
    assert token not in json.dumps(stored)
    assert "***" in json.dumps(stored)
