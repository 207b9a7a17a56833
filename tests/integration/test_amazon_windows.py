"""Amazon's attribution window follows the profile's account type, as the console does."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio

from within_daemon.config import load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox.amazon.server import AmazonEmulator

from .. import dbq
from .test_amazon_pipeline import CA, LOOKBACK, US, config_text, emu  # noqa: F401

MX = "3000000003"  # the emulator's vendor profile


async def test_sellers_count_7_days_and_vendors_14(
    emu: AmazonEmulator, tmp_path: Path, db_url: str  # noqa: F811
) -> None:
    """With no window configured, a seller's rows use 7-day and a vendor's 14-day columns."""
    text = config_text(emu, db_url).replace('attribution_window = "14d"\n', "")
    path = tmp_path / "within.toml"
    path.write_text(text.replace(f'"{CA}"', f'"{MX}"'))
    loaded = load_config(path)
    with anyio.fail_after(30):
        ads, _ = await run_once(loaded, metrics=Metrics())
    assert ads.status == "success", ads
    end = datetime.now(ZoneInfo("America/Los_Angeles")).date() - timedelta(days=1)
    since, until = (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()
    for pid, window in ((US, "7d"), (MX, "14d")):
        # Sponsored Products rows (ad ids of the SP ads) use the account type's window.
        sp_ids = [str(a.id) for a in emu.data(pid).ads]
        marks = ", ".join("?" * len(sp_ids))
        want = emu.expected_totals(pid, since, until, window=window)
        [(conv, rev, windows)] = dbq.rows(
            loaded, "SELECT SUM(conversions), SUM(revenue), COUNT(DISTINCT attribution_window)"
            f" FROM ad_data WHERE account_id = ? AND ad_id IN ({marks})", pid, *sp_ids)
        assert (conv, round(rev, 2), windows) == (want["purchases"], want["sales"], 1)
        assert dbq.rows(loaded, "SELECT DISTINCT attribution_window FROM ad_data"
                        f" WHERE account_id = ? AND ad_id IN ({marks})", pid, *sp_ids) == [
            (window,)]
    assert emu.expected_totals(MX, since, until, "14d")["purchases"] > \
        emu.expected_totals(MX, since, until, "7d")["purchases"]


async def test_account_totals_include_brands_and_display(
    emu: AmazonEmulator, tmp_path: Path, db_url: str  # noqa: F811
) -> None:
    """account_data equals the console's totals: Sponsored Products, Brands and Display."""
    path = tmp_path / "within.toml"
    path.write_text(config_text(emu, db_url).replace('attribution_window = "14d"\n', ""))
    loaded = load_config(path)
    with anyio.fail_after(30):
        _, accounts = await run_once(loaded, metrics=Metrics())
    assert accounts.status == "success", accounts
    end = datetime.now(ZoneInfo("America/Los_Angeles")).date() - timedelta(days=1)
    since, until = (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()
    for pid in (US, CA):
        want = emu.console_totals(pid, since, until, window="7d")
        [(spend, imp, clicks, conv, rev)] = dbq.rows(
            loaded, "SELECT SUM(daily_spend), SUM(daily_impressions), SUM(daily_clicks),"
            " SUM(daily_conversions), SUM(daily_revenue) FROM account_data"
            " WHERE account_id = ?", pid)
        assert (round(spend, 2), imp, clicks, conv, round(rev, 2)) == (
            want["spend"], want["impressions"], want["clicks"], want["purchases"],
            want["sales"])
        assert want["spend"] > emu.expected_totals(pid, since, until)["spend"]


async def test_brands_and_display_ads_are_loaded_with_sb_headlines(
    emu: AmazonEmulator, tmp_path: Path, db_url: str  # noqa: F811
) -> None:
    """SB and SD ad rows load (14-day window), SB ones with headlines; ad sums = totals."""
    path = tmp_path / "within.toml"
    path.write_text(config_text(emu, db_url).replace('attribution_window = "14d"\n', ""))
    loaded = load_config(path)
    with anyio.fail_after(30):
        ads, accounts = await run_once(loaded, metrics=Metrics())
    assert (ads.status, accounts.status) == ("success", "success")
    data = emu.data(US)
    sb_ids = {str(a.id) for a in data.other_ads["sb"]}
    sd_ids = {str(a.id) for a in data.other_ads["sd"]}
    rows = dbq.rows(loaded, "SELECT ad_id, headline, landing_page_url, attribution_window"
                    " FROM ad_data WHERE account_id = ?", US)
    by_id = {r[0]: r[1:] for r in rows}
    assert sb_ids <= set(by_id) and sd_ids <= set(by_id)
    for ad in data.other_ads["sb"]:
        headline, url, window = by_id[str(ad.id)]
        assert headline == data.sb_creative(ad)["creative"]["headline"]
        assert url and window == "14d"
    assert {by_id[i][2] for i in sd_ids} == {"14d"}
    [(ad_spend, ad_conv)] = dbq.rows(
        loaded, "SELECT SUM(spend), SUM(conversions) FROM ad_data WHERE account_id = ?", US)
    [(acct_spend, acct_conv)] = dbq.rows(
        loaded, "SELECT SUM(daily_spend), SUM(daily_conversions) FROM account_data"
        " WHERE account_id = ?", US)
    assert (round(ad_spend, 2), ad_conv) == (round(acct_spend, 2), acct_conv)
