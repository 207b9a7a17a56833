"""One bad value in ad data costs only its own rows, end to end on both databases.

The Facebook emulator serves an ad whose creative title holds a NUL character (PostgreSQL
refuses NUL in text; SQLite would store it); the run loads every other row and quarantines
that ad's rows with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from within_daemon.config import LoadedConfig
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator

from .. import dbq


async def test_nul_in_one_ad_title_costs_only_that_ad(
        emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]) -> None:
    """The ad with a NUL in its title is quarantined day by day; the run succeeds."""
    acct = sorted(emulator.accounts)[0]
    bad = emulator.data(acct).ads[0]
    bad.graph["creative"]["title"] = "Sale\x00now"
    loaded = make_config()
    [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success", res
    quarantined = dbq.rows(loaded, "SELECT reason, raw_json FROM quarantine")
    assert quarantined and all("NUL character" in reason for reason, _ in quarantined)
    assert {json.loads(raw)["ad_id"] for _, raw in quarantined} == {bad.id}
    assert dbq.rows(loaded, "SELECT COUNT(*) FROM ad_data WHERE ad_id = ?", bad.id) == [(0,)]
    assert res.quarantined == len(quarantined)
    assert res.loaded > 0 and res.loaded + res.quarantined == res.fetched
