"""The typed messages that flow between the actors of a pipeline.

A source actor sends ``RawPage`` (one API page, plus the ad and account context needed to
normalize it), ``WindowDone`` once every page of a date window has been sent, and exactly
one ``SourceDone`` at the end. The transform actor turns ``RawPage`` into ``RecordBatch``
and forwards the others in order, so the loader sees a window's rows before the marker
that lets it record the window's days as complete.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from ..schema import AccountInfo

Kind = Literal["ad", "account"]


class RunRef(msgspec.Struct, frozen=True):
    """Which run, task and account a message belongs to."""

    run_id: str
    task: str
    kind: Kind
    platform: str
    account_id: str
    pipeline: str
    #: Enrichment plugins of the task (config ``[[tasks]] enrich``).
    enrich: tuple[str, ...] = ()


class RawPage(msgspec.Struct):
    ref: RunRef
    rows: list[dict[str, Any]]
    fetched_at: str
    ads: dict[str, Any] | None = None
    account: AccountInfo | None = None
    counts: dict[str, tuple[int | None, int | None]] | None = None
    #: The account's own calendar day at fetch time (a creative seen now is dated by it).
    local_day: str | None = None


class WindowDone(msgspec.Struct):
    """Every page of these days has been sent: the loader may mark them complete."""

    ref: RunRef
    days: tuple[str, ...]


class SourceDone(msgspec.Struct):
    """The source actor of ``ref`` has finished (the last message it sends)."""

    ref: RunRef
    status: Literal["success", "partial", "failed", "interrupted"]
    error: str | None = None
    windows_failed: int = 0


class RecordBatch(msgspec.Struct):
    ref: RunRef
    records: list[dict[str, Any]]
    quarantined: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    fetched_at: str
    fetched: int
    #: Batch-wide column values, e.g. the account's ``attribution_window``.
    context: dict[str, Any] | None = None
    #: The account's calendar day at fetch time (see ``RawPage.local_day``).
    local_day: str | None = None


class CreativeFeatures(msgspec.Struct):
    """Enrichment columns of creatives that are new or changed (one row per ad)."""

    ref: RunRef
    rows: list[dict[str, Any]]


SourceMsg = RawPage | WindowDone | SourceDone
LoaderMsg = RecordBatch | WindowDone | SourceDone | CreativeFeatures
