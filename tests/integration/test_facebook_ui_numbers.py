"""Facebook numbers equal Ads Manager's default columns: Purchases, link clicks, attribution."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from within_daemon.config import LoadedConfig
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.facebook.data import ATTRIBUTION_SETTINGS

from .. import dbq
from .test_pipeline import A1, window


async def test_default_conversions_are_the_purchases_column(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Default conversions/revenue equal "Purchases" (omni_purchase), above website purchases."""
    loaded = make_config()
    with anyio.fail_after(60):
        await run_once(loaded, metrics=Metrics())
    since, until = window(5)
    want = emulator.expected_totals(A1, since, until)
    conv, rev, links, clicks = dbq.rows(
        loaded, "SELECT SUM(conversions), SUM(revenue), SUM(link_clicks), SUM(clicks)"
        " FROM ad_data WHERE account_id = ?", A1)[0]
    assert want["purchases"] > want["website_purchases"]
    assert conv == want["purchases"]
    assert round(rev, 2) == want["purchase_value"]
    assert links == want["link_clicks"] < clicks == want["clicks"]


async def test_attribution_window_is_each_ad_sets_setting(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """attribution_window of each ad row is its ad set's own setting, as insights report it."""
    loaded = make_config()
    with anyio.fail_after(60):
        await run_once(loaded, metrics=Metrics())
    data = emulator.data(A1)
    want = {
        ad.id: ATTRIBUTION_SETTINGS[ad.parent % len(ATTRIBUTION_SETTINGS)] for ad in data.ads
    }
    got = dbq.rows(loaded, "SELECT DISTINCT ad_id, attribution_window FROM ad_data"
                   " WHERE account_id = ?", A1)
    assert got and {ad: w for ad, w in got} == {ad: want[ad] for ad, _ in got}
    assert len({w for _, w in got}) > 1
