"""Settling schedule end to end: late purchases of older days reach the database, cheaply."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import anyio

from within_daemon.config import LoadedConfig
from within_daemon.daemon import run_backfill, run_once
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator

from .. import dbq
from .test_pipeline import A1, A2


async def test_older_days_are_pulled_again_until_they_settle(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Days loaded 10 days ago are re-pulled once (late purchases arrive), then left alone."""
    loaded = make_config()
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    lo, hi = today - timedelta(days=35), today - timedelta(days=11)
    for acct in (A1, A2):
        # What the platform showed ten days ago: the young days lacked late purchases.
        emulator.data(acct).as_of = (today - timedelta(days=10)).toordinal()
        with anyio.fail_after(60):
            res = await run_backfill(loaded, metrics=Metrics(), platform="facebook",
                                     account_id=acct, start=lo, end=hi)
        assert res.status == "success"
    stamp = f"{today - timedelta(days=10)}T08:00:00.000000+00:00"
    async with DatabaseLoader.from_url(loaded.config.database.url,
                                       base_dir=loaded.base_dir) as db:
        await db.execute_in_transaction([("UPDATE ledger SET completed_at = ?", [(stamp,)])])
    for acct in (A1, A2):
        emulator.data(acct).as_of = today.toordinal()

    def stored(acct: str) -> int:
        return int(dbq.scalar(loaded, "SELECT SUM(conversions) FROM ad_data WHERE"
                              " account_id = ? AND date BETWEEN ? AND ?",
                              acct, lo.isoformat(), hi.isoformat()))

    want = emulator.expected_totals(A1, lo, hi)["purchases"]
    assert stored(A1) < want
    metrics = Metrics()
    with anyio.fail_after(60):
        [res] = await run_once(loaded, metrics=metrics)
    assert res.status == "success"
    assert [a.days_settling for a in res.accounts] == [25, 25]
    assert stored(A1) == want
    # Days pulled today at 28+ days old are settled; the lookback (5) and days 11..27 are not.
    assert metrics.registry.get_sample_value(
        "within_ledger_days_unsettled", {"task": "ads", "platform": "facebook"}) == 2 * (5 + 17)
    # Cheap: the next run finds nothing due (everything older was pulled today).
    with anyio.fail_after(60):
        [again] = await run_once(loaded, metrics=Metrics())
    assert [a.days_settling for a in again.accounts] == [0, 0]
