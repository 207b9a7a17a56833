"""The internal source: drop-folder discovery, CSV / JSONL parsing with line numbers, SQL."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from within_daemon.errors import PermanentSourceError
from within_daemon.sources.internal import (
    FileParser,
    ParsedLine,
    discover_files,
    file_sha256,
    iter_query,
    move_to_done,
    sqlite_source_path,
)


def parse_all(path: Path, chunk_lines: int = 1000) -> tuple[list[list[ParsedLine]], str]:
    chunks = []
    with FileParser(path, chunk_lines=chunk_lines) as p:
        while chunk := p.next_chunk():
            chunks.append(chunk)
        return chunks, p.sha256


def flat(path: Path) -> list[ParsedLine]:
    return [pl for chunk in parse_all(path)[0] for pl in chunk]


def test_discover_files_sorted_by_name_matching_patterns(tmp_path: Path) -> None:
    """Matching regular files come back sorted by name; dotfiles, folders and others do not."""
    for name in ("b.jsonl", "a.csv", "c.CSV", ".tmp.csv", "notes.txt"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "sub.csv").mkdir()
    got = discover_files(tmp_path, ("*.csv", "*.jsonl"))
    assert [p.name for p in got] == ["a.csv", "b.jsonl"]


def test_discover_files_missing_folder_raises(tmp_path: Path) -> None:
    """A drop folder that is missing, or is a file, is an OSError naming it."""
    with pytest.raises(FileNotFoundError, match="does not exist"):
        discover_files(tmp_path / "nope", ("*.csv",))
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        discover_files(tmp_path / "file", ("*.csv",))


def test_csv_rows_numbered_by_their_first_line(tmp_path: Path) -> None:
    """Blank lines are skipped, a quoted field may span lines, header names are stripped."""
    f = tmp_path / "a.csv"
    f.write_bytes(b'\xef\xbb\xbfad, spend\r\n1,2.5\r\n\r\n"2\nb",3\r\n3,4\r\n')
    rows = flat(f)
    assert [(pl.line, pl.row, pl.error) for pl in rows] == [
        (2, {"ad": "1", "spend": "2.5"}, None),
        (4, {"ad": "2\nb", "spend": "3"}, None),
        (6, {"ad": "3", "spend": "4"}, None),
    ]


def test_csv_wrong_column_count_and_bad_utf8_are_errors(tmp_path: Path) -> None:
    """Short, long and undecodable rows come back as errors with their line and fields."""
    f = tmp_path / "a.csv"
    f.write_bytes(b"a,b\n1,2\n3\n4,5,6\n7,\xff\n8,9\n")
    rows = flat(f)
    assert [pl.line for pl in rows] == [2, 3, 4, 5, 6]
    assert rows[0].error is None and rows[4].error is None
    assert rows[1].error == "line 3: expected 2 columns, got 1"
    assert rows[1].row == {"a": "3"}
    assert rows[2].error == "line 4: expected 2 columns, got 3"
    assert rows[2].row == {"a": "4", "b": "5", "(extra)": ["6"]}
    assert rows[3].error == "line 5: not valid UTF-8"
    assert rows[3].row == {"a": "7", "b": "\ufffd"}


def test_jsonl_objects_and_malformed_lines(tmp_path: Path) -> None:
    """One object per line; bad JSON, non-objects and bad UTF-8 are errors with the text."""
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"ad": 1}\n\n{broken\n[1, 2]\n{"ad": 2}\n{"ad": "\xff"}\n')
    rows = flat(f)
    assert [pl.line for pl in rows] == [1, 3, 4, 5, 6]
    assert rows[0].row == {"ad": 1} and rows[3].row == {"ad": 2}
    assert rows[4].error == "line 6: not valid UTF-8"
    assert rows[4].text == '{"ad": "\ufffd"}'
    assert rows[1].error is not None and rows[1].error.startswith("line 3: invalid JSON")
    assert rows[1].text == "{broken"
    assert rows[2].error == "line 4: expected a JSON object, got list"
    assert rows[2].text == "[1, 2]"


def test_chunks_and_hash_of_bytes_read(tmp_path: Path) -> None:
    """Chunks hold at most chunk_lines records; the running hash ends as the file's sha256."""
    f = tmp_path / "a.jsonl"
    f.write_text("".join(f'{{"n": {i}}}\n' for i in range(7)))
    chunks, digest = parse_all(f, chunk_lines=3)
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert digest == file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_overlong_and_deeply_nested_lines_are_errors_of_their_line(tmp_path: Path) -> None:
    """A line past the cap is reported unread and a too-deep one is an error; the rest load."""
    path = tmp_path / "a.jsonl"
    deep = '{"x": ' + "[" * 5_000 + "]" * 5_000 + "}"
    path.write_text('{"ad": 1}\n' + '{"ad": "' + "x" * 5_000_000 + '"}\n' + deep + "\n"
                    + '{"ad": 4}\n')
    with FileParser(path, max_line_bytes=100_000) as p:
        got = p.next_chunk()
        assert not p.next_chunk()
        assert p.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(pl.line, pl.row) for pl in got if pl.error is None] == [(1, {"ad": 1}),
                                                                     (4, {"ad": 4})]
    errors = {pl.line: pl.error for pl in got if pl.error}
    assert errors[2] == "line 2: longer than 100000 bytes; not read"
    assert "nested deeper" in str(errors[3])
    assert all(len(pl.text or "") <= 10_003 for pl in got)


def test_jsonl_line_with_a_lone_surrogate_escape_parses(tmp_path: Path) -> None:
    """Such a line is a row (validation quarantines the value), not an invalid-JSON line."""
    path = tmp_path / "a.jsonl"
    path.write_text('{"ad": "x\\ud83d"}\n')
    with FileParser(path) as p:
        (pl,) = p.next_chunk()
    assert pl.error is None and pl.row == {"ad": "x\ud83d"}


def test_overlong_csv_line_is_an_error_of_its_row(tmp_path: Path) -> None:
    """In CSV the row holding an over-long line is reported; the rows around it load."""
    path = tmp_path / "a.csv"
    path.write_text("ad,n\n1,a\n2," + "y" * 300 + "\n3,c\n")
    with FileParser(path, max_line_bytes=100) as p:
        got = p.next_chunk()
    assert [(pl.line, pl.row, pl.error) for pl in got] == [
        (2, {"ad": "1", "n": "a"}, None), (3, None, "line 3: longer than 100 bytes; not read"),
        (4, {"ad": "3", "n": "c"}, None)]


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    """A suffix that is neither CSV nor JSONL is a ValueError naming the file."""
    with pytest.raises(ValueError, match=r"x\.txt: unknown file type"):
        FileParser(tmp_path / "x.txt")


def test_move_to_done_adds_suffix_on_clash(tmp_path: Path) -> None:
    """The done folder is created; a name already there gets .1, .2 before the suffix."""
    done = tmp_path / "done"
    for expected in ("a.csv", "a.1.csv", "a.2.csv"):
        src = tmp_path / "a.csv"
        src.write_text("x")
        assert move_to_done(src, done) == done / expected
        assert not src.exists()
    assert sorted(p.name for p in done.iterdir()) == ["a.1.csv", "a.2.csv", "a.csv"]


def make_source(path: Path, n: int) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE perf (ad TEXT, day TEXT, imps INTEGER)")
    con.executemany("INSERT INTO perf VALUES (?, ?, ?)",
                    [(f"a{i}", f"2024-01-{1 + i % 3:02d}", i) for i in range(n)])
    con.commit()
    con.close()


async def test_iter_query_pages_with_named_parameters(tmp_path: Path) -> None:
    """Rows come as dicts, page_size at a time, with :since / :until bound by name."""
    src = tmp_path / "src with space.db"
    make_source(src, 10)
    pages = [page async for page in iter_query(
        src, "SELECT ad, day, imps FROM perf WHERE day BETWEEN :since AND :until ORDER BY imps",
        {"since": "2024-01-01", "until": "2024-01-02"}, page_size=3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert pages[0][0] == {"ad": "a0", "day": "2024-01-01", "imps": 0}
    assert {r["day"] for p in pages for r in p} == {"2024-01-01", "2024-01-02"}


async def test_iter_query_is_read_only(tmp_path: Path) -> None:
    """The source database is opened read-only: a writing query fails and changes nothing."""
    src = tmp_path / "src.db"
    make_source(src, 2)
    with pytest.raises(PermanentSourceError, match="readonly"):
        async for _ in iter_query(src, "DELETE FROM perf", {}):
            pass
    assert sqlite3.connect(src).execute("SELECT COUNT(*) FROM perf").fetchone()[0] == 2


async def test_iter_query_missing_database_and_bad_url(tmp_path: Path) -> None:
    """A missing file is an error (not a new empty database); only sqlite:/// is accepted."""
    with pytest.raises(PermanentSourceError, match="does not exist"):
        async for _ in iter_query(tmp_path / "none.db", "SELECT 1", {}):
            pass
    assert not (tmp_path / "none.db").exists()
    assert sqlite_source_path("sqlite:///rel.db", tmp_path) == tmp_path / "rel.db"
    with pytest.raises(PermanentSourceError, match="sqlite:///"):
        sqlite_source_path("postgresql://db/x", tmp_path)
