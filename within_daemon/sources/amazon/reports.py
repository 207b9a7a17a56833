"""Amazon reporting v3 helpers: request bodies, date chunks, the untrusted download, day totals.

The report file is a gzip of one JSON array of rows and comes from a URL we do not control,
so ``ReportStream`` unpacks it chunk by chunk with ``zlib.decompressobj`` and a hard cap on
the unpacked size (a gzip bomb is refused with an error naming the cap; at most about 1 MiB
is ever unpacked past the bytes already parsed), and ``JsonArrayStream`` decodes the rows as
they arrive, in time linear in the report (each byte scanned once), so memory follows the
page size rather than the report size; an over-long or over-nested row is an error of
the report, not a crash.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import anyio

from ...errors import PermanentSourceError, SourceError, TransientError
from ..http.json_stream import JsonArrayStream  # also imported from here by older callers
from .errors import classify_download

#: Longest range a Sponsored Products report may cover (report-types docs: 31 days).
MAX_REPORT_DAYS = 31
#: Most bytes one ``decompress`` call may produce: bounds the overshoot past the cap.
_STEP = 1 << 20
#: Rows per page handed to the pipeline from a streamed report.
PAGE_ROWS = 2000
_CHUNK = 64 * 1024
#: Content types of reporting v3 (the create type is required; the Accept types are what
#: third-party write-ups use, and a server that ignores them loses nothing).
CREATE_CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
CREATE_ACCEPT = "application/vnd.createasyncreportresponse.v3+json"
STATUS_ACCEPT = "application/vnd.getasyncreportresponse.v3+json"
DONE = "COMPLETED"
#: The docs' failure status, and the spelling one third-party client reports seeing.
FAILED = frozenset({"FAILED", "FAILURE"})


def window_columns(window: str) -> list[str]:
    """Conversion columns of one attribution window (``7d`` -> purchases7d, sales7d...)."""
    return [f"purchases{window}", f"sales{window}", f"unitsSoldClicks{window}"]


#: Sponsored Brands and Sponsored Display: campaign reports (``sbCampaigns``,
#: ``sdCampaigns``) whose conversions carry no window suffix (14 days; SD counts views).
#: They are part of the console's account totals, so the day totals add them.
OTHER_PRODUCTS = {"sb": "SPONSORED_BRANDS", "sd": "SPONSORED_DISPLAY"}
#: Their ad-level reports: ``sbAds`` is grouped by ``ads``, ``sdAdvertisedProduct`` by
#: ``advertiser`` (public v3 clients: "sbAds requires groupBy=["ads"]").
OTHER_AD_REPORTS = {"sb_ad": ("sbAds", ["ads"]), "sd_ad": ("sdAdvertisedProduct", ["advertiser"])}
#: Content type of the Sponsored Brands v4 ads list (request and answer).
SB_ADS_TYPE = "application/vnd.sbadresource.v4+json"
OTHER_COLUMNS = ("impressions", "clicks", "cost", "campaignBudgetCurrencyCode", "purchases",
                 "sales", "unitsSold")


def as_window_columns(rows: list[dict[str, Any]], window: str) -> list[dict[str, Any]]:
    """SB/SD campaign rows under the SP day-total column names, for ``daily_totals``.

    Their own 14-day purchases and sales are added to the SP window's, as the console does.
    """
    names = dict(zip(("purchases", "sales", "unitsSold"), window_columns(window), strict=True))
    return [{names.get(k, k): v for k, v in r.items()} for r in rows if isinstance(r, dict)]


def report_body(kind: str, since: str, until: str, window: str) -> dict[str, Any]:
    """The create body of one report; identical inputs give identical bodies (for 425)."""
    money = ["impressions", "clicks", "cost", "campaignBudgetCurrencyCode", *window_columns(window)]
    if kind == "ad":
        rtype, group_by = "spAdvertisedProduct", ["advertiser"]
        columns = ["date", "campaignId", "adGroupId", "adId", *money]
    elif kind == "campaign":
        rtype, group_by = "spCampaigns", ["campaign"]
        columns = ["date", "campaignId", *money]
    elif kind == "counts":
        rtype, group_by = "spAdvertisedProduct", ["advertiser"]
        columns = ["date", "campaignId", "adId", "impressions"]
    elif kind in OTHER_PRODUCTS:
        rtype, group_by = f"{kind}Campaigns", ["campaign"]
        columns = ["date", "campaignId", *OTHER_COLUMNS]
    elif kind in OTHER_AD_REPORTS:
        rtype, group_by = OTHER_AD_REPORTS[kind]
        columns = ["date", "campaignId", "adGroupId", "adId", *OTHER_COLUMNS]
    else:
        raise ValueError(f"unknown report kind {kind!r}")
    return {
        "name": f"within {rtype} {kind} {since}..{until}",
        "startDate": since,
        "endDate": until,
        "configuration": {
            "adProduct": OTHER_PRODUCTS.get(kind[:2], "SPONSORED_PRODUCTS"), "groupBy": group_by,
            "columns": columns,
            "reportTypeId": rtype, "timeUnit": "DAILY", "format": "GZIP_JSON",
        },
    }


def chunks(since: str, until: str, days: int = MAX_REPORT_DAYS) -> list[tuple[str, str]]:
    """``since..until`` cut into consecutive ranges of at most ``days`` days."""
    lo, hi = date.fromisoformat(since), date.fromisoformat(until)
    if hi < lo:
        raise ValueError(f"empty date range {since}..{until}")
    out = []
    while lo <= hi:
        end = min(hi, lo + timedelta(days=days - 1))
        out.append((lo.isoformat(), end.isoformat()))
        lo = end + timedelta(days=1)
    return out


class ReportStream:
    """Gzip bytes in, rows out, refusing to unpack more than ``max_bytes``."""

    def __init__(self, max_bytes: int, *, account_id: str, report_id: str) -> None:
        self.max_bytes = max_bytes
        self.unpacked = 0
        self.packed = 0
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip (or zlib) header
        self._json = JsonArrayStream()
        self._kw: dict[str, Any] = {"platform": "amazon", "account_id": account_id}
        self._report = report_id

    def feed(self, chunk: bytes) -> list[Any]:
        self.packed += len(chunk)
        rows: list[Any] = []
        data = chunk
        while data:
            room = self.max_bytes - self.unpacked + 1
            try:
                piece = self._z.decompress(data, min(room, _STEP))
            except zlib.error as exc:
                raise TransientError(
                    f"report {self._report}: corrupt gzip after {self.packed} bytes: {exc}",
                    **self._kw,
                ) from None
            self.unpacked += len(piece)
            if self.unpacked > self.max_bytes:
                raise PermanentSourceError(
                    f"report {self._report} unpacks to more than max_report_bytes="
                    f"{self.max_bytes} ({self.packed} gzip bytes read so far); refused as a "
                    "possible gzip bomb (raise [platforms.amazon] max_report_bytes if the "
                    "report is genuinely this large)", **self._kw,
                )
            rows += self._rows(piece)
            data = self._z.unconsumed_tail
            if self._z.eof:
                # A file of several gzip members is still one gzip file: go on with the next.
                data = self._z.unused_data
                if data:
                    self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)
        return rows

    def _rows(self, piece: bytes) -> list[Any]:
        try:
            return self._json.feed(piece)
        except ValueError as exc:
            raise PermanentSourceError(f"report {self._report}: {exc}", **self._kw) from None

    def close(self) -> None:
        """The stream ended: it must end the gzip and the JSON array."""
        if not self._z.eof:
            raise TransientError(
                f"report {self._report}: truncated gzip (stream ended after {self.packed} "
                f"bytes, {self.unpacked} unpacked)", **self._kw,
            )
        try:
            self._json.close()
        except ValueError as exc:
            raise PermanentSourceError(f"report {self._report}: {exc}", **self._kw) from None


def add_active(rows: list[Any], seen: dict[str, tuple[set[Any], set[Any]]]) -> None:
    """Note, per day, the campaign and ad ids of rows with impressions."""
    for r in rows:
        if isinstance(r, dict) and isinstance(r.get("date"), str):
            imp = r.get("impressions")
            if imp.__class__ is int and imp > 0:
                camps, ads = seen.setdefault(r["date"], (set(), set()))
                camps.add(r.get("campaignId"))
                ads.add(r.get("adId"))


def _number(v: Any) -> bool:
    # Exact classes: a bool is an int subclass but never a metric.
    return v.__class__ is int or v.__class__ is float


def daily_totals(rows: list[dict[str, Any]], window: str) -> list[dict[str, Any]]:
    """Campaign rows -> one row per day with the sums, in the report's own column names.

    Money is summed in ``Decimal`` so the day's cost is exact to the cent. A value that is
    not a number poisons that field of its day (it becomes the raw value), so the validator
    quarantines the day instead of loading a wrong total.
    """
    summed = ("impressions", "clicks", "cost", *window_columns(window))
    days: dict[Any, dict[str, Any]] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        d = row.get("date")
        key = d if isinstance(d, str) else None
        acc = days.get(key)
        if acc is None:
            acc = days[key] = {"date": d, "campaigns": 0, "campaignBudgetCurrencyCode": None,
                               **{c: 0 for c in summed}, "_bad": set()}
        acc["campaigns"] += 1
        acc["campaignBudgetCurrencyCode"] = (acc["campaignBudgetCurrencyCode"]
                                             or row.get("campaignBudgetCurrencyCode"))
        for col in summed:
            if col in acc["_bad"]:
                continue
            v = row.get(col, 0)
            if not _number(v):
                acc[col] = v
                acc["_bad"].add(col)
            elif v.__class__ is float:
                acc[col] = Decimal(acc[col]) + Decimal(repr(v))
            else:
                acc[col] += v
    out = []
    for key in sorted(days, key=lambda k: (k is None, k or "")):
        acc = days[key]
        del acc["_bad"]
        for col in summed:
            if isinstance(acc[col], Decimal):
                acc[col] = float(acc[col])
        out.append(acc)
    return out


async def download_rows(
    session: aiohttp.ClientSession,
    url: str,
    *,
    report_id: str,
    account_id: str,
    max_bytes: int,
    timeout: float,
    skip: int = 0,
    page_rows: int = PAGE_ROWS,
    on_error: Callable[[SourceError], None] | None = None,
) -> AsyncIterator[list[Any]]:
    """Pages of a report's rows from its pre-signed URL, after skipping ``skip`` rows.

    No Amazon headers (S3 refuses a second auth mechanism), no automatic decompression (the
    cap must see every byte) and no total timeout (a big file may take long; a stalled
    socket still times out).
    """
    limits = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    stream = ReportStream(max_bytes, account_id=account_id, report_id=report_id)
    page: list[Any] = []
    try:
        async with session.get(url, timeout=limits, auto_decompress=False) as resp:
            if resp.status != 200:
                err = classify_download(resp.status, await resp.content.read(2000),
                                        account_id=account_id)
                if on_error is not None:
                    on_error(err)
                raise err
            async for chunk in resp.content.iter_chunked(_CHUNK):
                for row in stream.feed(chunk):
                    if skip > 0:
                        skip -= 1
                    else:
                        page.append(row)
                if len(page) >= page_rows:
                    yield page
                    page = []
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise TransientError(f"report_download: {type(exc).__name__}: {exc}",
                             platform="amazon", account_id=account_id) from None
    stream.close()
    if page:
        yield page


async def both(first: Awaitable[None], second: Awaitable[None]) -> None:
    """Run two calls concurrently; the first SourceError is raised as itself.

    A bare task group would wrap it in an ExceptionGroup, which the source actor's
    ``except SourceError`` would not recognise (and would report as an internal error).
    """
    errors: list[SourceError] = []

    async def guarded(call: Awaitable[None], scope: anyio.CancelScope) -> None:
        try:
            await call
        except SourceError as exc:
            errors.append(exc)
            scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(guarded, first, tg.cancel_scope)
        tg.start_soon(guarded, second, tg.cancel_scope)
    if errors:
        raise errors[0]
