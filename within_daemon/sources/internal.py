"""The company's own data: dropped CSV / JSONL files and one SQL query (reading only).

Files: :func:`scan_drop_folder` sorts the matching entries of the drop folder into files
ready to load, files still settling and entries refused (:mod:`.drop_folder`: the drop
folder is not a door), :func:`file_sha256` hashes one, :func:`move_to_done` files it away, and
:class:`FileParser` reads one in chunks of :class:`ParsedLine` (a row with the physical
line it starts on, or the reason the line could not be read), hashing exactly the bytes it
parsed so the caller can tell whether the file changed while it was being loaded. CSV rows
become dicts keyed by the header (a quoted field may span lines; a row is numbered by its
first line); JSONL is one object per line. Nothing here raises on a malformed line: it
becomes a ``ParsedLine`` with an ``error``.

SQL: :func:`iter_query` runs a query against a ``sqlite:///`` database opened read-only
(we never write to the company's database) and yields its rows as dicts, a page at a time,
so memory stays bounded by the page, not by the result.

Blocking file I/O is synchronous here; the pipeline runs it in a worker thread.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import sqlite3
import urllib.parse
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

import aiosqlite
import msgspec

from ..config import sqlite_path
from ..errors import PermanentSourceError, SourceError
from .drop_folder import (  # re-exported: the internal source's file API lives here
    DEFAULT_SETTLE_SECONDS,
    DropScan,
    open_regular,
    scan_drop_folder,
)
from .http.bodies import decode_lenient

__all__ = [
    "DEFAULT_CHUNK_LINES", "DEFAULT_PAGE_SIZE", "DEFAULT_SETTLE_SECONDS", "FORMATS",
    "MAX_LINE_BYTES", "MAX_TEXT_CHARS", "PLATFORM", "DropScan", "FileParser", "ParsedLine",
    "discover_files", "file_format", "file_sha256", "iter_query", "move_to_done",
    "open_regular", "scan_drop_folder", "sqlite_source_path",
]

PLATFORM = "internal"
DEFAULT_CHUNK_LINES = 1000
DEFAULT_PAGE_SIZE = 1000
#: Longest raw line text kept for the quarantine (a runaway line must not bloat it).
MAX_TEXT_CHARS = 10_000
#: Longest line read (a row of ad data is about a kilobyte; a line past this is reported,
#: never held in memory whole).
MAX_LINE_BYTES = 1 << 20
_HASH_BLOCK = 1 << 20

FileFormat = Literal["csv", "jsonl"]
FORMATS: dict[str, FileFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}



class ParsedLine(msgspec.Struct, frozen=True):
    """One record of a file, numbered by the physical line it starts on.

    ``error`` None: ``row`` is the parsed record. Otherwise the line is malformed and
    ``row`` holds the fields as read (a CSV row of the wrong width) or ``text`` the line.
    """

    line: int
    row: dict[str, Any] | None = None
    error: str | None = None
    text: str | None = None


def file_format(path: Path) -> FileFormat | None:
    """``csv`` or ``jsonl`` from the file's suffix; None when we cannot read that kind."""
    return FORMATS.get(path.suffix.lower())


def discover_files(folder: Path, patterns: Sequence[str]) -> list[Path]:
    """Regular files of ``folder`` matching any pattern, sorted by name, dotfiles left out.

    Raises ``FileNotFoundError`` / ``NotADirectoryError`` when the folder is not there.
    Writers should write elsewhere (or under a dotted name) and rename into the folder, so
    a half-copied file is never picked up.
    """
    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(f"drop folder {folder} is not a directory")
        raise FileNotFoundError(f"drop folder {folder} does not exist")
    found: dict[str, Path] = {}
    for pattern in patterns:
        for p in folder.glob(pattern):
            # pathlib's glob matches dotfiles with "*"; editors and copy tools use them
            # for temporary files, which are not ready to load. Only plain files: a
            # symbolic link would let whoever writes here make us read any file.
            if p.name.startswith(".") or p.is_symlink() or not p.is_file():
                continue
            found[p.name] = p
    return [found[n] for n in sorted(found)]


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes (a plain file only: see :func:`open_regular`)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def move_to_done(path: Path, done: Path) -> Path:
    """Move ``path`` into ``done`` (created); a taken name gets ``.1``, ``.2`` ... added."""
    done.mkdir(parents=True, exist_ok=True)
    target = done / path.name
    n = 0
    while target.exists():
        n += 1
        target = done / f"{path.stem}.{n}{path.suffix}"
    # shutil.move renames within a filesystem and copies across them.
    return Path(shutil.move(str(path), str(target)))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "..."


def _is_utf8(text: str) -> bool:
    """False when decoding had to smuggle invalid bytes through as surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class FileParser:
    """Reads one CSV or JSONL file chunk by chunk; see the module docstring.

    Use as a context manager; call :meth:`next_chunk` until it returns an empty list, then
    :attr:`sha256` is the hash of every byte read.
    """

    def __init__(self, path: Path, *, chunk_lines: int = DEFAULT_CHUNK_LINES,
                 max_line_bytes: int = MAX_LINE_BYTES) -> None:
        fmt = file_format(path)
        if fmt is None:
            raise ValueError(
                f"{path.name}: unknown file type {path.suffix!r} "
                f"(expected one of {', '.join(sorted(FORMATS))})"
            )
        if chunk_lines < 1:
            raise ValueError("chunk_lines must be at least 1")
        self.path = path
        self.format: FileFormat = fmt
        self.chunk_lines = chunk_lines
        self.header: list[str] | None = None
        self.max_line_bytes = max_line_bytes
        #: Physical line numbers that were longer than ``max_line_bytes`` (not read).
        self.long_lines: set[int] = set()
        self._hash = hashlib.sha256()
        self._file: BinaryIO | None = None
        self._records: Iterator[ParsedLine] | None = None

    def __enter__(self) -> FileParser:
        self._file = open_regular(self.path)
        lines = self._text_lines(self._file)
        self._records = self._csv(lines) if self.format == "csv" else self._jsonl(lines)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def sha256(self) -> str:
        """Hash of the bytes read so far (the whole file once the chunks are exhausted)."""
        return self._hash.hexdigest()

    def next_chunk(self) -> list[ParsedLine]:
        """Up to ``chunk_lines`` records; an empty list at the end of the file."""
        if self._records is None:
            raise RuntimeError("FileParser used outside its with block")
        out: list[ParsedLine] = []
        for rec in self._records:
            out.append(rec)
            if len(out) >= self.chunk_lines:
                break
        return out

    def _text_lines(self, f: BinaryIO) -> Iterator[str]:
        """Decoded lines (newlines kept), hashing every byte on the way.

        A line longer than ``max_line_bytes`` is never held whole: its rest is read and
        hashed in blocks, its number noted in ``long_lines``, and an empty line stands in
        for it (the record it belongs to is then reported, not parsed).
        """
        first = True
        cap = self.max_line_bytes
        n = 0
        while raw := f.readline(cap + 1):
            n += 1
            self._hash.update(raw)
            if len(raw) > cap and not raw.endswith(b"\n"):
                while (rest := f.readline(_HASH_BLOCK)) and not rest.endswith(b"\n"):
                    self._hash.update(rest)
                self._hash.update(rest)
                self.long_lines.add(n)
                first = False
                yield "\n"
                continue
            # surrogateescape keeps a bad byte visible instead of failing the whole file;
            # the line holding it is quarantined below.
            text = raw.decode("utf-8", "surrogateescape")
            if first:
                text = text.removeprefix("\ufeff")  # spreadsheet exports start with a BOM
                first = False
            yield text

    def _too_long(self, n: int) -> ParsedLine:
        return ParsedLine(n, error=f"line {n}: longer than {self.max_line_bytes} bytes; "
                          "not read")

    def _jsonl(self, lines: Iterator[str]) -> Iterator[ParsedLine]:
        for n, text in enumerate(lines, start=1):
            if n in self.long_lines:
                yield self._too_long(n)
                continue
            if not text.strip():
                continue
            body = text.rstrip("\r\n")
            if not _is_utf8(body):
                yield ParsedLine(n, error=f"line {n}: not valid UTF-8",
                                 text=_clip(_printable({"t": body})["t"]))
                continue
            try:
                obj = decode_lenient(body)  # a lone surrogate escape: validation's to judge
            except msgspec.DecodeError as exc:
                yield ParsedLine(n, error=f"line {n}: invalid JSON: {exc}", text=_clip(body))
                continue
            except RecursionError:
                yield ParsedLine(n, error=f"line {n}: JSON nested deeper than the decoder "
                                 "allows", text=_clip(body))
                continue
            if not isinstance(obj, dict):
                yield ParsedLine(n, error=f"line {n}: expected a JSON object, got "
                                 f"{type(obj).__name__}", text=_clip(body))
                continue
            yield ParsedLine(n, row=obj)

    def _csv(self, lines: Iterator[str]) -> Iterator[ParsedLine]:
        # csv.reader rather than DictReader: DictReader skips blank lines inside next(),
        # which hides the line a row starts on; here every line is accounted for.
        reader = csv.reader(lines)
        prev = 0
        width = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The reader drops the offending line and starts afresh on the next one.
                n, prev = prev + 1, reader.line_num
                yield ParsedLine(n, error=f"line {n}: unreadable CSV: {exc}")
                continue
            n, prev = prev + 1, reader.line_num
            if self.long_lines and any(i in self.long_lines for i in range(n, prev + 1)):
                yield self._too_long(n)
                continue
            if not fields or fields == [""]:
                continue  # a blank line is not a row
            if self.header is None:
                # " spend" and "spend" are the same column to whoever wrote the header
                self.header = [h.strip() for h in fields]
                width = len(self.header)
                continue
            if len(fields) != width:
                shown: dict[str, Any] = dict(zip(self.header, fields, strict=False))
                if len(fields) > width:
                    shown["(extra)"] = fields[width:]
                yield ParsedLine(n, row=_printable(shown),
                                 error=f"line {n}: expected {width} columns, got {len(fields)}")
                continue
            row = dict(zip(self.header, fields, strict=True))
            if not all(_is_utf8(v) for v in fields):
                yield ParsedLine(n, row=_printable(row), error=f"line {n}: not valid UTF-8")
                continue
            yield ParsedLine(n, row=row)


def _printable(row: dict[str, Any]) -> dict[str, Any]:
    """A rejected row with undecodable bytes replaced, so the quarantine can store it."""
    # Back to the original bytes, then decoded with U+FFFD where they were not UTF-8.
    return {k: (v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                if isinstance(v, str) else v)
            for k, v in row.items()}


# -- SQL ----------------------------------------------------------------------------------


def sqlite_source_path(url: str, base_dir: Path) -> Path:
    """The database file behind ``sql_url``; only ``sqlite:///`` files are supported."""
    path = sqlite_path(url, base_dir)
    if path is None:
        raise PermanentSourceError(
            f"platforms.internal.sql_url must be sqlite:///path (a file), got {url!r}",
            platform=PLATFORM)
    return path


async def iter_query(
    path: Path,
    query: str,
    params: Mapping[str, Any],
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    account_id: str = "",
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Rows of ``query`` (named parameters ``params``) as dicts, ``page_size`` at a time.

    The database is opened read-only, so a query can never change the company's data; a
    missing file is an error rather than a new empty database.
    """
    if not path.is_file():
        raise PermanentSourceError(f"source database {path} does not exist",
                                   platform=PLATFORM, account_id=account_id)
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        conn = await aiosqlite.connect(uri, uri=True)
    except (sqlite3.Error, OSError) as exc:
        raise SourceError(f"cannot open source database {path}: {exc}",
                          platform=PLATFORM, account_id=account_id) from exc
    try:
        try:
            cur = await conn.execute(query, dict(params))
        except sqlite3.Error as exc:
            raise PermanentSourceError(f"internal sql_query failed: {exc}",
                                       platform=PLATFORM, account_id=account_id) from exc
        async with cur:
            names = [d[0] for d in cur.description or ()]
            while True:
                try:
                    page = await cur.fetchmany(page_size)
                except sqlite3.Error as exc:
                    raise SourceError(f"reading internal sql_query rows failed: {exc}",
                                      platform=PLATFORM, account_id=account_id) from exc
                if not page:
                    return
                yield [dict(zip(names, r, strict=True)) for r in page]
    finally:
        await conn.close()
