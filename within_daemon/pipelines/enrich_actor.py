"""The enrich actor: per-creative enrichments between the transform and the loader.

For every ad in a batch whose creative (headline, description, call to action, landing
page, image) is new or changed since this process last saw it, it runs the task's text
enrichers and, if asked, the image analysis, and sends one ``CreativeFeatures`` row per ad
to the loader, before the batch itself. Everything else passes through in order, so a
window's ``WindowDone`` still follows its rows. Images are fetched concurrently within a
batch (bounded by the fetcher); a broken image is a recorded failure status, never an
error of the run. The image stage of a batch is time-boxed (``batch_seconds``): one actor
serves every account, so a slow image host would otherwise hold all of them; the images
not done in time get status ``timeout`` and are not marked seen, so a later batch tries
them again. Failures the database remembers (``image_failures``) are not fetched again.

Each row carries ``observed_on``, the day the creative was seen, from which a new version
of it holds in ``ad_creative_history``. Sources serve an ad's creative as it is when asked,
on every day of a window, backfilled years included, so the rows' dates alone would date an
edit into the past: the day is the account's own calendar day when the page was fetched
(the source knows the account's time zone), or the UTC day where a source did not say, or
the ad's latest row date in the batch if that is later.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import anyio
import msgspec
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
from .messages import CreativeFeatures, LoaderMsg, RecordBatch

#: Creatives remembered per process; past this the memory is cleared and rebuilt.
CACHE_LIMIT = 200_000
_NEVER = (None, "")
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

    async def handle(self, msg: LoaderMsg) -> None:
        if isinstance(msg, RecordBatch) and msg.ref.enrich and msg.records:
            rows = await self.features(msg)
            if rows:
                await self.emit(CreativeFeatures(msg.ref, rows))
        await self.emit(msg)

    async def features(self, batch: RecordBatch) -> list[dict[str, Any]]:
        names = batch.ref.enrich
        text = [n for n in names if n in TEXT_ENRICHERS]
        image = "image_analysis" in names
        if not text and not image:
            return []
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
            return []
        if len(self.seen) > CACHE_LIMIT:
            self.seen.clear()
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
        fetched_day = batch.local_day or _utc_day(batch.fetched_at) or now[:10]
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
            if not (image and str(rec.image_url) in boxed):
                self.seen[(rec.platform, str(rec.account_id), ad_id, names)] = (quick, ck)
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

