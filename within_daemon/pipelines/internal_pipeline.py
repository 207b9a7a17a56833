"""Wiring for the company's own data: dropped files and the SQL query, into the database.

Both go through the actor chain the API platforms use (source → transform → loader), so
normalization (the field map, carried in ``AccountInfo.details``), validation, quarantine,
the isolation of rows the database refuses, ledger markers and record metrics happen in
one place. A run started by the engine feeds the engine's chain (:meth:`.engine.Engine.feed`);
a run started alone (the CLI, tests) opens the same transform and loader actors on its
database (:func:`.chain.open_chain`). This module keeps the runs' bookkeeping: the run
record, the folder scan, the per-file and per-window outcomes and the result dicts.

Files (:meth:`InternalDataPipeline.run_files`, source in :mod:`.internal_files`): each
matching file of the drop folder is hashed; content the ledger already has is only moved
to the done folder. Otherwise its chunks go down the chain (malformed lines and rejected
rows are quarantined with the file name and line number, secrets redacted), its ledger
marker commits with its last rows, and the file is moved only after that commit. A file
whose bytes change while it is read is left for the next run.

The marker's key: the ledger only accepts ISO days, so the file's identity goes in the
account column, ``"<account>|file:<name>:<sha256[:16]>"``, and the day is the day it was
loaded (see :func:`file_marker`).

SQL (:meth:`InternalDataPipeline.run_query`, source in :mod:`.internal_source`): the
configured query runs once per window of ``window_days`` with ``:since`` / ``:until``
bound to the window's first and last ISO day; rows stream in pages and each window's
finished days (before today) are marked complete with the window's last rows, like the API
platforms' windows.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import anyio
import msgspec

from ..config import LoadedConfig
from ..errors import LoaderError, SourceError
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from ..platform_config import InternalConfig
from ..sources.internal import (
    DEFAULT_CHUNK_LINES,
    PLATFORM,
    DropScan,
    scan_drop_folder,
    sqlite_source_path,
)
from ..transforms.normalize.internal import InternalMapping, mapping_problems
from .chain import Feed, open_chain
from .internal_files import DB_FAILED, FileOutcome, InternalFileSource, file_marker
from .internal_source import InternalQuerySource, WindowOutcome
from .messages import RunRef, SourceDone

__all__ = ["PIPELINE", "FileOutcome", "InternalDataPipeline", "WindowOutcome", "file_marker"]

log = logging.getLogger(__name__)

PIPELINE = "InternalDataPipeline"
Status = Literal["success", "partial", "failed"]


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


class InternalDataPipeline:
    """Loads the ``[platforms.internal]`` files and query; see the module docstring."""

    def __init__(self, *, chunk_lines: int = DEFAULT_CHUNK_LINES,
                 clock: Callable[[], float] = time.time) -> None:
        #: Lines of a file (rows of the query) per page sent down the chain.
        self.chunk_lines = chunk_lines
        #: Wall clock the settle time is measured on (tests move it instead of sleeping).
        self.clock = clock

    @contextlib.asynccontextmanager
    async def _fed(self, db: DatabaseLoader, feed: Feed | None, ref: RunRef,
                   metrics: Metrics | None) -> AsyncIterator[Feed]:
        """``feed``, or a chain of its own on ``db``; the run is tracked, the send closed."""
        async with contextlib.AsyncExitStack() as stack:
            if feed is None:
                # Outside the engine: a page is a write (a failed file keeps the chunks
                # before it), and a failed write fails the run at once, the next run
                # loading again, as a one-shot run always did.
                feed = await stack.enter_async_context(open_chain(
                    db, metrics=metrics, batch_size=self.chunk_lines, write_attempts=1))
            if feed.tracker.get(ref.run_id) is None:
                feed.tracker.open(ref)
            async with feed.send:
                yield feed

    # -- files ----------------------------------------------------------------------------

    async def run_files(self, loaded: LoadedConfig, db: DatabaseLoader, *,
                        task_name: str = "internal_files", account_id: str = "internal",
                        metrics: Metrics | None = None,
                        feed: Feed | None = None) -> dict[str, Any]:
        """Load every new file of the drop folder; the seed's result dict plus per file.

        The rows go through ``feed`` (the engine's chain) or a chain of its own on ``db``.
        """
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
        ref = RunRef(run_id, task_name, "ad", PLATFORM, account_id, PIPELINE)
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
            async with self._fed(db, feed, ref, metrics) as fed:
                source = self._file_source(ref, fed, db, mapping, done)
                for path in files:
                    out = FileOutcome(path.name)
                    outcomes.append(out)
                    if not await source.process(path, out):
                        # The database, not the file, is the problem: the next files would
                        # fail the same way, so leave them for the next run.
                        error = DB_FAILED
                        break
                result = self._file_result(res, outcomes, t0, error)
                with anyio.CancelScope(shield=True):
                    await fed.send.send(SourceDone(ref, cast(Status, result["status"]),
                                                   error=result["error"]))
                await fed.tracker.wait(run_id)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await db.finish_run(run_id, "interrupted", error="stopped while loading files")
            raise
        self._count(metrics, task_name, result)
        return result

    def _file_source(self, ref: RunRef, feed: Feed, db: DatabaseLoader,
                     mapping: InternalMapping, done: Path | None) -> InternalFileSource:
        async def is_loaded(name: str, sha256: str) -> bool:
            return await self.is_loaded(db, task=ref.task, account_id=ref.account_id,
                                        name=name, sha256=sha256)

        return InternalFileSource(ref, feed.send, mapping=mapping, chunk_lines=self.chunk_lines,
                                  is_loaded=is_loaded, done=done)

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
                           done: Path, feed: Feed | None = None) -> None:
        """Hash, skip or load, then move one file of run ``run_id``, filling ``out``.

        File problems end up in ``out``; a database error is recorded there too and then
        raised (``LoaderError``), since it concerns every file.
        """
        ref = RunRef(run_id, task, "ad", PLATFORM, account_id, PIPELINE)
        async with self._fed(db, feed, ref, None) as fed:
            if not await self._file_source(ref, fed, db, mapping, done).process(path, out):
                raise LoaderError(out.error or DB_FAILED)

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
                        mapping: InternalMapping, feed: Feed | None = None) -> None:
        """Send the file's rows and marker down the chain, wait for the commit; never moves it.

        A database error is recorded in ``out`` and raised (``LoaderError``).
        """
        ref = RunRef(run_id, task, "ad", PLATFORM, account_id, PIPELINE)
        async with self._fed(db, feed, ref, None) as fed:
            source = InternalFileSource(ref, fed.send, mapping=mapping,
                                        chunk_lines=self.chunk_lines)
            if not await source.load(path, out):
                raise LoaderError(out.error or DB_FAILED)

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
            async with self._fed(db, feed, ref, metrics) as fed:
                actor = InternalQuerySource(
                    ref, fed.send.clone(), source=source, query=cfg.sql_query,
                    mapping=mapping, days=days, today=today, window_days=cfg.window_days,
                    page_size=self.chunk_lines)
                await actor.run()
                st = await fed.tracker.wait(run_id)
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
    def _count(metrics: Metrics | None, task: str, result: dict[str, Any]) -> None:
        """The run's metrics (the chain's actors count the records)."""
        if metrics is None:
            return
        metrics.runs.labels(task, result["status"]).inc()
        metrics.run_duration.labels(task).observe(result["duration_seconds"])
        if result["success"]:
            metrics.last_success.labels(task).set(time.time())

