"""Actors connected by bounded anyio memory streams.

An actor owns a typed inbox and (except for sinks) a typed outbox. It handles messages
until its inbox is closed by the upstream, then flushes and closes its outbox, so closing
the first stream drains the whole chain in order. Queues are always bounded: a full queue
makes the sender wait (backpressure), it never drops or grows. ``QueueSet`` names the
queues so their depth can be exported.

Supervision: an actor that crashes is logged and counted (``within_actor_crashes_total``),
closes its outbox and lets the error end its task group; the daemon then exits non-zero
and systemd restarts it, and the ledger resumes the interrupted runs. Nothing restarts an
actor in-process: the message it held would be lost, and the runs waiting for that
message's end-of-window marker would wait forever.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Generic, TypeVar

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..observability.metrics import Metrics

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")
T = TypeVar("T")


class QueueSet:
    """Creates named bounded queues and reports their depth."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics
        self._queues: dict[str, MemoryObjectReceiveStream[Any]] = {}

    def create(
        self, name: str, size: int
    ) -> tuple[MemoryObjectSendStream[T], MemoryObjectReceiveStream[T]]:
        """A bounded queue; its item type comes from the annotated targets (see the engine)."""
        if size <= 0:
            raise ValueError("queues are bounded: size must be > 0")
        send, recv = anyio.create_memory_object_stream[T](size)
        self._queues[name] = recv
        if self.metrics is not None:
            self.metrics.queue_capacity.labels(name).set(size)
        return send, recv

    def depths(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, recv in self._queues.items():
            try:
                out[name] = recv.statistics().current_buffer_used
            except anyio.ClosedResourceError:
                out[name] = 0
        return out

    def sample(self) -> None:
        if self.metrics is not None:
            for name, depth in self.depths().items():
                self.metrics.queue_depth.labels(name).set(depth)

    async def sample_forever(self, interval: float = 1.0) -> None:
        while True:
            self.sample()
            await anyio.sleep(interval)


class Actor(Generic[In, Out]):
    """A stage: ``handle`` each inbox message, ``flush`` at the end, then close the outbox."""

    name = "actor"

    def __init__(
        self,
        inbox: MemoryObjectReceiveStream[In],
        outbox: MemoryObjectSendStream[Out] | None = None,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self.inbox = inbox
        self.outbox = outbox
        self.metrics = metrics

    async def handle(self, msg: In) -> None:
        raise NotImplementedError

    async def flush(self) -> None:
        """Called once after the inbox closed; sinks commit what they still hold."""

    async def emit(self, msg: Out) -> None:
        assert self.outbox is not None, f"{self.name} has no outbox"
        await self.outbox.send(msg)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            async with self.inbox:
                async for msg in self.inbox:
                    t0 = time.perf_counter()
                    await self.handle(msg)
                    if self.metrics is not None:
                        self.metrics.stage_latency.labels(self.name).observe(
                            time.perf_counter() - t0
                        )
                await self.flush()
        except Exception:
            log.exception("actor %s crashed; the engine stops (see the module docstring)",
                          self.name)
            if self.metrics is not None:
                self.metrics.actor_restarts.labels(self.name).inc()
            raise
        finally:
            if self.outbox is not None:
                await self.outbox.aclose()
