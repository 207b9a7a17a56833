"""The engine: long-lived transform and loader actors, and task runs that feed them.

``open_engine`` starts the chain (raw queue → transform → enrich → loader) inside one task
group. ``Engine.run_task`` only dispatches: the registry (``pipelines.registry``) says what
the task's pipeline is. A pull starts one source actor per account, each with its own
connector, rate limit and circuit breaker, and returns when the loader has committed
everything those actors sent; a run once (``pipelines.once``) works on the database. Every
kind ends in :func:`~.results.finish`. Leaving ``open_engine`` closes the raw queue, which
drains the chain in order.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..config import AccountConfig, LoadedConfig, TaskConfig
from ..errors import ConfigError
from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from ..runtime import QueueSet
from ..schema import ACCOUNT_DATA_SCHEMA, AD_DATA_SCHEMA
from ..sources import HttpSource, build_connector
from ..sources.http.client import open_session
from ..transforms import DataNormalizer, DataValidator
from ..transforms.enrichment.workers import EnrichWorkers
from .analytics import AccountDays, after_task
from .chain import Feed
from .enrich_actor import EnrichActor, image_fetcher
from .loader_actor import LoaderActor, RunTracker
from .messages import Kind, LoaderMsg, RunRef, SourceDone, SourceMsg
from .registry import PIPELINES, spec_for
from .results import AccountResult, TaskResult, finish, result_dict
from .settling import SettlePlan, account_plan
from .source_actor import AccountStop, SourceActor
from .transform_actor import TransformActor

__all__ = ["PIPELINE_KINDS", "AccountResult", "Engine", "TaskResult", "day_list",
           "default_window", "open_engine", "result_dict", "validation_schemas"]

log = logging.getLogger(__name__)

GC_THRESHOLD = 50_000
#: Kept for callers of the old name; the registry (``pipelines.registry``) is the source.
PIPELINE_KINDS: dict[str, Kind] = {
    name: spec.record_kind for name, spec in PIPELINES.items() if spec.record_kind}


def _features_missing(results: list[AccountResult], error: str) -> None:
    """A ``feature_store`` task whose features were not written is not a success.

    The rows are loaded (and stay: a re-run materializes them), so the accounts that
    loaded rows end ``partial``; for ``database`` the same failure is only logged.
    """
    for res in results:
        if res.loaded and res.status == "success":
            res.status = "partial"
            res.error = f"rows loaded, but the feature store was not materialized: {error}"


def default_window(task: TaskConfig, today: date) -> tuple[date, date]:
    """The days a scheduled run covers: the lookback ending yesterday (today for hourly)."""
    end = today if task.cadence == "hourly" else today - timedelta(days=1)
    return end - timedelta(days=task.lookback_days - 1), end


def day_list(start: date, end: date) -> list[str]:
    if end < start:
        raise ValueError(f"empty date range {start}..{end}")
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


class Engine:
    """Runs tasks through the shared transform and loader actors."""

    def __init__(
        self,
        loaded: LoadedConfig,
        db: DatabaseLoader,
        *,
        metrics: Metrics,
        queues: QueueSet,
        session: aiohttp.ClientSession,
        raw_send: MemoryObjectSendStream[SourceMsg],
        workers: EnrichWorkers | None = None,
    ) -> None:
        self.loaded = loaded
        #: The enrichment's worker processes; the post-load steps compute in them too.
        self.workers = workers
        self.db = db
        self.metrics = metrics
        self.queues = queues
        self.session = session
        self.tracker = RunTracker()
        self.stop = anyio.Event()
        #: (platform, account_id) whose pulls must stop (a cluster lease lost).
        self.stopped_accounts: set[tuple[str, str]] = set()
        self._raw_send = raw_send
        self.active: dict[str, RunRef] = {}
        self.last_postprocess: dict[str, Any] = {}
        self.last_training: list[AccountResult] = []
        #: One connector per account for the engine's life, so that its rate limiter,
        #: usage pacing and circuit breaker are shared by every task that pulls the account
        #: and survive from one run to the next.
        self.connectors: dict[tuple[str, str], tuple[AccountConfig, Any, HttpSource]] = {}

    def connector_for(self, acc: AccountConfig) -> HttpSource:
        """The account's connector, rebuilt only when its config or token changed."""
        key = (acc.platform, acc.account_id)
        secret = self.loaded.secret_for(acc.platform, acc.account_id)
        cached = self.connectors.get(key)
        if cached is not None and cached[0] == acc and cached[1] == secret:
            return cached[2]
        conn = build_connector(acc, self.loaded, self.session, self.metrics)
        self.connectors[key] = (acc, secret, conn)
        return conn

    def reconfigure(
        self, loaded: LoadedConfig,
        connectors: dict[tuple[str, str], tuple[AccountConfig, Any, HttpSource]],
    ) -> None:
        """Take a reloaded config, and the connectors a reload rebuilt (only changed ones).

        Runs in flight keep the connector they started with; the next run of an account
        gets the new one.
        """
        self.loaded = loaded
        self.connectors.update(connectors)

    def feed(self) -> Feed:
        """A way into this engine's chain for a source that is not a pull (internal)."""
        return Feed(self._raw_send.clone(), self.tracker)

    def account_states(self) -> list[dict[str, Any]]:
        """Breaker, pause, usage and next probe per account, for /status."""
        return [conn.state() for _, (_, _, conn) in sorted(self.connectors.items())]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.loaded.config.runtime.timezone)

    def today(self) -> date:
        return datetime.now(self.tz).date()

    async def run_task(
        self,
        task: TaskConfig,
        *,
        start: date | None = None,
        end: date | None = None,
        mode: str = "task",
        force: bool = False,
        account_ids: list[str] | None = None,
        jitter: float = 0.0,
        on_account_done: Callable[[str], None] | None = None,
    ) -> TaskResult:
        """Run ``task`` once over its window (or ``start``..``end``) for its accounts.

        ``mode="backfill"`` skips days the ledger already has complete (unless ``force``);
        a task run re-pulls its whole lookback (restatements) except when it resumes an
        interrupted run of the same window, which skips the days that run finished.
        """
        t0 = time.monotonic()
        today = self.today()
        if start is None or end is None:
            dstart, dend = default_window(task, today)
            start, end = start or dstart, end or dend
        spec = spec_for(task)
        if spec.run is not None:
            results = await spec.run(self, task, start, end)
        else:
            assert spec.record_kind is not None
            results = await self._pull(task, spec.record_kind, start, end, today, mode=mode,
                                       force=force, account_ids=account_ids, jitter=jitter,
                                       on_account_done=on_account_done)
        return finish(task.name, task.pipeline, (start, end), t0, results, self.metrics)

    async def _pull(
        self, task: TaskConfig, kind: Kind, start: date, end: date, today: date, *, mode: str,
        force: bool, account_ids: list[str] | None, jitter: float,
        on_account_done: Callable[[str], None] | None,
    ) -> list[AccountResult]:
        """One source actor per account; the post-load steps once all are committed."""
        days = day_list(start, end)
        accounts = self.loaded.accounts_for(task)
        if account_ids:
            accounts = [a for a in accounts if a.account_id in account_ids]
        order: dict[tuple[str, str], int] = {
            (a.platform, a.account_id): i for i, a in enumerate(accounts)}
        # Lowest rate limit first: those accounts take longest, and preparing hundreds of
        # runs takes a while, so they must not be the ones that start last.
        accounts = sorted(accounts, key=lambda a: a.rate_limit)
        results: list[AccountResult] = []
        actors: list[tuple[SourceActor, HttpSource, AccountResult]] = []
        failed: list[Exception] = []
        async with anyio.create_task_group() as tg:
            for acc in accounts:
                try:
                    res, actor = await self._prepare(task, kind, acc, days, start, end, today,
                                                     mode, force)
                except Exception as exc:  # noqa: BLE001 - raised below, once started runs end
                    failed.append(exc)
                    break
                results.append(res)
                if actor is not None:
                    # Each account starts as soon as its run is recorded: with hundreds of
                    # accounts the first ones must not wait for the last one's bookkeeping.
                    actors.append((actor, actor.connector, res))
                    delay = random.random() * jitter if jitter > 0 else 0.0
                    tg.start_soon(self._run_account, actor, res, delay, on_account_done)
        if failed:
            raise failed[0]
        results.sort(key=lambda r: order[(r.platform, r.account_id)])
        for res in results:
            if res.run_id is None and on_account_done is not None:
                on_account_done(res.account_id)  # skipped: nothing left to pull
        touched = [AccountDays(actor.ref.platform, actor.ref.account_id, actor.ref.run_id,
                               actor.days, [d for d in actor.days if d < actor.today],
                               actor.today)
                   for actor, _, res in actors if res.loaded]
        self.last_postprocess = await after_task(
            self.db, task, touched, quality=self.loaded.config.quality, metrics=self.metrics,
            connectors={actor.ref.account_id: conn for actor, conn, _ in actors}, mode=mode,
            workers=self.workers, accounts=[(a.platform, a.account_id) for a in accounts])
        if task.destination == "feature_store" and self.last_postprocess.get("error"):
            _features_missing(results, str(self.last_postprocess["error"]))
        if mode == "task":
            unsettled = sum([(await self._settle(kind, acc, [], today)).unsettled
                             for acc in accounts])
            self.metrics.days_unsettled.labels(task.name, task.platform).set(unsettled)
        return results

    async def _prepare(
        self, task: TaskConfig, kind: Kind, acc: AccountConfig, days: list[str], start: date,
        end: date, today: date, mode: str, force: bool,
    ) -> tuple[AccountResult, SourceActor | None]:
        ws, we = start.isoformat(), end.isoformat()
        task_name = task.name if mode == "task" else f"backfill:{task.pipeline}"
        res = AccountResult(acc.account_id, acc.platform, None, "running",
                            days_requested=len(days))
        already = await self.db.completed_days(
            task=None, platform=acc.platform, account_id=acc.account_id, kind=kind, days=days)
        resume = await self.db.find_resumable_run(task_name, acc.platform, acc.account_id, ws, we)
        skip: set[str] = set()
        if mode == "backfill" and not force:
            skip = already
        elif resume is not None:
            skip = await self.db.completed_days(
                task=task_name, platform=acc.platform, account_id=acc.account_id, kind=kind,
                days=days, run_id=resume)
        todo = [d for d in days if d not in skip]
        if mode == "task":
            extra = [d for d in (await self._settle(kind, acc, days, today)).extra
                     if d not in skip]
            res.days_settling = len(extra)
            if extra:
                self.metrics.days_settling.labels(acc.platform, task.pipeline).inc(len(extra))
                todo = sorted({*todo, *extra})
        self.stopped_accounts.discard((acc.platform, acc.account_id))  # ours again
        res.days_skipped = len(days) - len(set(todo) & set(days))
        res.days_restated = len(already & set(todo)) + res.days_settling
        if res.days_restated:
            self.metrics.days_restated.labels(acc.platform, task.pipeline).inc(res.days_restated)
        if not todo:
            res.status = "skipped"
            return res, None
        run_id = await self.db.start_run(
            task=task_name, pipeline=task.pipeline, platform=acc.platform,
            account_id=acc.account_id, window_start=ws, window_end=we, run_id=resume)
        res.run_id, res.resumed = run_id, resume is not None
        ref = RunRef(run_id, task_name, kind, acc.platform, acc.account_id, task.pipeline,
                     enrich=tuple(task.enrich))
        self.tracker.open(ref)
        self.active[run_id] = ref
        try:
            conn = self.connector_for(acc)
        except Exception as exc:  # noqa: BLE001 - reported on this account only
            await self._raw_send.send(SourceDone(ref, "failed", error=str(exc)))
            return res, None
        pcfg = self.loaded.config.platforms.get(acc.platform)
        # Sync or async is decided per window by its size (source_actor.window_uses_async).
        actor = SourceActor(
            ref, conn, self._raw_send.clone(), days=todo, today=today,
            window_days=pcfg.window_days, async_after_days=pcfg.async_after_days,
            async_after_rows=pcfg.async_after_rows,
            stop=AccountStop(self.stop, self.stopped_accounts, (acc.platform, acc.account_id)),
            backfill=mode == "backfill",
        )
        return res, actor

    async def _settle(self, kind: Kind, acc: AccountConfig, days: list[str],
                      today: date) -> SettlePlan:
        cached = self.connectors.get((acc.platform, acc.account_id))
        return await account_plan(self.db, self.loaded.config.platforms.get(acc.platform),
                                  cached[2] if cached else None, kind, acc, days, today,
                                  self.tz)

    def stop_account(self, platform: str, account_id: str) -> None:
        """Stop pulling one account at its next page (its run ends 'interrupted')."""
        self.stopped_accounts.add((platform, account_id))

    async def _run_account(
        self,
        actor: SourceActor,
        res: AccountResult,
        delay: float,
        on_done: Callable[[str], None] | None,
    ) -> None:
        """Pull one account, then wait until the loader has committed all it sent."""
        if delay > 0:
            with anyio.move_on_after(delay):
                await self.stop.wait()
        # The connector outlives the run (see ``connectors``); the engine's session is
        # closed when the engine ends.
        await actor.run()
        st = await self.tracker.wait(actor.ref.run_id)
        self.active.pop(actor.ref.run_id, None)
        res.status, res.error = st.status, st.error
        res.fetched, res.loaded, res.quarantined = st.fetched, st.loaded, st.quarantined
        res.days_completed = st.days_completed
        res.days_final = sum(1 for d in actor.days if d < actor.today)
        if on_done is not None:
            on_done(res.account_id)


@asynccontextmanager
async def open_engine(
    loaded: LoadedConfig,
    db: DatabaseLoader,
    *,
    metrics: Metrics,
    queues: QueueSet | None = None,
    validate: bool = True,
) -> AsyncIterator[Engine]:
    """Start the transform and loader actors; drain them when the block ends."""
    queues = queues or QueueSet(metrics)
    rt = loaded.config.runtime
    # Every page decodes into thousands of short-lived dicts; with the default gen-0
    # threshold (700) the collector runs hundreds of times per page and rescans the rows
    # waiting in the queues. A larger threshold cut end-to-end time by ~20% in bench/.
    if gc.get_threshold()[0] < GC_THRESHOLD:
        gc.set_threshold(GC_THRESHOLD, 20, 100)
    # Typed queues: a stage handed the wrong stream fails mypy, not a run.
    raw: tuple[MemoryObjectSendStream[SourceMsg], MemoryObjectReceiveStream[SourceMsg]]
    records: tuple[MemoryObjectSendStream[LoaderMsg], MemoryObjectReceiveStream[LoaderMsg]]
    enriched: tuple[MemoryObjectSendStream[LoaderMsg], MemoryObjectReceiveStream[LoaderMsg]]
    raw = queues.create("raw", rt.queue_size)
    records = queues.create("records", rt.queue_size)
    enriched = queues.create("enriched", rt.queue_size)
    (raw_send, raw_recv), (rec_send, rec_recv), (enr_send, enr_recv) = raw, records, enriched
    fb = loaded.config.platforms.facebook
    normalizers = {"facebook": DataNormalizer(conversion_action_types=fb.conversion_action_types)}
    transform = TransformActor(raw_recv, rec_send, normalizers=normalizers, validate=validate,
                               schemas=validation_schemas(loaded), metrics=metrics)
    # One keep-alive pool per platform host shared by every account (bounded per host).
    # Images get their own session: its resolver refuses inward addresses (url_guard).
    workers = EnrichWorkers(loaded.config.enrichment.workers, metrics=metrics)
    async with open_session(pool_per_host=rt.http_pool_per_host) as session, \
            image_fetcher(loaded.config.enrichment, db, metrics, workers) as fetcher:
        engine = Engine(loaded, db, metrics=metrics, queues=queues, session=session,
                        raw_send=raw_send, workers=workers)
        enrich = EnrichActor(rec_recv, enr_send, fetcher=fetcher, metrics=metrics,
                             batch_seconds=loaded.config.enrichment.image_batch_seconds,
                             workers=workers)
        loader = LoaderActor(enr_recv, db=db, tracker=engine.tracker, batch_size=rt.batch_size,
                             metrics=metrics)
        async with anyio.create_task_group() as tg:
            tg.start_soon(transform.run)
            tg.start_soon(enrich.run)
            tg.start_soon(loader.run)
            try:
                yield engine
            finally:
                await raw_send.aclose()


def validation_schemas(loaded: LoadedConfig) -> dict[str, dict[str, dict[str, Any]]]:
    """The built-in schemas with the config's ``[validation]`` field rules laid over them."""
    v = loaded.config.validation
    schemas = {
        "ad": {**AD_DATA_SCHEMA, **{f: r.as_schema() for f, r in v.ad.items()}},
        "account": {**ACCOUNT_DATA_SCHEMA, **{f: r.as_schema() for f, r in v.account.items()}},
    }
    checker = DataValidator()
    for kind, schema in schemas.items():
        try:
            checker.validate([], schema)
        except ValueError as exc:
            raise ConfigError(f"{loaded.path}: validation.{kind}: {exc}") from None
    return schemas
