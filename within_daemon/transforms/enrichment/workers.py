"""Text enrichment in worker processes, so that the NLP runs on another core.

The text enrichers (VADER sentiment, topics, entities) are pure Python: about 0.4 ms per
new creative (0.6 ms before their own speed-up), all of it holding the interpreter's lock.
On the event loop's thread they stop everything else: a backfill of 23,000 ads x 7 days,
every ad with its own creative, spent about 20 s there (``bench/README.md``, issue 15).
With :class:`TextWorkers` the enrich actor sends a batch's creatives to worker processes
(``anyio.to_process``: started on first use, reused, stopped after 5 idle minutes and
with the event loop) and meanwhile the loop parses, validates and loads the next pages.

The values are the same: a worker calls :func:`enrich_text` on the same dicts. Small
batches (a daily run's few new creatives) stay in the process: a round trip to a worker
costs more than they do. A worker that dies (killed, out of memory) costs nothing but
time: the batch is done in the process, with a warning, and the next batch starts a new
worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import anyio.to_process
from anyio import BrokenWorkerProcess

from . import enrich_text

log = logging.getLogger(__name__)

#: Fewer creatives than this are enriched in the process: a worker round trip costs about
#: 1 ms with the pickling, 16 creatives about 6 ms. (A batch of a wide account's first
#: pages brings hundreds of new creatives; a daily run's batches, a few.)
MIN_WORKER_BATCH = 16


def enrich_all(records: Sequence[Mapping[str, Any]], names: Sequence[str]
               ) -> list[dict[str, Any]]:
    """:func:`enrich_text` of each record, in order (what a worker runs)."""
    return [enrich_text(r, names) for r in records]


class TextWorkers:
    """Runs :func:`enrich_all` in up to ``workers`` processes; ``0``: in this process."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._limiter = anyio.CapacityLimiter(workers) if workers > 0 else None
        #: Batches done in a worker, and batches a dead worker left to this process.
        self.in_workers = 0
        self.fell_back = 0

    async def enrich(self, records: Sequence[Mapping[str, Any]],
                     names: Sequence[str]) -> list[dict[str, Any]]:
        if self._limiter is None or len(records) < MIN_WORKER_BATCH:
            return enrich_all(records, names)
        if self.in_workers == 0 and self.fell_back == 0:
            # Operators see one more process under the daemon: say why, once.
            log.info("text enrichment of large batches runs in up to %d worker process(es) "
                     "([enrichment] text_workers)", self.workers)
        try:
            out = await anyio.to_process.run_sync(
                enrich_all, list(records), list(names), limiter=self._limiter)
        except BrokenWorkerProcess as exc:
            self.fell_back += 1
            log.warning("text enrichment worker died (%s); enriching %d creatives here",
                        exc, len(records))
            return enrich_all(records, names)
        self.in_workers += 1
        return out
