"""The enrich actor enriches in the background: batches go on, a run's markers wait.

A batch with new creatives starts their enrichment and passes on at once, with the next
batches; the run's ``WindowDone`` (and everything of that run after it) waits until the
features of the batches before it are sent, so a window marked complete has its creatives
stored. Other runs pass meanwhile. At most ``MAX_HELD`` messages wait; then the actor
stops taking new ones. Real image server and fetcher; one image answers after a delay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from within_daemon.pipelines import enrich_actor
from within_daemon.pipelines.enrich_actor import EnrichActor
from within_daemon.pipelines.messages import (
    CreativeFeatures,
    LoaderMsg,
    RecordBatch,
    RunRef,
    SourceDone,
    WindowDone,
)
from within_daemon.records import ad_day
from within_daemon.sandbox.images import ImageServer
from within_daemon.schema import AD_FIELDS
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import UrlPolicy

SLOW = 1.5
A = RunRef("a", "t", "ad", "facebook", "act_1", "AdDataPipeline", enrich=("image_analysis",))
B = RunRef("b", "t", "ad", "facebook", "act_2", "AdDataPipeline", enrich=("sentiment",))


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    srv = ImageServer(slow_seconds=SLOW)
    async with srv.serve():
        srv.set("/img/slow.png", "slow")
        yield srv


def batch(server: ImageServer, ref: RunRef, day: str, names: list[str]) -> RecordBatch:
    recs: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        r = dict.fromkeys(AD_FIELDS)
        r.update(platform="facebook", account_id=ref.account_id, ad_id=f"ad{i}", date=day,
                 headline=f"Sale {i}", image_url=server.url(f"/img/{name}.png"))
        recs.append(r)
    return RecordBatch(ref, [ad_day(r) for r in recs], [], "2024-03-02T00:00:00Z", len(recs))


def label(msg: LoaderMsg) -> str:
    kind = {RecordBatch: "batch", CreativeFeatures: "features", WindowDone: "done",
            SourceDone: "end"}[type(msg)]
    extra = f" {msg.records[0].date}" if isinstance(msg, RecordBatch) else ""
    return f"{msg.ref.run_id} {kind}{extra}"


async def run_actor(server: ImageServer, messages: list[LoaderMsg],
                    ) -> tuple[list[str], list[LoaderMsg]]:
    """Send ``messages`` through a running actor; what came out, labelled and as is."""
    send, inbox = anyio.create_memory_object_stream[LoaderMsg](100)
    outbox, recv = anyio.create_memory_object_stream[LoaderMsg](100)
    out: list[LoaderMsg] = []
    async with ImageFetcher(timeout_seconds=30, policy=UrlPolicy(allow_loopback=True)) as f:
        actor = EnrichActor(inbox, outbox, fetcher=f)
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(actor.run)
                async with send:
                    for m in messages:
                        await send.send(m)
                async with recv:
                    async for m in recv:
                        out.append(m)
    return [label(m) for m in out], out


async def test_batches_pass_their_enrichment_and_markers_wait_for_it(
        server: ImageServer) -> None:
    msgs: list[LoaderMsg] = [
        batch(server, A, "2024-03-01", ["a", "slow", "b"]),  # three new creatives, one slow
        batch(server, A, "2024-03-02", ["a", "slow", "b"]),  # the same: nothing new
        WindowDone(A, ("2024-03-01", "2024-03-02")),
        batch(server, A, "2024-03-03", ["a", "slow", "b"]),  # after the marker: behind it
        batch(server, B, "2024-03-01", ["c"]),
        WindowDone(B, ("2024-03-01",)),
        SourceDone(B, "success"),
        SourceDone(A, "success"),
    ]
    order, out = await run_actor(server, msgs)
    assert sorted(order) == sorted([
        "a batch 2024-03-01", "a batch 2024-03-02", "a features", "a done",
        "a batch 2024-03-03", "a end",
        "b features", "b batch 2024-03-01", "b done", "b end"])
    # A's batches did not wait for A's slow image; A's marker did, and A's later messages
    # stayed behind the marker.
    assert order.index("a batch 2024-03-02") < order.index("a features") < order.index("a done")
    assert order.index("a done") < order.index("a batch 2024-03-03") < order.index("a end")
    # B (text only, quick) went through while A's image was still loading.
    assert order.index("b end") < order.index("a features")
    [features] = [m for m in out if isinstance(m, CreativeFeatures) and m.ref == A]
    assert {r["ad_id"]: r["image_status"] for r in features.rows} == {
        "ad0": "ok", "ad1": "ok", "ad2": "ok"}


async def test_at_most_max_held_messages_wait(server: ImageServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enrich_actor, "MAX_HELD", 3)
    send, inbox = anyio.create_memory_object_stream[LoaderMsg](100)
    outbox, recv = anyio.create_memory_object_stream[LoaderMsg](100)
    async with ImageFetcher(timeout_seconds=30, policy=UrlPolicy(allow_loopback=True)) as f:
        actor = EnrichActor(inbox, outbox, fetcher=f)
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(actor.run)
                await send.send(batch(server, A, "2024-03-01", ["slow"]))
                await send.send(WindowDone(A, ("2024-03-01",)))
                for day in range(2, 12):
                    await send.send(batch(server, A, f"2024-03-{day:02d}", ["slow"]))
                await anyio.sleep(SLOW / 2)
                # Held: the enrichment, the marker and one batch; the actor stopped taking.
                assert sum(map(len, actor._held.values())) == 3
                assert inbox.statistics().current_buffer_used == 9
                await send.aclose()
                got = [m async for m in recv]
    assert len(got) == 13  # every batch, the marker, the features
    assert isinstance(got[1], CreativeFeatures) and isinstance(got[2], WindowDone)


async def test_a_failed_enrichment_stops_the_actor(server: ImageServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: EnrichActor, work: Any) -> list[dict[str, Any]]:
        raise RuntimeError("enricher bug")

    monkeypatch.setattr(EnrichActor, "_enrich", broken)
    with pytest.raises(BaseExceptionGroup) as info:
        await run_actor(server, [batch(server, A, "2024-03-01", ["a"]),
                                 WindowDone(A, ("2024-03-01",))])
    assert info.group_contains(RuntimeError, match="enricher bug")
