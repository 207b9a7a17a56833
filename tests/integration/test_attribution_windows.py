"""attribution_window holds what each platform counted conversions with (Google, TikTok)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.google import GoogleAdsEmulator
from within_daemon.sandbox.google_data import SandboxCustomer

from .. import dbq
from .test_google_pipeline import DIRECT, MANAGED, _secrets, write_config  # noqa: F401


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
