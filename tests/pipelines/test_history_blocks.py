"""Rolling history read in blocks of chunks stores what one read per chunk stored, bit for bit.

``pipelines.analytics._history`` reads ``ad_data`` once for several 14-day chunks (each
needs the 28 days before it) while the block stays under ``HISTORY_READ_ROWS`` rows. With
a budget of the largest chunk's rows every chunk reads alone, as before; any budget must
give the same ``ad_history`` floats (``==``), on both backends, over gaps and several
accounts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.pipelines import analytics
from within_daemon.schema import AD_FIELDS

DAYS = [(date(2024, 1, 1) + timedelta(days=i)).isoformat() for i in range(75)]


async def _seed(db: DatabaseLoader) -> None:
    rnd = random.Random(7)
    for acct in ("act_1", "act_2"):
        recs = []
        for ad in range(6):
            for i, d in enumerate(DAYS):
                if rnd.random() < 0.2 or (ad == 5 and i < 40):
                    continue  # gaps; one ad starting late
                r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
                r.update(platform="facebook", account_id=acct, ad_id=f"ad{ad}", date=d,
                         currency="USD", impressions=rnd.randint(0, 2000),
                         clicks=rnd.randint(0, 40), spend=rnd.random() * 37.3,
                         conversions=rnd.randint(0, 4) + rnd.random() * (ad % 2),
                         revenue=rnd.random() * 91.7)
                recs.append(r)
        await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                             fetched_at="2024-04-01T00:00:00Z")


async def test_blocks_store_what_single_chunks_stored(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with DatabaseLoader.from_url(db_url) as db:
        await _seed(db)
        # Two accounts, the second's days not contiguous (a run's days may have holes).
        touched = [analytics.AccountDays("facebook", "act_1", None, DAYS, DAYS, DAYS[-1]),
                   analytics.AccountDays("facebook", "act_2", None, DAYS[3:50] + DAYS[60:],
                                         DAYS, DAYS[-1])]
        sql = "SELECT * FROM ad_history ORDER BY account_id, ad_id, date"
        got = []
        # The largest chunk's rows: every chunk read whole, most of them alone (budget 1
        # reads a slice of ads at a time: tests/pipelines/test_history_slices.py).
        monkeypatch.setattr(analytics, "HISTORY_READ_ROWS", 1)
        alone = 0
        for t in touched:
            blocks = await analytics._history_blocks(db, t, analytics._chunks(t.days))
            alone = max(alone, *(sum(days.values()) for _, days in blocks))
        for budget in (1, 300, alone, 10**9):
            monkeypatch.setattr(analytics, "HISTORY_READ_ROWS", budget)
            await db.execute_in_transaction([("DELETE FROM ad_history", [()])])
            assert await analytics._history(db, touched) > 500
            rows = await db.fetch_dicts(sql)
            got.append([{k: v for k, v in r.items() if k != "computed_at"} for r in rows])
        assert got[0] == got[1] == got[2] == got[3]
        blocks = await analytics._history_blocks(db, touched[0], analytics._chunks(DAYS))
        assert [len(b) for b, _ in blocks] == [6]  # 75 days: six chunks, one read
