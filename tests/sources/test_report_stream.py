"""The Amazon report stream decodes in linear time; long or deep rows are errors of the report."""

from __future__ import annotations

import gzip
from typing import Any

import msgspec
import pytest

from within_daemon.errors import PermanentSourceError
from within_daemon.sources.amazon.reports import JsonArrayStream, ReportStream

CHUNK = 64 * 1024


def counting(stream: JsonArrayStream) -> list[int]:
    """Record how many bytes each msgspec decode call is handed."""
    sizes: list[int] = []
    decode = stream._decode

    def wrapped(data: bytes) -> Any:
        sizes.append(len(data))
        return decode(data)

    stream._decode = wrapped
    return sizes


def feed_all(stream: JsonArrayStream, raw: bytes, chunk: int = CHUNK) -> list[Any]:
    rows = [r for i in range(0, len(raw), chunk) for r in stream.feed(raw[i:i + chunk])]
    stream.close()
    return rows


def test_braces_in_long_strings_cost_linear_work() -> None:
    """Rows whose strings are full of '}' are decoded with work proportional to the report."""
    rows = [{"adId": str(i), "note": "}" * 8000} for i in range(1000)]  # 8 MB
    raw = msgspec.json.encode(rows)
    stream = JsonArrayStream()
    sizes = counting(stream)
    assert feed_all(stream, raw) == rows
    # Before: every chunk re-decoded the whole growing buffer, 4 tries each (~500x here).
    assert sum(sizes) < 3 * len(raw), sum(sizes) / len(raw)


def test_nested_rows_cost_linear_work() -> None:
    """Rows ending in nested objects (the last '}' of a chunk is inner) stay linear too."""
    rows = [{"adId": str(i), "x": {"y": [1, {"z": "}"}]}} for i in range(50_000)]
    raw = msgspec.json.encode(rows)
    stream = JsonArrayStream()
    sizes = counting(stream)
    assert feed_all(stream, raw, chunk=4096) == rows
    assert sum(sizes) < 3 * len(raw)


def test_row_longer_than_the_cap_is_refused() -> None:
    """A row past max_row_bytes is an error, not an ever-growing buffer."""
    stream = JsonArrayStream(max_row_bytes=10_000)
    with pytest.raises(ValueError, match="longer than 10000 bytes"):
        stream.feed(b'[{"a": "' + b"x" * 20_000)
    ok = JsonArrayStream(max_row_bytes=10_000)
    assert feed_all(ok, msgspec.json.encode([{"a": "x" * 9000}] * 3), chunk=1000) == [
        {"a": "x" * 9000}] * 3


def test_deeply_nested_report_is_a_permanent_error() -> None:
    """A report row nested 100,000 deep fails the report clearly (no RecursionError)."""
    deep = b'[{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]"
    stream = ReportStream(10 << 20, account_id="1", report_id="r")
    with pytest.raises(PermanentSourceError, match="nested deeper"):
        stream.feed(gzip.compress(deep))
    with pytest.raises(ValueError, match="nested deeper"):
        JsonArrayStream().feed(b'[{"a": ' + b"[" * 500)


def test_trailing_data_after_the_array_is_bounded() -> None:
    """Bytes after the closing ']' are refused instead of buffered without end."""
    stream = JsonArrayStream()
    assert stream.feed(b'[{"a": 1}] ') == [{"a": 1}]
    with pytest.raises(ValueError, match="after the end"):
        stream.feed(b"x" * 4096)


def test_lone_surrogate_escape_does_not_fail_the_report() -> None:
    """A row with a lone surrogate escape decodes (validation judges it); the rest too."""
    raw = b'[{"a": "x\\ud83d"}, {"a": "y"}]'
    assert feed_all(JsonArrayStream(), raw, chunk=7) == [{"a": "x\ud83d"}, {"a": "y"}]
