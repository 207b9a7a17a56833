"""Elements of one top-level JSON array, decoded as the bytes arrive, in linear time.

Used for Amazon's report files (a gzip of one JSON array of rows, from a URL we do not
control): memory follows the rows in flight, not the report, and a hostile file (braces in
long strings, rows nested past the decoder, one endless row, data after the array) is a
``ValueError`` the caller turns into an error of the report.

Rows are decoded as plain JSON values on purpose, never into Structs: one row with a poison
value (or one that is not an object) must cost that row in validation, not the report.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .bodies import decode_lenient

_WS = b" \t\r\n"

# Tokens of the incremental scan (possessive quantifiers: no backtracking, linear time).
_NEXT = re.compile(rb'[\[\]{}"]')
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)
#: A run of flat rows (objects without nested objects or arrays): one C-speed match for
#: the whole common case, so Python only sees the rows that are not flat.
_FLAT_ROWS = re.compile(rb'(?:[\s,]*+\{(?:[^{}\[\]"]++|"(?:[^"\\]++|\\.)*+")*+\})++', re.S)
#: Longest row accepted (a report row is a few hundred bytes).
MAX_ROW_BYTES = 1 << 20
#: Deepest nesting inside a row (msgspec itself gives up near 1000).
MAX_DEPTH = 64


class JsonArrayStream:
    """Elements of one top-level JSON array, decoded as its bytes arrive, in linear time.

    Rows are objects, so usually everything up to the buffer's last ``}`` is complete rows
    and msgspec decodes it in one go (:meth:`_quick`). When that cut is not valid, a scan
    that remembers where it stopped (position, nesting depth) finds where the last complete
    element ends; it scans every byte once (a string or flat row left unfinished at the
    end of a chunk is looked at again, at most :data:`MAX_ROW_BYTES` of it). A row longer
    than ``max_row_bytes`` or nested deeper than :data:`MAX_DEPTH` is a ``ValueError``,
    never a quadratic re-scan or an escaped ``RecursionError``.
    """

    def __init__(self, max_row_bytes: int = MAX_ROW_BYTES) -> None:
        self.max_row_bytes = max_row_bytes
        self._buf = bytearray()
        self._started = False
        self._closed = False
        self._rows_seen = False
        self._pos = 0  # bytes of _buf already scanned
        self._depth = 1  # 1: inside the top-level array, between or at elements
        self._decode = msgspec.json.Decoder().decode

    def feed(self, data: bytes) -> list[Any]:
        buf = self._buf
        buf += data
        if not self._started:
            stripped = bytes(buf).lstrip(_WS)
            if not stripped:
                buf.clear()
                return []
            if stripped[:1] != b"[":
                raise ValueError(f"not a JSON array (starts with {stripped[:20]!r})")
            buf[:] = stripped[1:]
            self._started = True
        if self._closed:
            if len(buf) > 1024:
                raise ValueError("data after the end of the JSON array")
            return []
        rows = self._quick()
        if rows is None:
            cut = self._scan()
            rows = self._take(cut) if cut else []
        if self._closed:
            if len(buf) > 1024:
                raise ValueError("data after the end of the JSON array")
        elif len(buf) > self.max_row_bytes:
            raise ValueError(f"a row longer than {self.max_row_bytes} bytes (or no row end in "
                             "that many bytes)")
        return rows

    def _quick(self) -> list[Any] | None:
        """The common case at msgspec's speed: everything up to the last ``}`` is rows.

        One try per chunk. When that ``}`` does not end a row (a brace in a string, a
        nested object) the decode fails and the scan takes over where it stopped; the
        failed try costs one pass over the buffer, which the row cap bounds.
        """
        buf = self._buf
        pos = buf.rfind(b"}")
        if pos < 0:
            return None
        part = bytes(buf[: pos + 1]).lstrip(_WS)
        if self._rows_seen and part[:1] == b",":
            part = part[1:]
        try:
            rows: list[Any] = self._decode(b"[" + part + b"]")
        except (msgspec.DecodeError, RecursionError):
            return None
        del buf[: pos + 1]
        self._pos, self._depth = 0, 1  # at a row boundary: the scan starts afresh
        self._rows_seen = self._rows_seen or bool(rows)
        return rows

    def _scan(self) -> int:
        """Scan on from ``_pos``; returns where the last complete element ends (0: none)."""
        buf, pos, depth, cut = self._buf, self._pos, self._depth, 0
        end = len(buf)
        while pos < end:
            if depth == 1:
                m = _FLAT_ROWS.match(buf, pos)
                if m is not None:
                    pos = cut = m.end()
                    continue
            m = _NEXT.search(buf, pos)
            if m is None:
                pos = end
                break
            i = m.start()
            c = buf[i]
            if c == 0x22:  # '"'
                s = _STRING.match(buf, i)
                if s is None:
                    pos = i  # unfinished: look again when more bytes arrive
                    break
                pos = s.end()
                continue
            pos = i + 1
            if c in b"{[":
                depth += 1
                if depth > MAX_DEPTH:
                    raise ValueError(f"a row nested deeper than {MAX_DEPTH} levels")
                continue
            depth -= 1
            if depth == 1:
                cut = pos
            elif depth == 0:  # the top-level array's own "]"
                self._closed = True
                cut = i
                break
        self._pos, self._depth = pos, depth
        return cut

    def _take(self, cut: int) -> list[Any]:
        buf = self._buf
        part = bytes(buf[:cut]).strip(_WS)
        del buf[:cut]
        self._pos -= cut
        if self._rows_seen and part[:1] == b",":
            part = part[1:]
        if not part:
            return []
        try:
            rows: list[Any] = self._decode(b"[" + part + b"]")
        except msgspec.DecodeError as exc:
            try:  # a lone surrogate escape fails its row in validation, not the report
                rows = decode_lenient(b"[" + part + b"]")
            except (msgspec.DecodeError, RecursionError):
                raise ValueError(f"malformed JSON array: {exc}") from None
        except RecursionError:
            raise ValueError("a row nested deeper than the decoder allows") from None
        self._rows_seen = self._rows_seen or bool(rows)
        return rows

    def close(self) -> None:
        """Check that exactly the closing ``]`` is left."""
        rest = bytes(self._buf).strip(_WS)
        if self._rows_seen and rest[:1] == b",":
            rest = rest[1:].lstrip(_WS)
        if not self._started or rest != b"]":
            raise ValueError(f"not a complete JSON array of objects (left over: {rest[:40]!r})")
