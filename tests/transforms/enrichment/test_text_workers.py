"""Text enrichment in worker processes gives what it gives in the daemon's own process.

Real worker processes (``anyio.to_process``): a batch of the hand-labelled ads, repeated
past the worker threshold, must come back equal, value for value, to ``enrich_text`` run
here; a small batch never leaves the process; a worker that dies mid-batch costs no
creative (the batch is redone here) and the next batch gets a new worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tests.transforms.enrichment.labelled_ads import LABELLED_ADS
from within_daemon.transforms.enrichment import TEXT_ENRICHERS
from within_daemon.transforms.enrichment import workers as w

NAMES = sorted(TEXT_ENRICHERS)
PARENT = "WITHIN_TEST_PARENT_PID"
#: The real function, whatever a test patches in the module.
REAL = w.enrich_all


def _records(n: int) -> list[dict[str, Any]]:
    ads = [a.record() for a in LABELLED_ADS]
    out = [{**ads[i % len(ads)], "ad_id": f"ad{i}"} for i in range(n)]
    out[3] = {**out[3], "headline": None, "description": ""}  # missing text
    out[5] = {**out[5], "headline": "Ünïcode 🚀 50% off — today only!"}
    return out


async def test_a_worker_gives_the_same_values() -> None:
    records = _records(w.MIN_WORKER_BATCH * 2)
    workers = w.TextWorkers(1)
    got = await workers.enrich(records, NAMES)
    assert workers.in_workers == 1 and workers.fell_back == 0
    assert got == w.enrich_all(records, NAMES)
    assert len(got) == len(records) and all(got)


async def test_a_small_batch_stays_in_the_process() -> None:
    records = _records(w.MIN_WORKER_BATCH - 1)
    workers = w.TextWorkers(1)
    assert await workers.enrich(records, NAMES) == w.enrich_all(records, NAMES)
    assert workers.in_workers == 0
    none = w.TextWorkers(0)
    assert await none.enrich(_records(200), NAMES) == w.enrich_all(_records(200), NAMES)
    assert none.in_workers == 0


def _dies_in_a_worker(records: Sequence[Mapping[str, Any]],
                      names: Sequence[str]) -> list[dict[str, Any]]:
    """``enrich_all``, except that a worker process running it exits at once."""
    if os.getpid() != int(os.environ[PARENT]):
        os._exit(3)
    return REAL(records, names)


async def test_a_dead_worker_costs_no_creative(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(w.MIN_WORKER_BATCH)
    want = w.enrich_all(records, NAMES)
    monkeypatch.setenv(PARENT, str(os.getpid()))  # a worker inherits the environment
    monkeypatch.setattr(w, "enrich_all", _dies_in_a_worker)
    workers = w.TextWorkers(1)
    assert await workers.enrich(records, NAMES) == want  # done here, with a warning
    assert workers.fell_back == 1 and workers.in_workers == 0
    monkeypatch.setattr(w, "enrich_all", REAL)
    assert await workers.enrich(records, NAMES) == want  # a new worker
    assert workers.in_workers == 1
