"""Ad-row columns beside the seed's fields (link_clicks, attribution_window), both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.schema.migrations import migrations

from .test_database import FETCHED, ad, q


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        yield loader


async def test_record_extras_override_batch_context(db: DatabaseLoader) -> None:
    """A record's own link_clicks/attribution_window are stored; others take the batch's."""
    recs = [ad(1, link_clicks=3, attribution_window="1d_click"), ad(2),
            ad(3, attribution_window=None)]
    await db.write_batch(run_id="r", task="t", kind="ad", records=recs, fetched_at=FETCHED,
                         context={"attribution_window": "7d"})
    got = await q(db, "SELECT ad_id, link_clicks, attribution_window FROM ad_data ORDER BY ad_id")
    assert got == [("ad1", 3, "1d_click"), ("ad2", None, "7d"), ("ad3", None, "7d")]


async def test_unknown_record_key_still_refused(db: DatabaseLoader) -> None:
    """A key that is neither a field nor an extra column is an error, not silently dropped."""
    with pytest.raises(LoaderError, match="extra \\['stray'\\]"):
        await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1, stray=1)],
                             fetched_at=FETCHED)


def test_link_clicks_is_migration_13() -> None:
    """The link_clicks column arrives by migration 9, in both dialects."""
    [m] = [m for m in migrations() if m.version == 9]
    assert any("link_clicks" in s for s in m.statements)
