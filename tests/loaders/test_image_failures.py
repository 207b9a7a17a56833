"""Image failures outlive the process: a restart does not refetch a poison image.

Real databases (``db_url``: SQLite and PostgreSQL), a real image server, real fetchers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.image_failures import ImageFailureStore
from within_daemon.sandbox.images import ImageServer
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import UrlPolicy
from within_daemon.transforms.enrichment.image import failed

LOOPBACK = UrlPolicy(allow_loopback=True)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    srv = ImageServer(huge_bytes=20 * 1024 * 1024)
    async with srv.serve():
        yield srv


async def test_restart_does_not_refetch_a_poison_image(db: DatabaseLoader,
                                                       server: ImageServer) -> None:
    """A bomb and a huge body fail once; after a 'restart' their failures come from the table."""
    server.set("/img/bomb.png", "bomb")
    server.set("/img/huge.jpg", "huge_chunked")
    urls = [server.url("/img/bomb.png"), server.url("/img/huge.jpg"), server.url("/img/ok.png")]
    first: dict[str, str] = {}
    async with ImageFetcher(policy=LOOPBACK, failure_store=ImageFailureStore(db)) as f:
        with anyio.fail_after(20):
            for u in urls:
                first[u] = (await f.analyze(u)).image_status
    assert list(first.values()) == ["too_many_pixels", "too_large", "ok"]
    assert await db.count_rows("image_failures") == 2
    server.reset_stats()
    # A new process: empty memory cache, same database.
    async with ImageFetcher(policy=LOOPBACK, failure_store=ImageFailureStore(db)) as f:
        assert await f.preload_failures(urls) == 2
        with anyio.fail_after(20):
            again = {u: (await f.analyze(u)).image_status for u in urls}
    assert again == first
    assert dict(server.requests) == {"/img/ok.png": 1}  # only the good image is fetched


async def test_failures_expire_transient_sooner(db: DatabaseLoader) -> None:
    """A timeout is believed for hours, a corrupt image for weeks; then the URL is retried."""
    store = ImageFailureStore(db)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    await store.record("http://a/x.png", failed("timeout", "slow"), now=t0)
    await store.record("http://a/y.png", failed("corrupt", "not an image"), now=t0)
    await store.record("http://a/y.png", failed("corrupt", "not an image\x00"), now=t0)
    urls = ["http://a/x.png", "http://a/y.png", "http://a/z.png"]
    soon = await store.failures(urls, now=t0 + timedelta(hours=1))
    assert {u: f.image_status for u, f in soon.items()} == {
        "http://a/x.png": "timeout", "http://a/y.png": "corrupt"}
    later = await store.failures(urls, now=t0 + timedelta(days=2))
    assert list(later) == ["http://a/y.png"]
    assert await store.failures(urls, now=t0 + timedelta(days=31)) == {}
    rows = await db.fetch_dicts("SELECT failures FROM image_failures WHERE url = 'http://a/y.png'")
    assert rows == [{"failures": 2}]


async def test_failures_at_once_share_one_transaction(db: DatabaseLoader,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst (every image of a batch refused) is one write, and every row is committed."""
    store = ImageFailureStore(db)
    writes: list[int] = []
    real = db.execute_in_transaction

    async def counted(steps):  # type: ignore[no-untyped-def]
        writes.append(sum(len(rows) for _, rows in steps))
        return await real(steps)

    monkeypatch.setattr(db, "execute_in_transaction", counted)
    urls = [f"http://cdn.example.test/{i}.png" for i in range(200)]
    async with anyio.create_task_group() as tg:
        for u in [*urls, urls[0]]:  # one URL fails twice in the burst
            tg.start_soon(store.record, u, failed("refused_host", "not allowed"))
    assert writes == [200]
    assert set(await store.failures(urls)) == set(urls)
    rows = await db.fetch_dicts(f"SELECT failures FROM image_failures WHERE url = '{urls[0]}'")
    assert rows == [{"failures": 2}]
    # Later failures start a new write.
    await store.record("http://cdn.example.test/late.png", failed("timeout", "slow"))
    assert writes == [200, 1]
