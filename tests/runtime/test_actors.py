"""The actor base: a crash is counted, closes the outbox and ends the task group."""

from __future__ import annotations

import anyio
import pytest
from prometheus_client import CollectorRegistry

from within_daemon.observability.metrics import Metrics
from within_daemon.runtime import Actor


class Boom(Actor[int, int]):
    name = "boom"

    async def handle(self, msg: int) -> None:
        if msg == 2:
            raise RuntimeError("bad message")
        await self.emit(msg)


async def test_a_crashed_actor_is_counted_closes_its_outbox_and_raises() -> None:
    """A crash counts once under the actor's name, closes the outbox, and propagates."""
    metrics = Metrics(CollectorRegistry())
    in_send, in_recv = anyio.create_memory_object_stream[int](4)
    out_send, out_recv = anyio.create_memory_object_stream[int](4)
    actor = Boom(in_recv, out_send, metrics=metrics)
    for i in (1, 2, 3):
        await in_send.send(i)
    with anyio.fail_after(5):
        with pytest.raises(RuntimeError, match="bad message"):
            await actor.run()
        got = [m async for m in out_recv]  # ends: the outbox was closed
    assert got == [1]
    crashes = metrics.registry.get_sample_value("within_actor_crashes_total", {"actor": "boom"})
    assert crashes == 1.0
