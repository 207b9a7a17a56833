"""Enrichment and post-load analytics through the real engine, emulator and image server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from within_daemon.config import LoadedConfig, sqlite_path
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator, SandboxAccount
from within_daemon.sandbox.images import ImageServer
from within_daemon.transforms import DataEnricher
from within_daemon.transforms.enrichment.history import rolling_performance

from .. import dbq

ALL = ["sentiment", "topic_classification", "entity_extraction", "image_analysis",
       "historical_performance", "competitive_analysis", "audience_insights"]


@pytest.fixture
async def images() -> AsyncIterator[ImageServer]:
    server = ImageServer()
    async with server.serve():
        yield server


@pytest.fixture
async def emulator(sandbox_accounts: list[SandboxAccount],
                   images: ImageServer) -> AsyncIterator[FacebookEmulator]:
    """The Facebook emulator whose creatives point at the local image server."""
    emu = FacebookEmulator(sandbox_accounts, job_step=50, image_base_url=images.url("/"))
    async with emu.serve():
        yield emu


@pytest.fixture
def make_config(make_config: Callable[..., LoadedConfig]) -> Callable[..., LoadedConfig]:
    """The shared config, opted in to images on loopback (where the image server runs)."""

    def make(**kw: Any) -> LoadedConfig:
        loaded = make_config(**kw)
        cfg = loaded.config
        en = msgspec.structs.replace(cfg.enrichment, image_allow_loopback=True)
        return msgspec.structs.replace(loaded, config=msgspec.structs.replace(
            cfg, enrichment=en))

    return make


def q(loaded: LoadedConfig, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return dbq.rows(loaded, sql, *args)


def task(**kw: Any) -> dict[str, Any]:
    return {"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 10, "enrich": ALL,
            **kw}


async def test_enrichments_land_in_typed_columns(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """One creative row per ad with sentiment, topic, entities and image columns filled."""
    loaded = make_config(tasks=[task()])
    metrics = Metrics()
    [res] = await run_once(loaded, metrics=metrics)
    assert res.status == "success"
    assert q(loaded, "SELECT COUNT(*) FROM ad_creative_features") == [(20,)]
    assert q(loaded, "SELECT COUNT(*) FROM ad_creative_features WHERE image_status = 'ok' "
                     "AND image_width > 0 AND sentiment_status IS NOT NULL "
                     "AND topic IS NOT NULL") == [(20,)]
    # Typed, not a blob: the database reports the stored types.
    if dbq.is_postgres(loaded):
        assert q(loaded, "SELECT DISTINCT data_type FROM information_schema.columns WHERE "
                         "table_name = 'ad_creative_features' AND column_name IN "
                         "('image_brightness', 'topic_confidence')") == [("double precision",)]
    else:
        assert q(loaded, "SELECT DISTINCT typeof(image_brightness), typeof(topic_confidence) "
                         "FROM ad_creative_features") == [("real", "real")]
    # Headlines like "Summer sale: 30% off ..." give a discount entity.
    pct = q(loaded, "SELECT MAX(discount_percent_max) FROM ad_creative_features")[0][0]
    assert pct is not None and pct >= 10


async def test_history_matches_a_recomputation(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """ad_history equals rolling_performance over the loaded rows, using only prior days."""
    loaded = make_config(tasks=[task()])
    await run_once(loaded, metrics=Metrics())
    cols = ("ad_id", "date", "impressions", "clicks", "spend", "conversions", "revenue")
    rows = [dict(zip(cols, r, strict=True)) for r in q(
        loaded, f"SELECT {', '.join(cols)} FROM ad_data WHERE account_id = '1000000001'")]
    last = max(r["date"] for r in rows)
    ad = rows[0]["ad_id"]
    [want] = rolling_performance(rows, [(ad, last)])
    [(ctr7, days7, acct28)] = q(loaded, "SELECT ad_ctr_7d, ad_days_7d, acct_roas_28d "
                                        "FROM ad_history WHERE ad_id = ? AND date = ?", ad, last)
    assert days7 == want["ad_days_7d"] == 7
    assert ctr7 == pytest.approx(want["ad_ctr_7d"])
    assert acct28 == pytest.approx(want["acct_roas_28d"])
    first = min(r["date"] for r in rows)
    assert q(loaded, "SELECT ad_days_7d, ad_ctr_7d FROM ad_history WHERE ad_id = ? "
                     "AND date = ?", ad, first) == [(0, None)]


async def test_rollups_equal_ad_sums_and_are_idempotent(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Daily account rollups equal the summed ad rows; a re-run leaves them unchanged."""
    loaded = make_config(tasks=[task(enrich=[])])
    await run_once(loaded, metrics=Metrics())
    # CAST AS NUMERIC: PostgreSQL rounds to places only in NUMERIC; SQLite accepts it too.
    sums = "SELECT account_id, date, SUM(impressions), ROUND(CAST(SUM(spend) AS NUMERIC), 2) " \
           "FROM ad_data GROUP BY 1, 2 ORDER BY 1, 2"
    roll = "SELECT account_id, period_start, impressions, ROUND(CAST(spend AS NUMERIC), 2) " \
           "FROM rollup_account_daily ORDER BY 1, 2"
    assert q(loaded, roll) == q(loaded, sums)
    before = q(loaded, "SELECT * FROM rollup_account_monthly ORDER BY 1, 2, 3, 4")
    await run_once(loaded, metrics=Metrics())
    assert q(loaded, "SELECT * FROM rollup_account_monthly ORDER BY 1, 2, 3, 4") == before
    assert q(loaded, roll) == q(loaded, sums)


async def test_quality_report_per_account_and_gauges(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Each run stores six dimension scores per account and exports the worst per platform."""
    loaded = make_config(tasks=[task(enrich=[])])
    metrics = Metrics()
    await run_once(loaded, metrics=metrics)
    assert q(loaded, "SELECT COUNT(*), COUNT(DISTINCT dimension), MIN(score) "
                     "FROM quality_reports") == [(12, 6, 1.0)]
    got = metrics.registry.get_sample_value(
        "within_data_quality_score", {"platform": "facebook", "dimension": "uniqueness"})
    assert got == 1.0


async def test_quality_flags_ad_rows_that_miss_the_account_totals(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Ad rows lost to quarantine make ad sums drift from the account's own totals."""
    acc_task = {"name": "acc", "pipeline": "AccountDataPipeline", "lookback_days": 10}
    await run_once(make_config(tasks=[acc_task]), metrics=Metrics())
    emulator.set_fault("1000000002", "bad_rows", every=2, mode="negative_spend")
    loaded = make_config(tasks=[task(enrich=[])])
    metrics = Metrics()
    await run_once(loaded, metrics=metrics)
    assert q(loaded, "SELECT COUNT(*) FROM quarantine") == [(40,)]  # half of 8 ads x 10 days
    [(score, passed, issues)] = q(
        loaded, "SELECT score, passed, issues_json FROM quality_reports WHERE "
                "account_id = '1000000002' AND dimension = 'consistency'")
    assert score == 0.0 and passed == 0 and "drift" in issues
    [(healthy,)] = q(loaded, "SELECT score FROM quality_reports WHERE "
                             "account_id = '1000000001' AND dimension = 'consistency'")
    assert healthy == 1.0
    assert metrics.registry.get_sample_value(
        "within_data_quality_score", {"platform": "facebook", "dimension": "consistency"}) == 0.0


async def test_broken_image_is_a_recorded_failure(
    emulator: FacebookEmulator, images: ImageServer, make_config: Callable[..., LoadedConfig],
) -> None:
    """An image that 404s gives image_status 'not_found'; the run still succeeds."""
    ad = emulator.data("1000000001").ads[0].graph["id"]
    images.set(f"/img/{ad}.jpg", "404")
    loaded = make_config(tasks=[task(enrich=["image_analysis"])])
    [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    assert q(loaded, "SELECT image_status FROM ad_creative_features WHERE ad_id = ?", ad) == [
        ("not_found",)]


async def test_validation_rules_from_config(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig], tmp_path: Path,
) -> None:
    """A [validation.ad.<field>] rule in the config replaces the built-in one."""
    path = tmp_path / "within.toml"
    loaded = make_config(tasks=[task(enrich=[])])
    path.write_text(path.read_text() + "\n[validation.ad.headline]\ntype = \"string\"\n"
                    "max_length = 12\n")
    from within_daemon.config import load_config

    loaded = load_config(path)
    [res] = await run_once(loaded, metrics=Metrics())
    assert res.quarantined > 0
    reason = q(loaded, "SELECT reason FROM quarantine LIMIT 1")[0][0]
    assert "headline" in reason


def test_seed_enricher_api() -> None:
    """DataEnricher().enrich_ad_data(data, enrich_with=[...]) adds typed columns."""
    data = [{"platform": "facebook", "account_id": "1", "ad_id": "a", "date": "2024-01-02",
             "headline": "Summer sale: 30% off running shoes", "description": "Free shipping",
             "cta": "SHOP_NOW", "landing_page_url": "https://shop.example/shoes",
             "image_url": None, "impressions": 100, "clicks": 5, "spend": 10.0,
             "conversions": 1, "revenue": 30.0}]
    out = DataEnricher().enrich_ad_data(data, enrich_with=["sentiment", "topic_classification",
                                                           "entity_extraction"])
    assert out[0]["topic"] == "apparel" or out[0]["topic"] == "sports_outdoors"
    assert out[0]["discount_percent_max"] == 30
    assert out[0]["has_free_shipping"] in (1, True)
    assert "sentiment_compound" in out[0] and "topic" not in data[0]
    with pytest.raises(ValueError, match="aenrich_ad_data"):
        DataEnricher().enrich_ad_data(data, enrich_with=["image_analysis"])
    with pytest.raises(ValueError, match="through the daemon"):
        DataEnricher().enrich_ad_data(data, enrich_with=["audience_insights"])
    with pytest.raises(ValueError, match="unknown enrichments"):
        DataEnricher().enrich_ad_data(data, enrich_with=["horoscope"])


async def test_quality_command_reads_a_database(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """`within-daemon quality --db FILE` prints one line per account with six scores."""
    loaded = make_config(tasks=[task(enrich=[])])
    await run_once(loaded, metrics=Metrics())
    url = loaded.config.database.url
    db = url if dbq.is_postgres(loaded) else sqlite_path(url, loaded.base_dir)
    out = subprocess.run([sys.executable, "-m", "within_daemon", "quality", "--db", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("facebook/")]
    assert len(lines) == 2 and all(ln.count("1.000") == 6 for ln in lines)


async def test_audience_breakdowns_and_summary(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Audience rows per ad-day sum to the ad rows; each ad gets a top band and gender split."""
    loaded = make_config(tasks=[task(enrich=["audience_insights"])])
    [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success"
    assert q(loaded, "SELECT COUNT(*) FROM audience_data") == [(20 * 10 * 18,)]
    diff = q(loaded, "SELECT COUNT(*) FROM (SELECT a.ad_id, a.date, SUM(a.impressions) AS i "
                     "FROM audience_data a GROUP BY 1, 2) s JOIN ad_data d ON d.ad_id = s.ad_id "
                     "AND d.date = s.date WHERE d.impressions != s.i")
    assert diff == [(0,)]
    rows = q(loaded, "SELECT top_age_band, female_share + male_share + unknown_gender_share "
                     "FROM ad_audience_summary")
    assert len(rows) == 20
    assert all(band in ("18-24", "25-34", "35-44", "45-54", "55-64", "65+") for band, _ in rows)
    assert all(abs(total - 1.0) < 1e-9 for _, total in rows)
