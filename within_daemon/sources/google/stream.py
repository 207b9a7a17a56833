"""Google Ads searchStream answers decoded as they arrive, with an inactivity timeout.

A searchStream answer is one JSON array of batch objects (``[{"results": [...],
"fieldMask": ..., "requestId": ...}, ...]``; docs/api-reference.md §2.4), streamed over minutes for
a
big account. :class:`ArrayStream` cuts the array into its elements as the bytes come in and
decodes each batch as soon as its last byte is there, so memory holds one batch (Google
sends at most 10,000 rows per batch) rather than the whole answer; ``peak`` records the most
it held. :class:`OpenStream` is an answer whose status was 200: its batches are read with
aiohttp's ``sock_read`` limit, a limit on each silence of the connection rather than on the
whole transfer, so a long stream that keeps moving is never cut, and a stalled one is.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import msgspec

from ...errors import (
    AnswerShapeError,
    PermanentSourceError,
    SourceError,
    ThrottledError,
    TransientError,
)
from ...utils.retry import backoff_delay
from ..http.answers import Answer
from ..http.client import BACKOFF_FACTOR, HttpSource
from .answers import STREAM_BATCH, STREAM_BATCHES, StreamBatch

log = logging.getLogger(__name__)




def _balanced(levels: int) -> bytes:
    """A regex for text, strings, and whole objects/arrays nested up to ``levels`` deep."""
    unit = rb'[^"{}\[\]\\]++|"(?:[^"\\]++|\\.)*+"'
    for _ in range(levels):
        unit = (rb'[^"{}\[\]\\]++|"(?:[^"\\]++|\\.)*+"|\{(?:' + unit + rb')*+\}|\[(?:'
                + unit + rb')*+\]')
    return unit


#: Where a batch may end: a ``}`` followed by ``,`` and the next batch, which opens with
#: one of a batch's own keys (a row's objects never do). A candidate is checked by decoding
#: the batch up to it: a ``}`` inside a string or a nested object does not decode.
_BATCH_KEYS = (rb"results|fieldMask|summaryRow|requestId|queryResourceConsumption"
               rb"|metricAttributes|error")
_CUT = re.compile(rb'\}[ \t\r\n]*,(?=[ \t\r\n]*\{[ \t\r\n]*"(?:' + _BATCH_KEYS + rb')")')
#: The exact scan (used when batches do not look like Google's): one step is everything up
#: to the next bracket that changes the depth (text, strings and whole values nested up to
#: 4 deep, skipped inside the regex engine), and that bracket. Possessive: an unfinished
#: string or value (the rest is still on the wire) ends the step where it starts.
_STEP = re.compile(rb"(?:" + _balanced(4) + rb")*+([{}\[\]])", re.S)
#: The exact step between elements: every bracket counts there (an element's start is one).
_TOP_STEP = re.compile(rb"(?:" + _balanced(0) + rb")*+([{}\[\]])", re.S)
_WS = b" \t\r\n"
_OPEN = frozenset(b"{[")
_CHUNK = 64 * 1024
#: Bytes kept searched-but-undecided at the end of the buffer (a cut may straddle reads).
_OVERLAP = 512
#: An element this large without a batch-like cut switches to the exact scan.
EXACT_AFTER_BYTES = 64 * 1024 * 1024
#: Largest single batch accepted (Google's batches hold at most 10,000 rows, a few MB).
MAX_BATCH_BYTES = 256 * 1024 * 1024


class ElementShapeError(ValueError):
    """An element is valid JSON but not of the decoder's type; ``path`` is in the array."""

    def __init__(self, exc: msgspec.ValidationError, path: str) -> None:
        super().__init__(str(exc))
        self.error, self.path = exc, path


_AT = re.compile(r" - at `\$(?:\[(\d+)\])?([^`]*)`$")


def _in_array(exc: msgspec.ValidationError, index: int | None, offset: int) -> ElementShapeError:
    """The error of one element (``index``) or of a run of them, as a path in the array.

    A run starts at element ``offset``, so its ``$[k]`` becomes ``$[offset + k]``.
    """
    m = _AT.search(str(exc))
    if index is not None:
        inner = (f"[{m.group(1)}]" if m.group(1) is not None else "") + m.group(2) if m else ""
        path = f"$[{index}]{inner}"
    elif m and m.group(1) is not None:
        path = f"$[{offset + int(m.group(1))}]{m.group(2)}"
    else:
        path = "$"
    return ElementShapeError(exc, path)


class ArrayStream:
    """Elements of one top-level JSON array of objects, decoded as their bytes arrive.

    Fast path: batch boundaries are found with one C-level regex search (``_CUT``) and
    confirmed by decoding. If no boundary shows within ``exact_after`` bytes (batches that
    do not open with a known key), the exact bracket scan takes over, so memory stays
    bounded by one element either way. The last element is complete when the bytes end.

    ``decode`` decodes one element and ``decode_all`` an array of them (plain JSON by
    default; typed decoders give Structs). An element of another type raises
    :class:`ElementShapeError` with its path in the array (``$[3].results``).
    """

    def __init__(self, decode: Callable[[bytes], Any] = msgspec.json.decode,
                 max_element: int = MAX_BATCH_BYTES,
                 exact_after: int = EXACT_AFTER_BYTES,
                 decode_all: Callable[[bytes], list[Any]] | None = None) -> None:
        self._buf = bytearray()
        self._decode = decode
        self._decode_all = decode_all
        #: Elements returned so far (the index of the next one).
        self.count = 0
        self._max, self._exact_after = max_element, exact_after
        self._started = False
        self._search = 0  # fast path: searched up to here
        self._exact = False
        self._pos, self._depth, self._start = 0, 1, -1  # the exact scan's state
        self.done = False
        #: Most bytes held at once.
        self.peak = 0

    def feed(self, data: bytes) -> list[Any]:
        """The elements completed by ``data`` (``ValueError`` if it is not such an array)."""
        buf = self._buf
        buf += data
        self.peak = max(self.peak, len(buf))
        if not self._started:
            head = bytes(buf).lstrip(_WS)
            if not head:
                buf.clear()
                return []
            if head[:1] != b"[":
                raise ValueError(f"not a JSON array (starts with {head[:20]!r})")
            del buf[:len(buf) - len(head) + 1]
            self._started = True
        return self._exact_scan() if self._exact else self._fast()

    def _fast(self) -> list[Any]:
        buf, out, at = self._buf, [], 0
        while (m := _CUT.search(buf, self._search)) is not None:
            try:
                out.append(self._decode(bytes(buf[at:m.start() + 1])))
            except msgspec.ValidationError as exc:
                # Valid up to the type error: that element is of another shape (a wrong
                # cut never gets that far: it fails as truncated JSON).
                raise _in_array(exc, self.count + len(out), 0) from None
            except msgspec.DecodeError:
                self._search = m.start() + 1  # a } inside a string or a nested value
                continue
            at = self._search = m.end()
        del buf[:at]
        self._search = max(0, self._search - at, len(buf) - _OVERLAP)
        self.count += len(out)
        if len(buf) > self._exact_after:
            self._exact = True
            out += self._exact_scan()
        return out

    def _exact_scan(self) -> list[Any]:
        buf, out = self._buf, []
        pos, depth, start = self._pos, self._depth, self._start
        step, top = _STEP.match, _TOP_STEP.match
        while not self.done:
            m = step(buf, pos) if depth > 1 else top(buf, pos)
            if m is None:
                break
            bracket = buf[m.end() - 1]
            if depth == 1 and buf[pos:m.end() - 1].strip(_WS + b","):
                raise ValueError(f"not an array of objects near {bytes(buf[pos:pos + 40])!r}")
            pos = m.end()
            if bracket in _OPEN:
                depth += 1
                if depth == 2:
                    start = pos - 1
            else:
                depth -= 1
                if depth == 1:
                    try:
                        out.append(self._decode(bytes(buf[start:pos])))
                    except msgspec.ValidationError as exc:
                        raise _in_array(exc, self.count, 0) from None
                    self.count += 1
                    start = -1
                elif depth == 0:
                    self.done = True
        # Drop what has been read: all of it between elements, else up to the element being
        # read (once per element: afterwards it starts the buffer).
        cut = pos if start < 0 else start
        if cut:
            del buf[:cut]
            pos -= cut
            start = -1 if start < 0 else 0
        if start == 0 and len(buf) > self._max:
            raise ValueError(f"one batch is larger than {self._max} bytes")
        self._pos, self._depth, self._start = pos, depth, start
        return out

    def close(self) -> list[Any]:
        """The bytes ended: return the elements still held.

        The array must be closed, with only space after it (``ValueError`` otherwise).
        """
        if self._exact:
            if not self.done or bytes(self._buf[self._pos:]).strip(_WS):
                raise ValueError("the array is not complete")
            return []
        rest = bytes(self._buf).strip(_WS)
        if not self._started or not rest.endswith(b"]"):
            raise ValueError(f"the array is not complete ({len(rest)} bytes left over)")
        self.done = True
        last = rest[:-1].strip(_WS)
        if not last:
            return []
        if self._decode_all is not None:
            try:
                elements = self._decode_all(b"[" + last + b"]")
            except msgspec.ValidationError as exc:
                raise _in_array(exc, None, self.count) from None
        else:
            elements = self._decode(b"[" + last + b"]")
            if not all(isinstance(e, dict) for e in elements):
                raise ValueError("not an array of objects")
        self.count += len(elements)
        return list(elements)


class OpenStream:
    """A searchStream answer with status 200, read batch by batch, then closed."""

    def __init__(self, resp: aiohttp.ClientResponse, *, platform: str, account_id: str,
                 endpoint: str, idle_seconds: float) -> None:
        self._resp = resp
        self._kw: dict[str, Any] = {"platform": platform, "account_id": account_id}
        self.endpoint, self.idle_seconds = endpoint, idle_seconds
        self.decoder = ArrayStream(STREAM_BATCH.loads, decode_all=STREAM_BATCHES.loads)

    async def batches(self) -> AsyncIterator[StreamBatch]:
        """Each batch as soon as it is complete, typed.

        A stream that breaks, stalls past ``idle_seconds`` or is not valid JSON raises
        TransientError; a batch of another shape raises AnswerShapeError with its path
        (``$[2].results``).
        """
        dec = self.decoder
        try:
            async for chunk in self._resp.content.iter_chunked(_CHUNK):
                for batch in dec.feed(chunk):
                    yield batch
            for batch in dec.close():
                yield batch
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            what = (f"no bytes for {self.idle_seconds:g}s" if isinstance(exc, TimeoutError)
                    else f"{type(exc).__name__}: {exc}")
            raise TransientError(f"{self.endpoint}: stream broke: {what}", **self._kw) from None
        except ElementShapeError as exc:
            raise AnswerShapeError(
                f"{self._kw['platform']} {self.endpoint}: answer of an unexpected shape "
                f"(expected: {STREAM_BATCH.name}): {_AT.sub('', str(exc))} - at `{exc.path}`",
                endpoint=self.endpoint,
                path=exc.path, status=200, **self._kw) from None
        except (ValueError, msgspec.DecodeError) as exc:
            if "larger than" in str(exc):
                raise PermanentSourceError(f"{self.endpoint}: {exc}", **self._kw) from None
            raise TransientError(f"{self.endpoint}: malformed or truncated stream: {exc}",
                                 **self._kw) from None

    def close(self) -> None:
        self._resp.close()


async def _error_body(resp: aiohttp.ClientResponse, limit: int = 1 << 20) -> bytes:
    """The body of an error answer, at most ``limit`` bytes (enough for any error object)."""
    body = bytearray()
    while len(body) < limit:
        chunk = await resp.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


class StreamingSource(HttpSource):
    """The searchStream path of a connector, read as the bytes arrive.

    Opening goes through ``request`` like every call (pacing, limiter, breaker, the
    401-refresh, retries of failed opens, throttle pauses): ``_http`` hands back an
    :class:`OpenStream` instead of a body when the URL is a ``:searchStream`` one. A break
    after rows went out (a stall past the inactivity limit, a cut connection, an error as
    the stream's last element) is retried with backoff up to ``max_retries`` times; the
    query must order its rows (``ORDER BY``) so the new stream's first rows are the ones
    already sent: a break streams the query again and skips those rows.
    """

    #: Most bytes a stream's decoder held at once (for tests and the bench).
    stream_peak_bytes = 0

    async def _http(self, method: str, url: str, endpoint: str,
                    params: Mapping[str, str] | None, data: Mapping[str, str] | None,
                    answer: Answer[Any] | None = None) -> Any:
        if not url.endswith(":searchStream"):
            return await super()._http(method, url, endpoint, params, data, answer)
        self.before_request(endpoint)
        session = self._get_session()
        # No total limit: each silence (connect, headers, every read) is limited instead.
        limit = self.settings.timeout_seconds
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=limit, sock_read=limit)
        outcome, t0 = "error", time.monotonic()
        try:
            for attempt in (0, 1):
                prep = await self.prepare(method, endpoint, params, data)
                self.requests_made += 1
                try:
                    resp = await session.request(method, url, params=prep.params,
                                                 data=prep.data, headers=prep.headers,
                                                 timeout=timeout)
                    body = b"" if resp.status == 200 else await _error_body(resp)
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    raise TransientError(f"{endpoint}: {type(exc).__name__}: {exc}",
                                         platform=self.platform,
                                         account_id=self.account_id) from None
                if resp.status == 401 and attempt == 0 and self.refresh_credentials():
                    resp.close()
                    log.info("%s: 401; refreshing the access token and retrying once", endpoint)
                    continue
                break
            usage = self.read_usage(resp.headers)
            self._observe_usage(usage)
            if resp.status != 200:
                resp.close()
                raise self.classify(resp.status, body, usage)
            outcome = "ok"
            return OpenStream(resp, platform=self.platform, account_id=self.account_id,
                              endpoint=endpoint, idle_seconds=limit)
        except SourceError as exc:
            outcome = exc.error_class
            self._count_error(exc)
            raise
        finally:
            if self.metrics is not None:  # the latency is the wait for the answer's head
                self.metrics.http_requests.labels(self.platform, endpoint, outcome).inc()
                self.metrics.http_latency.labels(self.platform, endpoint).observe(
                    time.monotonic() - t0)

    async def stream_rows(self, url: str, query: str, *,
                          endpoint: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The ``results`` of each batch of one searchStream query, every row once."""
        sent = failures = 0
        while True:
            stream = await self.request("POST", url, endpoint=endpoint, data={"query": query})
            if not isinstance(stream, OpenStream):
                raise TransientError(f"{endpoint}: searchStream answer is not a stream",
                                     platform=self.platform, account_id=self.account_id)
            skip = sent
            try:
                async for batch in stream.batches():
                    err = self.body_error(batch, b"", None)
                    if err is not None:
                        raise err
                    rows = batch.results or []
                    if skip:  # already yielded by a stream that broke
                        rows, skip = rows[skip:], max(0, skip - len(rows))
                    if rows:
                        sent += len(rows)
                        yield rows
                return
            except TransientError as exc:
                self._count_error(exc)
                if isinstance(exc, ThrottledError):
                    self.pacer.pause(exc.retry_after)  # waited out by the next request
                else:
                    failures += 1
                    if failures > self.settings.max_retries:
                        # As for any request: the circuit opens and the next attempt waits
                        # for the probe (within the outage budget) instead of failing.
                        self.breaker.trip(f"{type(exc).__name__}: {exc}")
                        failures = 0
                    else:
                        await self.clock.sleep(backoff_delay(
                            failures - 1, BACKOFF_FACTOR,
                            base=self.settings.backoff_base_seconds))
                log.warning("%s; streaming again, skipping the %d row(s) already read",
                            exc, sent)
            finally:
                stream.close()
                self.stream_peak_bytes = max(self.stream_peak_bytes, stream.decoder.peak)
