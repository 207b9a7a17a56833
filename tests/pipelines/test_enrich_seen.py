"""Which creatives the enrich actor enriches: new or changed ones only, each once.

The actor recognises an ad's creative already enriched by the built-in hash of its fields
and stores its SHA-1 (``creative_hash``); these tests pin what that decides, batch by batch,
with the text enrichers only (no image fetch).
"""

from __future__ import annotations

import hashlib
from typing import Any

import anyio

from within_daemon.pipelines.enrich_actor import EnrichActor
from within_daemon.pipelines.messages import RecordBatch, RunRef
from within_daemon.records import AdDay
from within_daemon.transforms.enrichment.enricher import creative_key

REF = RunRef("run", "t", "ad", "facebook", "1", "AdDataPipeline", ("sentiment",))
_NONE = dict.fromkeys(AdDay.__struct_fields__)


def rec(ad: str, day: str, headline: str) -> AdDay:
    return AdDay(**{**_NONE, "ad_id": ad, "platform": "facebook", "account_id": "1",
                    "date": day, "headline": headline, "description": "Buy now",
                    "image_url": f"https://cdn.example.com/{ad}.jpg"})


async def enriched(actor: EnrichActor, *records: AdDay) -> list[tuple[Any, ...]]:
    rows = await actor.features(RecordBatch(REF, list(records), [], "2026-12-05T10:00:00Z",
                                            len(records)))
    return [(r["ad_id"], r["creative_hash"], r["observed_on"]) for r in rows]


def sha(r: AdDay) -> str:
    return hashlib.sha1(creative_key(r).encode(), usedforsecurity=False).hexdigest()


async def test_each_creative_once_and_again_only_when_it_changes() -> None:
    send, recv = anyio.create_memory_object_stream[Any](10)
    actor = EnrichActor(recv, send, fetcher=None)
    a1, a2 = rec("x", "2026-12-01", "Sale"), rec("x", "2026-12-02", "Sale")
    b1, b2 = rec("x", "2026-12-01", "New sale"), rec("x", "2026-12-02", "New sale")
    y = rec("y", "2026-12-01", "Other")
    # An ad's days share their creative: one row, its hash the SHA-1 of the fields, seen
    # on the later of the fetch day and its latest row.
    assert await enriched(actor, a1, y, a2) == [
        ("x", sha(a1), "2026-12-05"), ("y", sha(y), "2026-12-05")]
    assert await enriched(actor, a2, y, a1) == []  # the same creatives again
    # An edit: a day with the new creative is enough, whatever the other rows hold.
    assert await enriched(actor, b1, a2) == [("x", sha(b1), "2026-12-05")]
    assert await enriched(actor, b2, b1) == []
    assert await enriched(actor, a1) == [("x", sha(a1), "2026-12-05")]  # edited back
    later = rec("x", "2026-12-09", "Sale again")
    assert await enriched(actor, later) == [("x", sha(later), "2026-12-09")]
    assert len({sha(a1), sha(b1), sha(later)}) == 3
