"""A way into the actor chain for a source that does not run inside a pull.

The engine's chain (raw queue → transform → enrich → loader, :func:`.engine.open_engine`)
is entered through a :class:`Feed`: a send stream of the raw queue and the loader's run
tracker. Inside the engine, :meth:`.engine.Engine.feed` gives one. A caller with only a
database (``within-daemon internal``, the tests, a one-shot run of the internal pipeline)
gets the same transform and loader actors from :func:`open_chain`, without the enrich
stage (which needs the engine's HTTP sessions; the internal tasks name no enrichers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ..loaders import DatabaseLoader
from ..observability.metrics import Metrics
from .loader_actor import WRITE_ATTEMPTS, LoaderActor, RunTracker
from .messages import LoaderMsg, SourceMsg
from .transform_actor import TransformActor

#: Queue sizes of a chain opened outside the engine (the engine's come from the config).
QUEUE_SIZE = 64
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Feed:
    """Where a source sends its messages, and where its caller waits for the commit."""

    #: A clone of the raw queue's send side: the source closes it when done.
    send: MemoryObjectSendStream[SourceMsg]
    tracker: RunTracker


@asynccontextmanager
async def open_chain(db: DatabaseLoader, *, metrics: Metrics | None = None,
                     batch_size: int = BATCH_SIZE,
                     write_attempts: int = WRITE_ATTEMPTS) -> AsyncIterator[Feed]:
    """Transform and loader actors on ``db``; leaving the block drains them in order."""
    raw_send, raw_recv = anyio.create_memory_object_stream[SourceMsg](QUEUE_SIZE)
    rec_send, rec_recv = anyio.create_memory_object_stream[LoaderMsg](QUEUE_SIZE)
    tracker = RunTracker()
    transform = TransformActor(raw_recv, rec_send, normalizers={}, metrics=metrics)
    loader = LoaderActor(rec_recv, db=db, tracker=tracker, batch_size=batch_size,
                         metrics=metrics, write_attempts=write_attempts)
    async with anyio.create_task_group() as tg:
        tg.start_soon(transform.run)
        tg.start_soon(loader.run)
        try:
            yield Feed(raw_send.clone(), tracker)
        finally:
            await raw_send.aclose()
