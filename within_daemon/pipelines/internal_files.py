"""The drop-folder source: dropped files, one after the other, into the actor chain.

For each file it is given (the pipeline scans the folder), it hashes the file; content
the ledger already has (asked through ``is_loaded``) is not sent again, only moved to the
done folder. Otherwise the file is read in chunks and each chunk goes downstream as a
``RawPage``: the parsed rows with a ``RowRef`` per row (file name and line number), the
lines that did not parse in ``refused`` (quarantined with their file and line), and
``scrub`` set, since people write these files and may paste a secret into them. Then a
``WindowDone`` carries the file's ledger marker (:func:`file_marker`, dated the load day,
counting every row of the file that loaded): the loader commits it with the file's last
buffered rows, never before any of them, and sets the ``Receipt``. Only after that commit
is the file moved: a crash before it reloads the file (upserts make that harmless), a crash
after it finds the marker and just moves the file. A file whose bytes change while it is
read gets no marker and stays for the next run. Files go one at a time, each waiting for
its receipt, so the per-file numbers are exact and a database failure leaves the remaining
files for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectSendStream

from ..observability.logging import redact
from ..schema import AccountInfo
from ..sources.internal import FileParser, ParsedLine, file_sha256, move_to_done
from ..transforms.normalize.internal import InternalMapping
from .messages import RawPage, Receipt, RowRef, RunRef, SourceMsg, WindowDone

log = logging.getLogger(__name__)

#: Why the remaining files of a run are not tried after a failed commit.
DB_FAILED = "database write failed; remaining files are left for the next run"
#: (name, sha256) -> whether the ledger has that content complete.
IsLoaded = Callable[[str, str], Awaitable[bool]]


class FileOutcome(msgspec.Struct):
    """What happened to one dropped file (``status``: loaded, skipped or failed)."""

    file: str
    sha256: str = ""
    status: str = "failed"
    lines: int = 0
    loaded: int = 0
    quarantined: int = 0
    moved_to: str | None = None
    error: str | None = None


def file_marker(account_id: str, name: str, sha256: str) -> str:
    """The ledger ``account_id`` under which this file's content is recorded as loaded.

    The ledger's ``day`` must be an ISO date, so the file's identity lives here and the
    marker's day is the (UTC) day the file was loaded.
    """
    return f"{account_id}|file:{name}:{sha256[:16]}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _unparsed(pl: ParsedLine, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The quarantine item of a line that did not parse (its text or cells, redacted)."""
    raw: dict[str, Any] = {"file": name, "line": pl.line}
    raw.update({"row": {k: redact(v) if isinstance(v, str) else v
                        for k, v in pl.row.items()}} if pl.row is not None
               else {"text": redact(pl.text or "")})
    return raw, [{"field": None, "message": redact(pl.error or ""), "file": name,
                  "line": pl.line}]


class InternalFileSource:
    """Sends dropped files of one account to the transform queue, one file at a time."""

    def __init__(self, ref: RunRef, outbox: MemoryObjectSendStream[SourceMsg], *,
                 mapping: InternalMapping, chunk_lines: int,
                 is_loaded: IsLoaded | None = None, done: Path | None = None) -> None:
        self.ref = ref
        self.outbox = outbox
        self.mapping = mapping
        self.chunk_lines = chunk_lines
        self.is_loaded = is_loaded
        #: Where loaded files go; None: they stay (``load_file``).
        self.done = done
        #: The normalizer reads the field map from here (``internal_ads``).
        self.account = AccountInfo(account_id=mapping.account_id,
                                   details={"mapping": mapping})
        self._loaded = self._quarantined = 0  # the run's totals at the last receipt

    async def process(self, path: Path, out: FileOutcome) -> bool:
        """Hash, skip or load, then move one file, filling ``out``.

        File problems end up in ``out``; False when the database failed (the remaining
        files are left for the next run).
        """
        try:
            before = path.lstat()
            out.sha256 = await anyio.to_thread.run_sync(file_sha256, path)
            if self.is_loaded is not None and await self.is_loaded(path.name, out.sha256):
                out.status = "skipped"  # same content already committed (or a crash after)
            elif not await self.load(path, out):
                return False
            now = path.lstat()
            if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                # Written to after the hash: moving it would file away rows never loaded.
                out.status = "failed"
                out.error = out.error or "the file changed while it was loaded; left in place"
            if out.status != "failed" and self.done is not None:
                moved = await anyio.to_thread.run_sync(move_to_done, path, self.done)
                out.moved_to = str(moved)
        except (OSError, ValueError) as exc:
            out.status, out.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if out.error:
                log.error("internal file %s: %s", path.name, out.error)
        return True

    async def load(self, path: Path, out: FileOutcome) -> bool:
        """Send the file's rows, then its marker, and wait for the commit; never moves it.

        False when the database failed the file's rows or marker.
        """
        fetched_at = _now()
        name = path.name
        parser = FileParser(path, chunk_lines=self.chunk_lines)
        with parser:
            while chunk := await anyio.to_thread.run_sync(parser.next_chunk):
                out.lines += len(chunk)
                good = [pl for pl in chunk if pl.error is None]
                await self.outbox.send(RawPage(
                    self.ref, [pl.row or {} for pl in good], fetched_at, account=self.account,
                    row_refs=[RowRef(f"line {pl.line}", {"file": name, "line": pl.line},
                                     {"file": name, "line": pl.line}) for pl in good],
                    refused=[_unparsed(pl, name) for pl in chunk if pl.error is not None],
                    scrub=True))
            changed = parser.sha256 != out.sha256
        if changed:
            out.error = ("the file changed while it was being read; it is left in place "
                         "for the next run")
        marker = file_marker(self.ref.account_id, name, out.sha256)
        day = datetime.now(UTC).date().isoformat()
        receipt = Receipt()
        # No marker for changed bytes; the rows sent still load (the next run upserts).
        await self.outbox.send(WindowDone(self.ref, () if changed else (day,),
                                          ledger_account=marker, rows_of="window",
                                          receipt=receipt))
        await receipt.done.wait()
        out.loaded, self._loaded = receipt.loaded - self._loaded, receipt.loaded
        out.quarantined = receipt.quarantined - self._quarantined
        self._quarantined = receipt.quarantined
        if receipt.error:
            out.status, out.error = "failed", receipt.error
            return False
        out.status = "failed" if out.error else "loaded"
        return True
