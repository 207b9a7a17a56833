"""Upserts of several rows with one key in a batch: the last one wins, on both backends.

PostgreSQL writes a batch by COPY into a staging table and one ``INSERT ... SELECT ...
ON CONFLICT``, which refuses to touch a row twice: the backend keeps each key's last row
first, as consecutive row-by-row upserts (SQLite) would leave it. Both paths: the fact
tables' (``write_batch``) and the derived tables' (``upsert_keyed``).
"""

from __future__ import annotations

from typing import Any

import pytest

from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.analytics import HISTORY_TABLE_COLUMNS
from within_daemon.loaders.schema.analytics import AD_DAY_KEY_COLUMNS
from within_daemon.schema import AD_FIELDS


def history(ad: str, day: str, ctr: float) -> tuple[Any, ...]:
    row: dict[str, Any] = dict.fromkeys(HISTORY_TABLE_COLUMNS)
    row.update(platform="facebook", account_id="act_1", ad_id=ad, date=day, ad_ctr_7d=ctr,
               computed_at="2026-12-05T00:00:00Z")
    return tuple(row[c] for c in HISTORY_TABLE_COLUMNS)


async def test_derived_rows_last_of_a_key_wins(db_url: str) -> None:
    async with DatabaseLoader.from_url(db_url) as db:
        await db.upsert_keyed("ad_history", HISTORY_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS, [
            history("a", "2024-01-01", 0.1), history("b", "2024-01-01", 0.2),
            history("a", "2024-01-01", 0.3)])
        await db.upsert_keyed("ad_history", HISTORY_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS, [
            history("b", "2024-01-01", 0.4), history("a", "2024-01-02", 0.5)])
        got = await db.fetch_rows(
            "SELECT ad_id, date, ad_ctr_7d FROM ad_history ORDER BY ad_id, date")
        assert [tuple(r) for r in got] == [
            ("a", "2024-01-01", 0.3), ("a", "2024-01-02", 0.5), ("b", "2024-01-01", 0.4)]
        with pytest.raises(LoaderError, match="unknown table"):
            await db.upsert_keyed("ad_history; DROP TABLE ad_data", HISTORY_TABLE_COLUMNS,
                                  AD_DAY_KEY_COLUMNS, [])


async def test_fact_rows_last_of_a_key_wins(db_url: str) -> None:
    def ad(clicks: int) -> dict[str, Any]:
        r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
        r.update(platform="facebook", account_id="act_1", ad_id="a", date="2024-01-01",
                 currency="USD", impressions=100, clicks=clicks)
        return r

    async with DatabaseLoader.from_url(db_url) as db:
        await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1), ad(7)],
                             fetched_at="2024-02-01T00:00:00Z")
        got = await db.fetch_rows("SELECT ad_id, clicks FROM ad_data")
        assert [tuple(r) for r in got] == [("a", 7)]
