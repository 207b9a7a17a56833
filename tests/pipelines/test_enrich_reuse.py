"""Enriching once per creative and reusing it stores what enriching every batch afresh stores.

The enrich actor computes a creative's text features and its image analysis once, and
skips an ad whose creative it has already enriched (the image fetcher also caches features
by URL). Here the same pages (several ads, some sharing an image or a text, one edited
between the windows) go through one actor, batch after batch, and the same pages twice;
and through a fresh actor and fetcher per batch (nothing reused). The creative tables each
way must hold the same columns, but the times of the writes (``enriched_at``, and the
history's ``observed_at`` taken from it), on each backend, with a real image server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.pipelines.enrich_actor import EnrichActor
from within_daemon.pipelines.messages import RecordBatch, RunRef
from within_daemon.records import ad_day
from within_daemon.sandbox.images import ImageServer
from within_daemon.schema import AD_FIELDS
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import UrlPolicy

ENRICH = ("sentiment", "topic_classification", "entity_extraction", "image_analysis")
TEXTS = [("Spring sale: 30% off running shoes", "Free shipping, ends tonight"),
         ("New laptop deals", "Save $200 on the X1 this week only"),
         ("Spring sale: 30% off running shoes", "Free shipping, ends tonight")]


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    srv = ImageServer()
    async with srv.serve():
        yield srv


def window(server: ImageServer, days: list[str], *, edited: bool = False) -> RecordBatch:
    """One window's rows: six ads over ``days``; ads 0 and 3 share an image, 0 and 2 a text."""
    ref = RunRef("r", "t", "ad", "facebook", "act_1", "AdDataPipeline", enrich=ENRICH)
    recs: list[dict[str, Any]] = []
    for d in days:
        for i in range(6):
            r = dict.fromkeys(AD_FIELDS)
            headline, description = TEXTS[i % 3]
            if edited and i == 1:
                headline = "Terrible broken laptop, never again"
            r.update(platform="facebook", account_id="act_1", ad_id=f"ad{i}", date=d,
                     headline=headline, description=description, cta="SHOP_NOW",
                     landing_page_url=f"https://shop.example.test/p{i % 3}",
                     image_url=server.url(f"/img/creative{i % 3}.png") if i != 5 else None)
            recs.append(r)
    return RecordBatch(ref, [ad_day(r) for r in recs], [], f"{days[-1]}T23:00:00Z", len(recs))


def windows(server: ImageServer) -> list[RecordBatch]:
    return [window(server, ["2024-03-01", "2024-03-02"]),
            window(server, ["2024-03-03", "2024-03-04"]),
            window(server, ["2024-03-05"], edited=True),
            window(server, ["2024-03-05"], edited=True)]  # the same page again


def fetcher() -> ImageFetcher:
    return ImageFetcher(policy=UrlPolicy(allow_loopback=True))


async def stored(db_url: str, batches: list[list[dict[str, Any]]]) -> Any:
    """The creative tables after storing each batch's rows, but the write times."""
    async with DatabaseLoader.from_url(db_url) as db:
        for rows in batches:
            if rows:
                await store.upsert_creative_features(db, rows)
        out = []
        for table, order in (("ad_creative_features", "ad_id"),
                             ("ad_creative_history", "ad_id, valid_from")):
            got = await db.fetch_dicts(f"SELECT * FROM {table} ORDER BY {order}")
            out.append([{k: v for k, v in r.items() if k not in ("enriched_at", "observed_at")}
                        for r in got])
            await db.execute_in_transaction([(f"DELETE FROM {table}", [()])])
        return out


async def test_reuse_stores_the_same_columns(server: ImageServer, db_url: str) -> None:
    reused: list[list[dict[str, Any]]] = []
    async with fetcher() as f:
        actor = EnrichActor(None, None, fetcher=f)
        for b in windows(server):
            reused.append(await actor.features(b))
        assert f.cache_hits > 0  # the shared image was fetched once
    # Nothing reused: a new actor and fetcher for every window (a process per run).
    fresh: list[list[dict[str, Any]]] = []
    for b in windows(server):
        async with fetcher() as f:
            fresh.append(await EnrichActor(None, None, fetcher=f).features(b))
    # With reuse, a window repeats no creative already enriched: the edited ad only, and
    # nothing for the page seen twice.
    assert [len(rows) for rows in reused] == [6, 0, 1, 0]
    assert [len(rows) for rows in fresh] == [6, 6, 6, 6]
    with_reuse, without = await stored(db_url, reused), await stored(db_url, fresh)
    assert with_reuse == without
    features, history = with_reuse
    assert len(features) == 6 and len(history) == 7  # ad1's edit is a second version
    assert {r["image_status"] for r in features} == {"ok", "empty"}
    by_ad = {r["ad_id"]: r for r in features}
    assert by_ad["ad0"]["image_brightness"] == by_ad["ad3"]["image_brightness"]
    assert by_ad["ad0"]["topic"] == by_ad["ad2"]["topic"]
