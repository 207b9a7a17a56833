"""The typed messages that flow between the actors of a pipeline.

A source actor sends ``RawPage`` (one API page, plus the ad and account context needed to
normalize it), ``WindowDone`` once every page of a date window has been sent, and exactly
one ``SourceDone`` at the end. The transform actor turns ``RawPage`` into ``RecordBatch``
and forwards the others in order, so the loader sees a window's rows before the marker
that lets it record the window's days as complete.

The internal sources (:mod:`.internal_source`: the SQL query; :mod:`.internal_files`: the
drop folder) send the same messages, with a few additions: ``RawPage.row_refs`` says where
each row came from (a query's row number, a file's line) for quarantine, ``RawPage.refused``
carries lines the source could not even parse, and ``RawPage.scrub`` asks for secrets to be
redacted from quarantined rows typed by people; a ``WindowDone`` can name the ledger
account its days go under (a file's marker) and count every row since the previous one
(``rows_of="window"``), and its ``receipt`` is set by the loader once the window's rows and
marker have committed, so a source can act after the commit (move a file) and learn what
the window loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import msgspec

from ..records import Record
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


class RowRef(msgspec.Struct, frozen=True):
    """Where one raw row came from, for the quarantine of a row validation rejects.

    ``where`` is merged into the quarantined raw record (e.g. the query and its window);
    ``label`` (``"row 3"``, ``"line 7"``) prefixes each error message, and ``error_keys``
    are added to each error, so a person finds the row in the source.
    """

    label: str
    where: dict[str, Any] = {}
    error_keys: dict[str, Any] = {}


@dataclass
class Receipt:
    """Set by the loader when a ``WindowDone`` has been handled (committed or failed).

    The numbers are the run's totals at that point (a source that waits for each receipt
    before its next window gets per-window numbers by difference).
    """

    done: anyio.Event = field(default_factory=anyio.Event)
    loaded: int = 0
    quarantined: int = 0
    #: Ledger days marked complete by this ``WindowDone``.
    days_completed: int = 0
    #: Why the window's rows or marker did not commit (the run failed), else None.
    error: str | None = None


class RawPage(msgspec.Struct):
    ref: RunRef
    rows: list[dict[str, Any]]
    fetched_at: str
    ads: dict[str, Any] | None = None
    account: AccountInfo | None = None
    counts: dict[str, tuple[int | None, int | None]] | None = None
    #: The account's own calendar day at fetch time (a creative seen now is dated by it).
    local_day: str | None = None
    #: One per row of ``rows`` where the source can say where it came from, else None.
    row_refs: list[RowRef] | None = None
    #: Rows the source could not parse, ready for quarantine as ``(raw, errors)``; they
    #: count as fetched.
    refused: list[tuple[dict[str, Any], list[dict[str, Any]]]] | None = None
    #: The rows were written by people (a dropped file): secrets a person pasted into
    #: them are redacted before a rejected row reaches the quarantine.
    scrub: bool = False


class WindowDone(msgspec.Struct):
    """Every page of these days has been sent: the loader may mark them complete."""

    ref: RunRef
    days: tuple[str, ...]
    #: The ledger account the days are marked under when not ``ref.account_id``: a
    #: dropped file's marker, ``"<account>|file:<name>:<sha16>"``.
    ledger_account: str | None = None
    #: What a day's ledger ``rows`` counts: the rows of that date (``"date"``, the API and
    #: query windows) or every row loaded since the previous ``WindowDone`` of the run
    #: (``"window"``: a file's marker is dated the load day, not its rows' days).
    rows_of: Literal["date", "window"] = "date"
    #: Set by the loader after the commit (see :class:`Receipt`); None: nobody waits.
    receipt: Receipt | None = None


class SourceDone(msgspec.Struct):
    """The source actor of ``ref`` has finished (the last message it sends)."""

    ref: RunRef
    status: Literal["success", "partial", "failed", "interrupted"]
    error: str | None = None
    windows_failed: int = 0


class RecordBatch(msgspec.Struct):
    """A page's validated records (``AdDay`` or ``AccountDay``, by ``ref.kind``) and rejects.

    A reject is the raw row as the platform sent it (or, where there is none, the record's
    dict form) with its errors, ready for the quarantine.
    """

    ref: RunRef
    records: list[Record]
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
