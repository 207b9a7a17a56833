"""Enrichment CPU work in worker processes: the text enrichers, and image decoding.

The text enrichers (VADER sentiment, topics, entities) are pure Python: about 0.4 ms per
new creative, all of it holding the interpreter's lock. Image analysis (Pillow's decode,
thumbnail, quantization, and the Python around them) is about 2 ms an image. In the
daemon's process, either stops everything else: on the event loop's thread directly, and
from a worker thread too, because every socket call and every SQLite step the loop makes
gives up the interpreter's lock and must wait up to 5 ms to take it back while a thread
computes. A backfill of 23,000 ads x 7 days, every ad with its own image, spent 13.5 s of
its loop's time in ``socket.send`` alone that way (``bench/README.md``, issue 15).

:class:`EnrichWorkers` runs both in worker processes (``anyio.to_process``: started on
first use, reused, stopped after 5 idle minutes and with the event loop), one limiter each
so that a text batch never queues the images behind it. Meanwhile the loop parses,
validates, downloads and loads. The values are the same: a worker calls
:func:`enrich_text` and :func:`analyze_image` on the same inputs.

Small text batches (a daily run's few new creatives) stay in the process: a round trip
costs more than they do. A worker that dies costs no creative: a text batch is then done in
the process, with a warning. An image is not decoded in the process: the bytes are
hostile and the worker is also their sandbox, so an image that kills its worker is tried
once more in a new one and, if that dies too, gets status ``corrupt``; one that takes more
than :data:`DECODE_SECONDS` has its worker stopped and is ``corrupt`` as well.

Images waiting for a worker at the same moment go to it in one call (at most
:data:`IMAGE_BATCH` images, :data:`IMAGE_BATCH_BYTES` bytes): each call costs the loop
about 0.2 ms and a write to the worker's pipe, which waits for the interpreter's lock
whatever it carries. A call of several images that kills its worker, or outlasts
:data:`DECODE_SECONDS`, is done again one image a call, so the bad bytes cost only
themselves.

Workers that cannot start at all (a system out of processes; a main script without a
``__main__`` guard) are found by a first call that does nothing: the daemon then says so
once, as an error, and does the work itself (images in threads, as with ``workers = 0``)
instead of failing every batch. A new worker runs its parent's main script again (as
``__mp_main__``, like multiprocessing's spawn); an unguarded script that runs a pipeline
would run it again in there, start workers of its own, and so on. So :class:`EnrichWorkers`
refuses to be made while a main script is being run that way (multiprocessing refuses to
start a process then, for the same reason): the worker fails to start, and the parent
logs why.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_process
import anyio.to_thread
from anyio import BrokenWorkerProcess, CancelScope

from . import enrich_text
from .image import STATUS_CORRUPT, ImageFeatures, analyze_image, failed

if TYPE_CHECKING:
    from ...observability.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Fewer creatives than this are enriched in the process: a worker round trip costs about
#: 1 ms with the pickling, 16 creatives about 6 ms. (A batch of a wide account's first
#: pages brings hundreds of new creatives; a daily run's batches, a few.)
MIN_WORKER_BATCH = 16
#: Workers one image may kill before it is called corrupt.
IMAGE_ATTEMPTS = 2
#: Threads decoding images when there are no worker processes.
IMAGE_THREADS = 2
#: Longest one image may take in a worker (the sandbox's JPEGs take 2 ms, a 64 MiB PNG about
#: a second): past it the worker is stopped and the image called corrupt, so bytes that
#: hang a decoder cost this long and one worker, never the enrichment.
DECODE_SECONDS = 20.0
#: Most images, and most of their bytes, one worker call analyses (see the module docstring).
IMAGE_BATCH = 16
IMAGE_BATCH_BYTES = 4 * 1024 * 1024


def enrich_all(records: Sequence[Mapping[str, Any]], names: Sequence[str]
               ) -> list[dict[str, Any]]:
    """:func:`enrich_text` of each record, in order (what a worker runs)."""
    return [enrich_text(r, names) for r in records]


def analyze_bytes(data: bytes, max_pixels: int) -> ImageFeatures:
    """:func:`analyze_image` (what a worker runs for one image)."""
    return analyze_image(data, max_pixels=max_pixels)


def analyze_each(analyze: Callable[[bytes, int], ImageFeatures],
                 images: Sequence[tuple[bytes, int]]) -> list[ImageFeatures]:
    """``analyze`` of each ``(data, max_pixels)``, in order (what a worker runs for a call)."""
    return [analyze(data, max_pixels) for data, max_pixels in images]


class _Image:
    """One image waiting for a worker, and then its outcome."""

    __slots__ = ("data", "max_pixels", "taken", "result", "error", "done")

    def __init__(self, data: bytes, max_pixels: int) -> None:
        self.data = data
        self.max_pixels = max_pixels
        self.taken = False
        self.result: ImageFeatures | None = None
        self.error: BaseException | None = None
        self.done = anyio.Event()


def _bootstrapping() -> bool:
    """Whether this process is a worker still running its parent's main script."""
    mp_main = sys.modules.get("__mp_main__")
    return mp_main is not None and sys.modules.get("__main__") is not mp_main


class EnrichWorkers:
    """Text batches and images in up to ``workers`` processes each; ``0``: in this process.

    With ``0`` nothing is started: :meth:`enrich` runs in the caller and
    :meth:`analyze_image` in a thread.
    """

    def __init__(self, workers: int, *, metrics: Metrics | None = None) -> None:
        if workers > 0 and _bootstrapping():
            raise RuntimeError(
                "the daemon was started from a main script that a new worker process runs "
                "again: guard the script's top level with `if __name__ == \"__main__\":` "
                "(or set [enrichment] workers = 0)")
        self.workers = workers
        self.metrics = metrics
        self._text = anyio.CapacityLimiter(workers) if workers > 0 else None
        self._images = anyio.CapacityLimiter(workers) if workers > 0 else None
        # anyio's own limiter for the image calls: never the one that waits (``_images``
        # does, outside the decode deadline), it only has to be as large.
        self._image_calls = anyio.CapacityLimiter(max(1, workers))
        self.decode_seconds = DECODE_SECONDS
        self._threads = anyio.CapacityLimiter(IMAGE_THREADS)
        #: None until the first worker call; then whether worker processes start at all.
        self._usable: bool | None = None if workers > 0 else False
        self._start_lock = anyio.Lock()
        #: Text batches done in a worker, and batches a dead worker left to this process.
        self.in_workers = 0
        self.fell_back = 0
        #: Images analysed in a worker; workers that died under an image.
        self.images = 0
        self.image_worker_deaths = 0
        #: Worker calls that analysed images (several images can share one).
        self.image_calls = 0
        self._waiting: deque[_Image] = deque()
        #: Post-load calls (:meth:`compute`) made in a worker.
        self.computed = 0

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.enrich_work.labels(kind, outcome).inc()

    async def usable(self) -> bool:
        """Whether worker processes start (found out once, by a call that does nothing)."""
        if self._usable is None:
            async with self._start_lock:
                if self._usable is None:
                    self._usable = await self._start()
        return self._usable

    async def _start(self) -> bool:
        try:
            # Shielded, here and below: a cancelled start or call would leave the worker
            # process behind (anyio neither kills nor reuses it).
            with CancelScope(shield=True):
                await anyio.to_process.run_sync(os.getpid, limiter=self._images)
        except BrokenWorkerProcess as exc:
            log.error("enrichment worker processes cannot start (%s: %s); the daemon does "
                      "the text enrichment and image decoding itself ([enrichment] workers)",
                      exc, exc.__cause__)
            return False
        # Operators see more processes under the daemon: say why, once.
        log.info("text enrichment and image decoding run in worker processes, up to %d "
                 "for each ([enrichment] workers)", self.workers)
        return True

    async def enrich(self, records: Sequence[Mapping[str, Any]],
                     names: Sequence[str]) -> list[dict[str, Any]]:
        """:func:`enrich_all` of ``records``, in a worker if the batch is large enough."""
        if len(records) < MIN_WORKER_BATCH or not await self.usable():
            self._count("text", "here")
            return enrich_all(records, names)
        try:
            with CancelScope(shield=True):
                out = await anyio.to_process.run_sync(
                    enrich_all, list(records), list(names), limiter=self._text)
        except BrokenWorkerProcess as exc:
            self.fell_back += 1
            self._count("text", "worker_died")
            log.warning("text enrichment worker died (%s); enriching %d creatives here",
                        exc, len(records))
            return enrich_all(records, names)
        self.in_workers += 1
        self._count("text", "worker")
        return out

    async def compute(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in a worker process, or here without workers (the post-load steps).

        For pure functions of our own data (rolling history, benchmarks): the caller's
        database work goes on while a worker computes. A worker that dies costs nothing:
        the call is then made here, with a warning.
        """
        if not await self.usable():
            self._count("post_load", "here")
            return func(*args)
        try:
            with CancelScope(shield=True):
                out: T = await anyio.to_process.run_sync(func, *args, limiter=self._text)
        except BrokenWorkerProcess as exc:
            self._count("post_load", "worker_died")
            log.warning("a post-load worker died (%s: %s); computing here", exc, exc.__cause__)
            return func(*args)
        self.computed += 1
        self._count("post_load", "worker")
        return out

    async def analyze_image(self, data: bytes, max_pixels: int) -> ImageFeatures:
        """:func:`analyze_image` of ``data``: in a worker process, or with none in a thread.

        Shielded from the caller's time box (a cancelled call would leave its worker
        behind); the decode has a deadline of its own, :attr:`decode_seconds`, which starts
        once a worker is free and stops the worker.
        """
        if not await self.usable():
            self._count("image", "here")
            return await anyio.to_thread.run_sync(analyze_bytes, data, max_pixels,
                                                  limiter=self._threads)
        assert self._images is not None
        item = _Image(data, max_pixels)
        self._waiting.append(item)
        with CancelScope(shield=True):
            async with self._images:
                # Whoever gets a worker takes its own image and those waiting beside it;
                # an image another call took meanwhile is only waited for.
                if not item.taken:
                    await self._analyze_call(self._take(item))
            await item.done.wait()
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _take(self, first: _Image) -> list[_Image]:
        """``first`` and the oldest other waiting images, within one call's bounds."""
        self._waiting.remove(first)
        batch, size = [first], len(first.data)
        while (self._waiting and len(batch) < IMAGE_BATCH
               and size + len(self._waiting[0].data) <= IMAGE_BATCH_BYTES):
            item = self._waiting.popleft()
            batch.append(item)
            size += len(item.data)
        for item in batch:
            item.taken = True
        return batch

    async def _analyze_call(self, batch: list[_Image]) -> None:
        """Analyse ``batch`` in one worker call, else one image a call; each image ends done."""
        try:
            out = (await self._in_worker([(item.data, item.max_pixels) for item in batch])
                   if len(batch) > 1 else None)
            if isinstance(out, list):  # else one image a call: only the bad one costs
                for item, features in zip(batch, out, strict=True):
                    item.result = features
                    self._count("image", "worker")
                self.images += len(batch)
            else:
                for item in batch:
                    item.result = await self._one(item.data, item.max_pixels)
        except Exception as exc:  # handed to each caller, as a call of its own would raise
            for item in batch:
                if item.result is None:
                    item.error = exc
        finally:
            for item in batch:
                item.done.set()

    async def _in_worker(self, images: list[tuple[bytes, int]]
                         ) -> list[ImageFeatures] | Literal["died", "stopped"]:
        """The features of ``images`` from one worker call, or how the call's worker ended."""
        try:
            with anyio.move_on_after(self.decode_seconds) as deadline:
                # ``analyze_bytes`` is looked up at each call (tests replace it).
                out: list[ImageFeatures] = await anyio.to_process.run_sync(
                    analyze_each, analyze_bytes, images, limiter=self._image_calls,
                    cancellable=True)
        except BrokenWorkerProcess as exc:
            self.image_worker_deaths += 1
            self._count("image", "worker_died")
            log.warning("an image decoding worker died under %d image(s) (%s: %s)",
                        len(images), exc, exc.__cause__)
            return "died"
        self.image_calls += 1
        if deadline.cancelled_caught:
            self._count("image", "worker_stopped")
            log.warning("%d image(s) took more than %g s to decode; their worker process was "
                        "stopped", len(images), self.decode_seconds)
            return "stopped"
        return out

    async def _one(self, data: bytes, max_pixels: int) -> ImageFeatures:
        """One image, in a worker: tried in a new one when it kills one, corrupt after two."""
        for _ in range(IMAGE_ATTEMPTS):
            out = await self._in_worker([(data, max_pixels)])
            if out == "stopped":
                return failed(STATUS_CORRUPT, f"decoding took more than "
                                              f"{self.decode_seconds:g} s (worker stopped)")
            if isinstance(out, list):
                self.images += 1
                self._count("image", "worker")
                return out[0]
        return failed(STATUS_CORRUPT,
                      f"{IMAGE_ATTEMPTS} decoding worker processes died on these bytes")
