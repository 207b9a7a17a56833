"""Wiring for the company's own data: dropped files and the SQL query, into the database.

Files (:meth:`InternalDataPipeline.run_files`): each matching file of the drop folder, by
name, is hashed; a file whose (name, sha256) the ledger already has is not loaded again,
only moved to the done folder. Otherwise it is read in chunks; each chunk is normalized
by the field map, validated, and written with ``write_isolating`` (malformed lines and
rejected rows go to quarantine with the file name and line number; rows the database
refuses are isolated and quarantined with its reason, the rest load). The file's ledger
marker rides in the same transaction as its last rows, and the file is moved only after
that commit: a crash before the commit reloads the file (upserts make that harmless), a
crash after it finds the marker and just moves the file. A file whose bytes change while
it is being read is left for the next run.

The marker's key: the ledger only accepts ISO days, so the file's identity goes in the
account column, ``"<account>|file:<name>:<sha256[:16]>"``, and the day is the day it was
loaded (see :func:`file_marker`).

SQL (:meth:`InternalDataPipeline.run_query`): the configured query runs once per window of
``window_days`` with ``:since`` / ``:until`` bound to the window's first and last ISO day;
rows stream in pages and each window's finished days (before today) are marked complete
in the same transaction as the window's last rows, like the API platforms' windows.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import msgspec

from ..config import LoadedConfig
from ..errors import LoaderError, SourceError
from ..loaders import DatabaseLoader
from ..loaders.isolate import write_isolating
from ..observability.logging import redact
from ..observability.metrics import Metrics
from ..platform_config import InternalConfig
from ..sources.internal import (
    DEFAULT_CHUNK_LINES,
    PLATFORM,
    DropScan,
    FileParser,
    ParsedLine,
    file_sha256,
    move_to_done,
    scan_drop_folder,
    sqlite_source_path,
)
from ..transforms.normalize.internal import (
    INTERNAL_AD_SCHEMA,
    InternalMapping,
    mapping_problems,
    normalize_internal,
)
from ..transforms.validation import DataValidator
from .chain import Feed, open_chain
from .internal_source import InternalQuerySource, WindowOutcome
from .messages import RunRef

log = logging.getLogger(__name__)

PIPELINE = "InternalDataPipeline"
QItem = tuple[str | None, str | None, Any, list[dict[str, Any]]]


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


def _summary(res: dict[str, Any], outcomes: Sequence[FileOutcome | WindowOutcome],
             errors: list[str], t0: float, error: str | None) -> None:
    """The seed's result keys: success, records_processed, duration_seconds, error ..."""
    failed = sum(o.status == "failed" for o in outcomes)
    ok = len(outcomes) - failed
    if not failed and not error:
        status = "success"
    else:
        status = "partial" if ok else "failed"
    fetched = sum(o.lines if isinstance(o, FileOutcome) else o.rows for o in outcomes)
    res.update({
        "success": status == "success",
        "status": status,
        "records_processed": sum(o.loaded for o in outcomes),
        "records_fetched": fetched,
        "records_quarantined": sum(o.quarantined for o in outcomes),
        "duration_seconds": round(time.monotonic() - t0, 3),
        "error": "; ".join([e for e in [error, *errors] if e]) or None,
    })


def _scrubbed(row: dict[str, Any] | None) -> dict[str, Any] | None:
    # A dropped file is written by people: a pasted token must not reach the quarantine.
    if row is None:
        return None
    return {k: redact(v) if isinstance(v, str) else v for k, v in row.items()}


def _scrubbed_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e, "message": redact(str(e.get("message") or "")),
             "value": redact(e["value"]) if isinstance(e.get("value"), str) else e.get("value")}
            for e in errors]


def _line_errors(errs: list[dict[str, Any]], name: str, line: int) -> list[dict[str, Any]]:
    # The validator's index counts within a chunk; the line number is what a person needs.
    return [{**{k: v for k, v in e.items() if k != "index"},
             "message": f"line {line}: {e.get('message')}", "file": name, "line": line}
            for e in errs]


class InternalDataPipeline:
    """Loads the ``[platforms.internal]`` files and query; see the module docstring."""

    def __init__(self, *, chunk_lines: int = DEFAULT_CHUNK_LINES,
                 validator: DataValidator | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.chunk_lines = chunk_lines
        self.validator = validator or DataValidator()
        #: Wall clock the settle time is measured on (tests move it instead of sleeping).
        self.clock = clock

    # -- files ----------------------------------------------------------------------------

    async def run_files(self, loaded: LoadedConfig, db: DatabaseLoader, *,
                        task_name: str = "internal_files", account_id: str = "internal",
                        metrics: Metrics | None = None) -> dict[str, Any]:
        """Load every new file of the drop folder; the seed's result dict plus per file."""
        t0 = time.monotonic()
        cfg = loaded.config.platforms.internal
        outcomes: list[FileOutcome] = []
        res: dict[str, Any] = {"run_id": None, "files": []}
        try:
            mapping, drop, done = self._file_setup(cfg, loaded.base_dir, account_id)
        except ValueError as exc:
            return self._file_result(res, outcomes, t0, str(exc))
        run_id = await db.start_run(task=task_name, pipeline=PIPELINE, platform=PLATFORM,
                                    account_id=account_id)
        res["run_id"] = run_id
        error: str | None = None
        try:
            try:
                scan = await anyio.to_thread.run_sync(functools.partial(
                    scan_drop_folder, drop, cfg.patterns, settle_seconds=cfg.settle_seconds,
                    now=self.clock))
                # A recursive pattern would find the done folder's files again, and each run
                # would "move" them once more under a new suffix.
                files = [p for p in scan.ready if done.resolve() not in p.resolve().parents]
            except OSError as exc:
                error = f"platforms.internal.drop_folder: {exc}"
                scan, files = DropScan([], [], []), []
            for path, why in scan.refused:
                log.error("internal file %s refused: %s", path.name, why)
                outcomes.append(FileOutcome(path.name, status="failed", error=f"refused: {why}"))
            for path, why in scan.waiting:
                log.info("internal file %s not loaded yet: %s", path.name, why)
            res["waiting"] = [{"file": p.name, "reason": why} for p, why in scan.waiting]
            for path in files:
                out = FileOutcome(path.name)
                outcomes.append(out)
                try:
                    await self.process_file(path, out, db=db, run_id=run_id, task=task_name,
                                            account_id=account_id, mapping=mapping, done=done)
                except LoaderError:
                    # The database, not the file, is the problem: the next files would fail
                    # the same way, so leave them for the next run.
                    error = "database write failed; remaining files are left for the next run"
                    break
        except BaseException:
            with anyio.CancelScope(shield=True):
                await db.finish_run(run_id, "interrupted", error="stopped while loading files")
            raise
        result = self._file_result(res, outcomes, t0, error)
        await db.finish_run(run_id, result["status"], fetched=result["records_fetched"],
                            error=result["error"])
        self._count(metrics, task_name, result, records=True)
        return result

    def _file_setup(self, cfg: InternalConfig, base: Path,
                    account_id: str) -> tuple[InternalMapping, Path, Path]:
        if not cfg.drop_folder:
            raise ValueError("platforms.internal.drop_folder is not set")
        mapping = self._mapping(cfg, account_id)
        drop = base / cfg.drop_folder
        done = base / cfg.done_folder if cfg.done_folder else drop / "done"
        if done.resolve() == drop.resolve():
            raise ValueError("platforms.internal.done_folder must differ from drop_folder")
        return mapping, drop, done

    @staticmethod
    def _mapping(cfg: InternalConfig, account_id: str) -> InternalMapping:
        mapping = InternalMapping(field_map=dict(cfg.field_map), constants=dict(cfg.constants),
                                  date_format=cfg.date_format, account_id=account_id)
        problems = mapping_problems(mapping)
        if problems:
            raise ValueError("platforms.internal: " + "; ".join(problems))
        return mapping

    async def process_file(self, path: Path, out: FileOutcome, *, db: DatabaseLoader,
                           run_id: str, task: str, account_id: str, mapping: InternalMapping,
                           done: Path) -> None:
        """Hash, skip or load, then move one file, filling ``out``.

        File problems end up in ``out``; a database error is recorded there too and then
        raised, since it concerns every file.
        """
        try:
            before = path.lstat()
            out.sha256 = await anyio.to_thread.run_sync(file_sha256, path)
            if await self.is_loaded(db, task=task, account_id=account_id, name=path.name,
                                    sha256=out.sha256):
                out.status = "skipped"  # same content already committed (or a crash after)
            else:
                await self.load_file(path, out, db=db, run_id=run_id, task=task,
                                     account_id=account_id, mapping=mapping)
            now = path.lstat()
            if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                # Written to after the hash: moving it would file away rows never loaded.
                out.status = "failed"
                out.error = out.error or "the file changed while it was loaded; left in place"
            if out.status != "failed":
                moved = await anyio.to_thread.run_sync(move_to_done, path, done)
                out.moved_to = str(moved)
        except LoaderError as exc:
            out.status, out.error = "failed", str(exc)
            log.error("internal file %s: %s", path.name, out.error)
            raise
        except (OSError, ValueError) as exc:
            out.status, out.error = "failed", f"{type(exc).__name__}: {exc}"
        if out.error:
            log.error("internal file %s: %s", path.name, out.error)

    async def is_loaded(self, db: DatabaseLoader, *, task: str, account_id: str, name: str,
                        sha256: str) -> bool:
        """True when the ledger has this file content complete for ``task``."""
        key = file_marker(account_id, name, sha256)
        rows = await db.fetch_dicts(
            "SELECT 1 AS hit FROM ledger WHERE task = ? AND platform = ? AND account_id = ?"
            " AND kind = 'ad' AND status = 'complete' LIMIT 1", (task, PLATFORM, key))
        return bool(rows)

    async def load_file(self, path: Path, out: FileOutcome, *, db: DatabaseLoader,
                        run_id: str, task: str, account_id: str,
                        mapping: InternalMapping) -> None:
        """Write the file's rows chunk by chunk, its marker with the last; never moves it."""
        fetched_at = _now()
        parser = FileParser(path, chunk_lines=self.chunk_lines)
        with parser:
            chunk = await anyio.to_thread.run_sync(parser.next_chunk)
            while True:
                # One chunk of look-ahead: the marker must go with the last rows, and only
                # reading past a chunk tells whether it was the last.
                nxt = await anyio.to_thread.run_sync(parser.next_chunk) if chunk else []
                records, quarantined = self._prepare_lines(chunk, path.name, mapping)
                out.lines += len(chunk)
                complete: list[tuple[str, str, str, int]] = []
                if not nxt:
                    if parser.sha256 != out.sha256:
                        out.error = ("the file changed while it was being read; it is left "
                                     "in place for the next run")
                    else:
                        key = file_marker(account_id, path.name, out.sha256)
                        day = datetime.now(UTC).date().isoformat()
                        complete = [(PLATFORM, key, day, out.loaded + len(records))]
                res = await write_isolating(db, run_id=run_id, task=task, kind="ad",
                                            records=records, fetched_at=fetched_at,
                                            complete_days=complete, quarantined=quarantined,
                                            days_cover_batch=True)
                out.loaded += len(records) - res.refused
                out.quarantined += res.quarantined
                if not nxt:
                    break
                chunk = nxt
        out.status = "failed" if out.error else "loaded"

    def _prepare_lines(self, chunk: Sequence[ParsedLine], name: str,
                       mapping: InternalMapping) -> tuple[list[dict[str, Any]], list[QItem]]:
        """Normalize and validate one chunk: (good records, quarantine items)."""
        acct = mapping.account_id
        quarantined: list[QItem] = []
        rows: list[ParsedLine] = []
        for pl in chunk:
            if pl.error is None:
                rows.append(pl)
                continue
            raw: dict[str, Any] = {"file": name, "line": pl.line}
            raw.update({"row": _scrubbed(pl.row)} if pl.row is not None
                       else {"text": redact(pl.text or "")})
            quarantined.append((PLATFORM, acct, raw, [
                {"field": None, "message": redact(pl.error or ""), "file": name,
                 "line": pl.line}]))
        records = normalize_internal([pl.row for pl in rows], mapping)
        good, bad = self.validator.split(records, INTERNAL_AD_SCHEMA)
        for rec, errs in bad:
            pl = rows[errs[0]["index"]]
            keys = {k: rec.get(k) for k in ("platform", "account_id", "ad_id", "date")}
            raw = {"file": name, "line": pl.line, "row": _scrubbed(pl.row),
                   **(_scrubbed(keys) or {})}
            quarantined.append((PLATFORM, rec.get("account_id") or acct, raw,
                                _scrubbed_errors(_line_errors(errs, name, pl.line))))
        return good, quarantined

    @staticmethod
    def _file_result(res: dict[str, Any], outcomes: list[FileOutcome], t0: float,
                     error: str | None) -> dict[str, Any]:
        _summary(res, outcomes, [f"{o.file}: {o.error}" for o in outcomes if o.error], t0,
                 error)
        res.update({
            "files_loaded": sum(o.status == "loaded" for o in outcomes),
            "files_skipped": sum(o.status == "skipped" for o in outcomes),
            "files_failed": sum(o.status == "failed" for o in outcomes),
            "files": [msgspec.structs.asdict(o) for o in outcomes],
        })
        return res

    # -- SQL ------------------------------------------------------------------------------

    async def run_query(self, loaded: LoadedConfig, db: DatabaseLoader, *,
                        since: date | str, until: date | str, task_name: str = "internal_sql",
                        account_id: str = "internal", metrics: Metrics | None = None,
                        feed: Feed | None = None) -> dict[str, Any]:
        """Run ``sql_query`` over ``since``..``until`` (inclusive), window by window.

        The rows go through the actor chain: ``feed`` (the engine's, see
        :meth:`.engine.Engine.feed`), or a chain of its own on ``db`` when not given.
        """
        t0 = time.monotonic()
        cfg = loaded.config.platforms.internal
        res: dict[str, Any] = {"run_id": None, "windows": []}
        try:
            if not cfg.sql_url or not cfg.sql_query:
                raise ValueError("platforms.internal.sql_url and sql_query must both be set")
            mapping = self._mapping(cfg, account_id)
            start, end = date.fromisoformat(str(since)), date.fromisoformat(str(until))
            if end < start:
                raise ValueError(f"empty date range {start}..{end}")
            source = sqlite_source_path(cfg.sql_url, loaded.base_dir)
        except (ValueError, SourceError) as exc:
            return self._query_result(res, [], t0, str(exc))
        days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
        today = datetime.now(ZoneInfo(loaded.config.runtime.timezone)).date().isoformat()
        run_id = await db.start_run(task=task_name, pipeline=PIPELINE, platform=PLATFORM,
                                    account_id=account_id, window_start=days[0],
                                    window_end=days[-1])
        res["run_id"] = run_id
        ref = RunRef(run_id, task_name, "ad", PLATFORM, account_id, PIPELINE)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if feed is None:
                    feed = await stack.enter_async_context(open_chain(db, metrics=metrics))
                feed.tracker.open(ref)
                actor = InternalQuerySource(
                    ref, feed.send, source=source, query=cfg.sql_query, mapping=mapping,
                    days=days, today=today, window_days=cfg.window_days,
                    page_size=self.chunk_lines)
                await actor.run()
                st = await feed.tracker.wait(run_id)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await db.finish_run(run_id, "interrupted", error="stopped while querying")
            raise
        result = self._query_result(res, actor.outcomes, t0, None)
        if st.status == "failed" and result["status"] == "success":
            result.update(success=False, status="failed", error=st.error)
        self._count(metrics, task_name, result)
        return result

    @staticmethod
    def _query_result(res: dict[str, Any], outcomes: list[WindowOutcome], t0: float,
                      error: str | None) -> dict[str, Any]:
        _summary(res, outcomes, [f"{o.since}..{o.until}: {o.error}" for o in outcomes
                                 if o.error], t0, error)
        res.update({
            "days_completed": sum(o.days_completed for o in outcomes),
            "windows": [msgspec.structs.asdict(o) for o in outcomes],
        })
        return res

    @staticmethod
    def _count(metrics: Metrics | None, task: str, result: dict[str, Any], *,
               records: bool = False) -> None:
        """The run's metrics; ``records`` too where no actor of the chain counted them."""
        if metrics is None:
            return
        if records:
            rec = metrics.records
            rec.labels(PLATFORM, PIPELINE, "extracted").inc(result["records_fetched"])
            rec.labels(PLATFORM, PIPELINE, "loaded").inc(result["records_processed"])
            rec.labels(PLATFORM, PIPELINE, "quarantined").inc(result["records_quarantined"])
        metrics.runs.labels(task, result["status"]).inc()
        metrics.run_duration.labels(task).observe(result["duration_seconds"])
        if result["success"]:
            metrics.last_success.labels(task).set(time.time())

