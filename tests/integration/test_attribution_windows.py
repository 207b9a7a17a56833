"""attribution_window holds what each platform counted conversions with (Google, TikTok)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from within_daemon.config import load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.google.data import SandboxCustomer
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.tiktok.data import ATTRIBUTION
from within_daemon.sandbox.tiktok.server import TikTokEmulator

from .. import dbq
from .test_google_pipeline import DIRECT, MANAGED, _secrets, write_config  # noqa: F401
from .test_tiktok_pipeline import LA
from .test_tiktok_pipeline import write_config as tt_config


@pytest.fixture
async def gemu60() -> AsyncIterator[GoogleAdsEmulator]:
    """The direct customer counts purchases with a 60-day click window, the other with 30."""
    emu = GoogleAdsEmulator(customers=[
        SandboxCustomer(DIRECT, "Pinecrest Outfitters (sandbox)", conversion_window_days=60),
        SandboxCustomer(MANAGED, "Harbor Roasters (sandbox)", currency="EUR",
                        time_zone="Europe/Berlin", manager_id="5559999999"),
    ])
    async with emu.serve():
        yield emu


async def test_google_rows_carry_the_conversion_window(
    tmp_path: Path, gemu60: GoogleAdsEmulator, db_url: str
) -> None:
    """Google ad rows carry the click window of the actions counted in "Conversions"."""
    loaded = write_config(tmp_path, gemu60, db_url)
    with anyio.fail_after(30):
        await run_once(loaded, metrics=Metrics())
    got = dbq.rows(loaded, "SELECT account_id, attribution_window, COUNT(*) FROM ad_data"
                   " GROUP BY account_id, attribution_window ORDER BY account_id")
    assert [(a, w) for a, w, _ in got] == [(DIRECT, "60d_click"), (MANAGED, "30d_click")]
    assert all(n > 0 for *_, n in got)


async def test_tiktok_rows_carry_each_ad_groups_windows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    """TikTok ad rows carry their ad group's click/view windows (7d_click_1d_view, ...)."""
    monkeypatch.setenv("TT_TOKEN", "tt-token-0123456789")
    emu = TikTokEmulator()
    async with emu.serve():
        loaded = load_config(tt_config(tmp_path, emu.base_url, [LA], db=db_url))
        with anyio.fail_after(30):
            await run_once(loaded, metrics=Metrics())
    data = emu.data(LA)
    group_of = {ad.id: ad.adgroup for ad in data.ads}
    spelled = {("SEVEN_DAYS", "ONE_DAY"): "7d_click_1d_view", ("ONE_DAY", "OFF"): "1d_click",
               ("TWENTY_EIGHT_DAYS", "SEVEN_DAYS"): "28d_click_7d_view"}
    got = dbq.rows(loaded, "SELECT DISTINCT ad_id, attribution_window FROM ad_data"
                   " WHERE platform = 'tiktok'")
    assert got
    for ad_id, window in got:
        assert window == spelled[ATTRIBUTION[group_of[ad_id] % len(ATTRIBUTION)]]
    assert len({w for _, w in got}) > 1
