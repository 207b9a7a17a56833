"""The image stage of the enrich actor is time-boxed per batch, so a slow host stalls no one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from within_daemon.pipelines.enrich_actor import EnrichActor
from within_daemon.pipelines.messages import RecordBatch, RunRef
from within_daemon.records import ad_day
from within_daemon.sandbox.images import ImageServer
from within_daemon.schema import AD_FIELDS
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import UrlPolicy


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    srv = ImageServer(slow_seconds=30.0)
    async with srv.serve():
        yield srv


def batch(server: ImageServer, names: list[str]) -> RecordBatch:
    ref = RunRef("r", "t", "ad", "facebook", "act_1", "AdDataPipeline",
                 enrich=("image_analysis",))
    recs: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        r = dict.fromkeys(AD_FIELDS)
        r.update(platform="facebook", account_id="act_1", ad_id=f"ad{i}", date="2024-03-01",
                 image_url=server.url(f"/img/{name}.png"))
        recs.append(r)
    return RecordBatch(ref, [ad_day(r) for r in recs], [], "2024-03-02T00:00:00Z", len(recs))


async def test_slow_image_host_is_cut_off_at_the_batch_time_box(server: ImageServer) -> None:
    """A 30 s image does not hold the batch: it ends at the time box as 'timeout', retried later."""
    server.set("/img/slow.png", "slow")
    fetcher = ImageFetcher(timeout_seconds=60, policy=UrlPolicy(allow_loopback=True))
    async with fetcher:
        actor = EnrichActor(None, None, fetcher=fetcher, batch_seconds=0.5)
        with anyio.fail_after(10):  # far below the 30 s the slow image would take
            rows = await actor.features(batch(server, ["a", "slow", "b"]))
        status = {r["ad_id"]: r["image_status"] for r in rows}
        assert status == {"ad0": "ok", "ad1": "timeout", "ad2": "ok"}
        assert "time box" in next(r["image_error"] for r in rows if r["ad_id"] == "ad1")
        # The cut-off creative is not marked done: the next batch tries it again.
        server.set("/img/slow.png", None)
        with anyio.fail_after(10):
            again = await actor.features(batch(server, ["a", "slow", "b"]))
        assert [(r["ad_id"], r["image_status"]) for r in again] == [("ad1", "ok")]
