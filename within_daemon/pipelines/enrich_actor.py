"""The enrich actor: per-creative enrichments between the transform and the loader.

For every ad in a batch whose creative (headline, description, call to action, landing
page, image) is new or changed since this process last saw it, it runs the task's text
enrichers and, if asked, the image analysis, and sends one ``CreativeFeatures`` row per ad
to the loader. That work (seconds for a backfill's first batches, each with hundreds of new
creatives and their images) goes on in the background: the batch itself, and the next
ones, pass on at once (the loader stores creative features on their own), so the rows
load meanwhile. A run's ``WindowDone`` or ``SourceDone`` is held until the features of the
run's batches before it are sent, and the run's messages after it behind it: once a
window is marked complete its creatives are stored too. At most ``MAX_HELD`` messages wait
so; then the actor stops taking new ones until the oldest enrichment is done. Other
runs' messages pass, and a run's own messages keep their order, so a window's
``WindowDone`` still follows its rows. Images are fetched concurrently within a
batch (bounded by the fetcher), ``ENRICH_AT_ONCE`` batches at a time, oldest first; a broken
image is a recorded failure status, never an error of the run. The image stage of a batch
is time-boxed (``batch_seconds``, from when the batch's turn comes): one actor serves every
account, so a slow image host would otherwise hold all of their windows; the images not
done in time get status ``timeout`` and lose their seen mark, so a later batch tries them
again. Failures the database remembers (``image_failures``) are not fetched again.

Each row carries ``observed_on``, the day the creative was seen, from which a new version
of it holds in ``ad_creative_history``. Sources serve an ad's creative as it is when asked,
on every day of a window, backfilled years included, so the rows' dates alone would date an
edit into the past: the day is the account's own calendar day when the page was fetched
(the source knows the account's time zone), or the UTC day where a source did not say, or
the ad's latest row date in the batch if that is later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

import anyio
import msgspec
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..config import EnrichmentConfig
from ..loaders import DatabaseLoader
from ..loaders.image_failures import ImageFailureStore
from ..loaders.schema.analytics import CREATIVE_COLUMNS
from ..observability.metrics import Metrics
from ..records import AdDay, as_dict
from ..runtime import Actor
from ..schema import is_ad_level
from ..sources.images import ImageFetcher
from ..sources.url_guard import UrlPolicy
from ..transforms.enrichment import TEXT_ENRICHERS
from ..transforms.enrichment.enricher import creative_fields, creative_key
from ..transforms.enrichment.image import STATUS_TIMEOUT, ImageFeatures, failed
from ..transforms.enrichment.workers import EnrichWorkers
from .messages import CreativeFeatures, LoaderMsg, RecordBatch, RunRef

#: Messages the actor holds back at most (enrichments not yet done, and the messages of
#: their runs that must follow them) before it stops taking new ones.
MAX_HELD = 64
#: Batches enriched at the same time (the others wait their turn, in order).
ENRICH_AT_ONCE = 2
#: Creatives remembered per process; past this the memory is cleared and rebuilt.
CACHE_LIMIT = 200_000
_NEVER = (None, "")
log = logging.getLogger(__name__)
#: What an image not done within the batch's time box gets (and it is tried again later).
_TIMED_OUT = failed(STATUS_TIMEOUT, "the image stage's time box for this batch ran out")


def _utc_day(ts: str) -> str | None:
    """The UTC day of an ISO timestamp (naive: UTC), or None if it is not one."""
    try:
        dt = datetime.fromisoformat(ts)
    except ValueError:
        return None
    return (dt if dt.tzinfo is None else dt.astimezone(UTC)).date().isoformat()


def image_fetcher(cfg: EnrichmentConfig, db: DatabaseLoader | None,
                  metrics: Metrics | None, workers: EnrichWorkers | None = None
                  ) -> ImageFetcher:
    """The fetcher ``[enrichment]`` describes, its failures kept in ``db`` (if given).

    With ``workers``, images are decoded through them (in their processes, if any).
    """
    return ImageFetcher(
        timeout_seconds=cfg.image_timeout_seconds, max_bytes=cfg.image_max_bytes,
        max_concurrency=cfg.image_max_concurrency, metrics=metrics,
        policy=UrlPolicy(allow_loopback=cfg.image_allow_loopback,
                         allowed_hosts=cfg.image_allowed_hosts),
        failure_store=ImageFailureStore(db) if db is not None else None,
        analyzer=workers.analyze_image if workers is not None else None)


class _Todo(NamedTuple):
    """One batch's creatives to enrich (``EnrichActor._todo``): not the batch, which goes on."""

    local_day: str | None
    fetched_at: str
    names: tuple[str, ...]
    text: list[str]
    image: bool
    #: ad -> (its latest record with the creative to enrich, SHA-1, built-in hash).
    todo: dict[str, tuple[AdDay, str, int]]
    #: ad -> its latest row date in the batch.
    latest: dict[str, str]


class _Pending:
    """A batch's creative features being computed; ``rows`` once ``done`` is set."""

    def __init__(self, ref: RunRef) -> None:
        self.ref = ref
        self.done = anyio.Event()
        self.rows: list[dict[str, Any]] = []


class EnrichActor(Actor[LoaderMsg, LoaderMsg]):
    name = "enrich"

    def __init__(
        self, inbox: MemoryObjectReceiveStream[LoaderMsg],
        outbox: MemoryObjectSendStream[LoaderMsg], *, fetcher: ImageFetcher | None,
        metrics: Metrics | None = None, batch_seconds: float = 30.0,
        workers: EnrichWorkers | None = None,
    ) -> None:
        super().__init__(inbox, outbox, metrics=metrics)
        self.fetcher = fetcher
        self.workers = workers or EnrichWorkers(0)
        self.batch_seconds = batch_seconds
        #: (platform, account, ad, enrichments) -> built-in hash of the creative's fields
        #: and its SHA-1, as last enriched.
        self.seen: dict[tuple[str, str, str, tuple[str, ...]], tuple[int, str]] = {}
        self.enriched = 0
        #: Per run, in arrival order: enrichments not yet sent and the messages behind them.
        self._held: dict[str, deque[_Pending | LoaderMsg]] = {}
        self._release_lock = anyio.Lock()
        self._running = anyio.Semaphore(ENRICH_AT_ONCE)
        self._tg: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        # The creative features of a batch are computed in this group while later messages
        # go on (see the module docstring); ``flush`` waits for them before the outbox
        # closes.
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await super().run(task_status=task_status)

    async def handle(self, msg: LoaderMsg) -> None:
        pending = None
        if isinstance(msg, RecordBatch) and msg.ref.enrich and msg.records:
            todo = self._todo(msg)
            if todo is not None:
                pending = _Pending(msg.ref)
                self._start(pending, todo)
        # Under the lock that orders every send: a release may be sending this run's
        # held messages right now.
        async with self._release_lock:
            held = self._held.get(msg.ref.run_id) or deque()
            if pending is not None:
                held.append(pending)
            # A batch may pass its run's unfinished features (the loader stores them on
            # their own), not a message held before it; a WindowDone or SourceDone waits.
            if isinstance(msg, RecordBatch) and all(isinstance(h, _Pending) for h in held):
                await self.emit(msg)
            else:
                held.append(msg)
            if held:
                self._held[msg.ref.run_id] = held
        await self._release()
        while sum(map(len, self._held.values())) >= MAX_HELD:  # backpressure
            await self._wait_oldest()

    async def flush(self) -> None:
        while self._held:
            await self._wait_oldest()

    def _start(self, pending: _Pending, todo: _Todo) -> None:
        async def compute() -> None:
            try:
                # A few batches at a time, oldest first: each batch's image stage has its
                # own time box, which must not run out while other batches' images hold
                # the fetcher.
                async with self._running:
                    pending.rows = await self._enrich(todo)
            except Exception:
                # As an actor's own crash (Actor.run): logged, counted, the engine stops.
                log.exception("actor %s crashed while enriching; the engine stops", self.name)
                if self.metrics is not None:
                    self.metrics.actor_restarts.labels(self.name).inc()
                raise
            pending.done.set()
            await self._release()

        if self._tg is None:
            raise RuntimeError("EnrichActor.handle runs inside EnrichActor.run")
        self._tg.start_soon(compute)

    async def _wait_oldest(self) -> None:
        """Wait for the first unfinished enrichment held (if any), then release."""
        oldest = next((h for held in self._held.values() for h in held
                       if isinstance(h, _Pending) and not h.done.is_set()), None)
        if oldest is not None:
            await oldest.done.wait()
        await self._release()

    async def _release(self) -> None:
        """Send, run by run in order, what no unfinished enrichment holds back any more."""
        async with self._release_lock:
            for run_id in list(self._held):
                held = self._held[run_id]
                while held:
                    head = held[0]
                    if isinstance(head, _Pending):
                        if not head.done.is_set():
                            break
                        held.popleft()
                        if head.rows:
                            await self.emit(CreativeFeatures(head.ref, head.rows))
                    else:
                        msg = held.popleft()
                        assert not isinstance(msg, _Pending)
                        await self.emit(msg)
                if not held:
                    del self._held[run_id]

    async def features(self, batch: RecordBatch) -> list[dict[str, Any]]:
        """The ``CreativeFeatures`` rows of ``batch``: its new or changed creatives."""
        todo = self._todo(batch)
        return [] if todo is None else await self._enrich(todo)

    def _todo(self, batch: RecordBatch) -> _Todo | None:
        """The ads of ``batch`` whose creative this process has not enriched, or None.

        They are marked seen at once, so that the next batches (the same ads on the next
        days) do not enrich them again while this one is being done.
        """
        names = batch.ref.enrich
        text = [n for n in names if n in TEXT_ENRICHERS]
        image = "image_analysis" in names
        if not text and not image:
            return None
        #: ad -> (its latest record with the creative to enrich, SHA-1, built-in hash).
        todo: dict[str, tuple[AdDay, str, int]] = {}
        latest: dict[str, str] = {}
        seen = self.seen
        # Per row only the built-in hash of the creative's fields (strings cache theirs):
        # the stored SHA-1 is computed once per creative new to this process, not for each
        # of an ad's rows in each batch (114,000 SHA-1s for 1,000 creatives on the many-days
        # bench). An ad's next row with the same fields decides as its previous one did.
        last: dict[str, int] = {}
        shas: dict[tuple[Any, ...], str] = {}
        for rec in batch.records:
            if not isinstance(rec, AdDay) or not is_ad_level(rec.ad_id):
                continue  # a campaign-level row (Google PMax) has no creative to enrich
            ad_id = str(rec.ad_id)
            day = str(rec.date or "")
            if day > latest.get(ad_id, ""):
                latest[ad_id] = day
            fields = creative_fields(rec)
            quick = hash(fields)
            if last.get(ad_id) == quick:
                if ad_id in todo:
                    todo[ad_id] = (rec, *todo[ad_id][1:])
                continue
            last[ad_id] = quick
            if seen.get((rec.platform, str(rec.account_id), ad_id, names), _NEVER)[0] != quick:
                ck = shas.get(fields)
                if ck is None:
                    ck = shas[fields] = hashlib.sha1(
                        creative_key(rec).encode(), usedforsecurity=False).hexdigest()
                todo[ad_id] = (rec, ck, quick)
        if not todo:
            return None
        if len(self.seen) > CACHE_LIMIT:
            self.seen.clear()
        for ad_id, (rec, ck, quick) in todo.items():
            seen[(rec.platform, str(rec.account_id), ad_id, names)] = (quick, ck)
        return _Todo(batch.local_day, batch.fetched_at, names, text, image, todo, latest)

    async def _enrich(self, work: _Todo) -> list[dict[str, Any]]:
        names, text, image, todo, latest = (
            work.names, work.text, work.image, work.todo, work.latest)
        images: dict[str, ImageFeatures] = {}
        texts: list[dict[str, Any]] = []

        async def fetch_images() -> None:
            nonlocal images
            urls = {str(r.image_url) for r, _, _ in todo.values() if r.image_url}
            images = await self._images(urls)

        async def enrich_texts() -> None:
            nonlocal texts
            # The text enrichers are the seed's, over its dict form of a record; in a
            # worker process when the batch is large (the loop meanwhile handles the
            # next pages and the image downloads).
            texts = await self.workers.enrich(
                [as_dict(r) for r, _, _ in todo.values()], text)

        # At once: the images wait on the network, the text on a worker process.
        async with anyio.create_task_group() as tg:
            if image:
                tg.start_soon(fetch_images)
            if text:
                tg.start_soon(enrich_texts)
        boxed = {u for u, f in images.items() if f is _TIMED_OUT}
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # The account's own day when the source knew it (its time zone); else the UTC day.
        fetched_day = work.local_day or _utc_day(work.fetched_at) or now[:10]
        out: list[dict[str, Any]] = []
        empty = dict.fromkeys(c for c, _ in CREATIVE_COLUMNS)
        for i, (ad_id, (rec, ck, quick)) in enumerate(todo.items()):
            row: dict[str, Any] = {"platform": rec.platform, "account_id": rec.account_id,
                                   "ad_id": ad_id, "creative_hash": ck,
                                   "enrichments": "|".join(names), "enriched_at": now,
                                   "observed_on": max(fetched_day, latest.get(ad_id, "")),
                                   **empty}
            if text:
                row.update(texts[i])
            if image:
                url = rec.image_url
                feats = images.get(str(url)) if url else failed("empty", "no image_url")
                row.update(msgspec.structs.asdict(feats or failed("fetch_error")))
            out.append(row)
            if image and str(rec.image_url) in boxed:
                # Tried again by a later batch (unless another version was seen since).
                key = (rec.platform, str(rec.account_id), ad_id, names)
                if self.seen.get(key) == (quick, ck):
                    del self.seen[key]
        self.enriched += len(out)
        return out

    async def _images(self, urls: set[str]) -> dict[str, ImageFeatures]:
        out: dict[str, ImageFeatures] = {}
        if self.fetcher is None:
            return {u: failed("fetch_error", "no image fetcher configured") for u in urls}
        fetcher = self.fetcher
        await fetcher.preload_failures(urls)

        async def one(url: str) -> None:
            out[url] = await fetcher.analyze(url)

        t0 = time.perf_counter()
        with anyio.move_on_after(self.batch_seconds):
            async with anyio.create_task_group() as tg:
                for url in urls:
                    tg.start_soon(one, url)
        for url in urls - out.keys():
            out[url] = _TIMED_OUT
        if self.metrics is not None and urls:
            self.metrics.stage_latency.labels("image_batch").observe(time.perf_counter() - t0)
        return out

