"""Facebook rows the Graph API hides by default: deleted and archived ads, unrequested rankings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import msgspec
import pytest

from within_daemon.config import FacebookConfig, LoadedConfig
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator, SandboxAccount
from within_daemon.sources import FacebookAdsConnector

from .. import dbq
from ..conftest import FAST_FACEBOOK, TOKEN

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-05")


@pytest.fixture
def sandbox_accounts() -> list[SandboxAccount]:
    """One account whose last ad was deleted and the one before it archived."""
    return [SandboxAccount.with_ads(ACC, "Churned Ads", 10, active_from="2024-01-01",
                                    deleted_ads=1, archived_ads=1)]


@pytest.fixture
async def conn(emulator: FacebookEmulator) -> AsyncIterator[FacebookAdsConnector]:
    cfg = FacebookConfig(base_url=emulator.base_url, **FAST_FACEBOOK)
    async with FacebookAdsConnector(ACC, TOKEN, 60000, config=cfg) as c:
        yield c


def removed_ids(emu: FacebookEmulator) -> set[str]:
    return {a.id for a in emu.data(ACC).ads
            if a.graph["effective_status"] in ("DELETED", "ARCHIVED")}


async def rows_of(conn: FacebookAdsConnector, *, use_async: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with anyio.fail_after(20):
        async for page in conn.iter_ad_rows(RANGE, use_async=use_async):
            rows.extend(page)
    return rows


async def test_emulator_hides_removed_ads_without_the_filter(emulator: FacebookEmulator) -> None:
    """Unfiltered, the emulator leaves removed ads out of ad rows; the account row keeps them."""
    assert len(removed_ids(emulator)) == 2
    assert emulator.expected_rows(ACC, *RANGE, statuses=frozenset()) == 8 * 5
    assert emulator.expected_rows(ACC, *RANGE) == 10 * 5
    assert emulator.expected_rows(ACC, *RANGE, level="account") == 5


@pytest.mark.parametrize("use_async", [False, True])
async def test_ad_rows_include_deleted_and_archived_ads(
    emulator: FacebookEmulator, conn: FacebookAdsConnector, use_async: bool,
) -> None:
    """Sync and async ad-level pulls return every ad, so ad sums equal the account totals."""
    rows = await rows_of(conn, use_async=use_async)
    assert removed_ids(emulator) <= {r["ad_id"] for r in rows}
    assert len(rows) == emulator.expected_rows(ACC, *RANGE)
    want = emulator.expected_totals(ACC, *RANGE)
    assert sum(int(r["impressions"]) for r in rows) == want["impressions"]
    assert round(sum(float(r["spend"]) for r in rows), 2) == want["spend"]


async def test_ads_listing_includes_removed_ads(
    emulator: FacebookEmulator, conn: FacebookAdsConnector,
) -> None:
    """The ads listing asks for every effective status, so removed ads keep their creatives."""
    with anyio.fail_after(20):
        ads = [ad async for page in conn.iter_ads(limit=4) for ad in page]
    assert len(ads) == 10
    assert removed_ids(emulator) <= {a["id"] for a in ads}


async def test_ranking_fields_are_requested(conn: FacebookAdsConnector) -> None:
    """Ad rows carry the three ranking labels (Graph returns only requested fields)."""
    rows = await rows_of(conn, use_async=False)
    for name in ("quality_ranking", "engagement_rate_ranking", "conversion_rate_ranking"):
        assert all(isinstance(r.get(name), str) for r in rows), name


async def test_drift_check_stays_quiet_with_removed_ads(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Loaded ad rows of an account with removed ads reconcile with its account totals."""
    acc_task = {"name": "acc", "pipeline": "AccountDataPipeline", "lookback_days": 5}
    await run_once(make_config(tasks=[acc_task]), metrics=Metrics())
    loaded = make_config(tasks=[{"name": "ads", "pipeline": "AdDataPipeline",
                                 "lookback_days": 5}])
    [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    [(score, issues)] = dbq.rows(
        loaded, "SELECT score, issues_json FROM quality_reports WHERE account_id = ? AND "
                "dimension = 'consistency'", ACC)
    assert score == 1.0, msgspec.json.decode(issues)
    [(n,)] = dbq.rows(loaded, "SELECT COUNT(DISTINCT ad_id) FROM ad_data")
    assert n == 10
    [(scored,)] = dbq.rows(loaded, "SELECT COUNT(*) FROM ad_data WHERE quality_score IS NOT NULL")
    assert scored > 0
