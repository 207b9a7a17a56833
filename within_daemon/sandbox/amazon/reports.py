"""Amazon reporting v3 jobs in the emulator: the create request, the report, its progress.

``parse_report_request`` checks a ``POST /reporting/reports`` body as the API does (date
range and retention, report type, ad product, groupBy, timeUnit, format, columns) and gives
the ``ReportSpec`` the rows are built from; a ``Report`` is one async job, which ``advance``
moves one step per status poll (PENDING -> PROCESSING -> COMPLETED) unless a fault fails or
stalls it. ``gzip_bomb`` is the download the ``gzip_bomb`` fault serves instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from within_daemon.sandbox.amazon.data import AD_PRODUCTS, GROUP_LEVELS, REPORT_COLUMNS
from within_daemon.sandbox.faults import FaultPlan


class ReportSpec(msgspec.Struct, frozen=True):
    """A validated ``POST /reporting/reports`` body: what the report will contain."""

    level: str
    columns: list[str]
    daily: bool
    since: int
    until: int


#: Longest range and oldest day a Sponsored Products report may cover (report-types docs).
MAX_RANGE_DAYS = 31
RETENTION_DAYS = 95


def parse_report_request(
    body: Any, today: int, *, retention_days: int | None = RETENTION_DAYS
) -> ReportSpec:
    """Check a create body like the API does; ``ValueError(detail)`` means HTTP 400."""
    if not isinstance(body, dict):
        raise ValueError("Request body must be a JSON object")
    cfg = body.get("configuration")
    if not isinstance(cfg, dict):
        raise ValueError("configuration is required")
    try:
        start = dt.date.fromisoformat(str(body.get("startDate")))
        end = dt.date.fromisoformat(str(body.get("endDate")))
    except ValueError:
        raise ValueError("startDate and endDate must be dates formatted YYYY-MM-DD") from None
    if end < start:
        raise ValueError("endDate must not be before startDate")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValueError(f"startDate to endDate range ({days} days) must not exceed maximum "
                         f"range ({MAX_RANGE_DAYS} days)")
    if retention_days is not None and start.toordinal() < today - retention_days:
        raise ValueError(f"Report date is too far in the past. Reports are available for "
                         f"{retention_days} days")
    rtype = cfg.get("reportTypeId")
    if rtype not in GROUP_LEVELS:
        raise ValueError(f"reportTypeId {rtype!r} is not supported (emulated: "
                         f"{', '.join(GROUP_LEVELS)})")
    if cfg.get("adProduct") != AD_PRODUCTS[str(rtype)[:2]]:
        raise ValueError(f"adProduct {cfg.get('adProduct')!r} does not match {rtype}")
    group_by = cfg.get("groupBy")
    if not isinstance(group_by, list) or not group_by:
        raise ValueError("groupBy must be a non-empty list")
    levels = GROUP_LEVELS[rtype]
    bad = [g for g in group_by if g not in levels]
    if bad:
        raise ValueError(f"groupBy {bad} is not supported for {rtype}")
    # The finest grouping asked for decides the row level (campaign + adGroup -> adGroup).
    level = "adGroup" if "adGroup" in group_by else levels[group_by[0]]
    time_unit = cfg.get("timeUnit")
    if time_unit not in ("DAILY", "SUMMARY"):
        raise ValueError("timeUnit must be DAILY or SUMMARY")
    if cfg.get("format", "GZIP_JSON") != "GZIP_JSON":
        raise ValueError("format must be GZIP_JSON")
    columns = cfg.get("columns")
    if not isinstance(columns, list) or not columns or not all(
        isinstance(c, str) for c in columns
    ):
        raise ValueError("columns must be a non-empty list of column names")
    unknown = [c for c in columns if c not in REPORT_COLUMNS[level]]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not a supported column for {rtype} "
                         f"grouped by {', '.join(group_by)}")
    if time_unit == "SUMMARY" and "date" in columns:
        raise ValueError("date is not a supported column for this time unit")
    if time_unit == "DAILY" and ("startDate" in columns or "endDate" in columns):
        raise ValueError("startDate and endDate are only supported with timeUnit SUMMARY")
    return ReportSpec(level, list(columns), time_unit == "DAILY", start.toordinal(),
                      end.toordinal())


def iso_ms(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True)
class Report:
    """One async report: its request, where it got to and (once built) its gzip file."""

    id: str
    profile_id: str
    body: dict[str, Any]
    key: bytes
    spec: ReportSpec
    created: float
    updated: float
    status: str = "PENDING"
    polls: int = 0
    failure_reason: str | None = None
    payload: bytes | None = None
    generated: float | None = None

    @property
    def in_flight(self) -> bool:
        return self.status in ("PENDING", "PROCESSING")


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """A small gzip of a JSON array whose first string never ends: ``size`` bytes unpacked."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(b'[{"adId":"')]
    block = b"A" * (1 << 20)
    for _ in range(size >> 20):
        parts.append(comp.compress(block))
    parts.append(comp.compress(b"A" * (size & ((1 << 20) - 1))))
    parts.append(comp.flush())
    return b"".join(parts)


def advance(rep: Report, faults: FaultPlan, processing_polls: int,
            stamp: Callable[[], float], *, progress: bool) -> None:
    """One poll: PENDING -> PROCESSING (n polls) -> COMPLETED, unless a fault says no.

    ``stamp`` gives the (strictly increasing) time of a change; with ``progress`` every
    PROCESSING poll moves ``updatedAt``, as a report making progress does.
    """
    rep.polls += 1
    if not rep.in_flight:
        return
    before, acct = rep.status, rep.profile_id
    if f := faults.take("report_failed", acct, "status"):
        rep.status = str(f.params.get("status", "FAILED"))
        rep.failure_reason = str(f.params.get("reason", "Report generation failed"))
    elif rep.status == "PROCESSING" and faults.take("report_stall", acct, "status"):
        return  # stuck: neither status nor updatedAt move
    elif rep.polls > processing_polls:
        rep.status = "COMPLETED"
        rep.generated = stamp()
    else:
        rep.status = "PROCESSING"
    if rep.status != before or progress:
        rep.updated = stamp()
