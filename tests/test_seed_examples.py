"""The seed document's Python examples, as it prints them, against the emulators (issue 16).

Each ``seed_*`` function below is one example of ``etl-readme.md`` with only the import
prefix (``app.etl`` -> ``within_daemon``) and the credentials changed: the Facebook
connector gets the emulator's ``base_url`` (its account id and token are the seed's own:
the emulator serves account ``123456789`` and takes any token), and the pipeline reads a
config (``$WITHIN_CONFIG``) that points at the emulator. Names the seed leaves undefined
(``raw_ad_data``, ``processed_data``, ``api_endpoint`` ...) are parameters. The ``aseed_*``
twins are the same code for async code (``await ...arun`` / ``aget_*``).

The blocking spelling runs in a worker thread (no running event loop there) while the
emulator serves from the test's loop, and once in a subprocess as a plain script.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import anyio
import pytest
import requests
from anyio.abc import SocketStream

from within_daemon.config import FacebookConfig, LoadedConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines import AdDataPipeline
from within_daemon.platform_config import GoogleConfig
from within_daemon.sandbox import FacebookEmulator, SandboxAccount
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sources import FacebookAdsConnector
from within_daemon.sources.google.connector import DEVELOPER_PAUSES, GoogleAdsConnector
from within_daemon.tasks import DEFAULT_ENRICHMENTS, registry
from within_daemon.transforms import CrossPlatformNormalizer
from within_daemon.utils import retry_with_backoff
from within_daemon.utils.sync import BlockingCallInEventLoopError

from . import dbq
from .conftest import fb_account, write_config

SEED_IDS = ("123456789", "987654321")
SEED_RANGE = ("2023-01-01", "2023-03-31")
ADS = {"123456789": 4, "987654321": 3}
ROOT = Path(__file__).resolve().parent.parent


# -- the seed's examples, blocking spelling ------------------------------------------------


def seed_connector(base_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Data Source Connectors (credentials: the emulator's base_url)."""
    from within_daemon.sources import FacebookAdsConnector

    # Initialize connector
    connector = FacebookAdsConnector(
        account_id="123456789",
        access_token="your_access_token",
        rate_limit=100,  # requests per minute
        base_url=base_url,
    )

    # Fetch ad data
    ads = connector.get_ads(
        date_range=("2023-01-01", "2023-03-31"),
        fields=["id", "name", "status", "creative", "insights"],
        limit=1000
    )

    # Fetch account data
    account_stats = connector.get_account_stats(
        date_range=("2023-01-01", "2023-03-31"),
        metrics=["spend", "impressions", "clicks", "conversions"]
    )
    return ads, account_stats


def seed_transformation(raw_ad_data: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Data Transformation."""
    from within_daemon.transforms import DataEnricher, DataNormalizer

    # Initialize normalizer
    normalizer = DataNormalizer()

    # Normalize platform-specific data
    normalized_data = normalizer.normalize_ad_data(
        data=raw_ad_data,
        platform="facebook"
    )

    # Initialize enricher
    enricher = DataEnricher()

    # Enrich with additional features
    enriched_data = enricher.enrich_ad_data(
        data=normalized_data,
        enrich_with=["sentiment", "topic_classification", "historical_performance"]
    )
    return normalized_data, enriched_data


def seed_validation(normalized_data: Any) -> dict[str, Any]:
    """Data Validation."""
    from within_daemon.transforms import DataValidator

    # Initialize validator
    validator = DataValidator()

    # Define validation schema
    ad_data_schema = {
        "ad_id": {"type": "string", "required": True},
        "headline": {"type": "string", "required": True, "max_length": 200},
        "description": {"type": "string", "required": False},
        "platform": {"type": "string", "required": True, "allowed": ["facebook", "google", "amazon", "tiktok"]},  # noqa: E501
        "impressions": {"type": "integer", "required": True, "min": 0},
        "clicks": {"type": "integer", "required": True, "min": 0},
        "ctr": {"type": "float", "required": False, "min": 0, "max": 1},
        "spend": {"type": "float", "required": True, "min": 0},
        "conversions": {"type": "integer", "required": False, "min": 0},
        "start_date": {"type": "date", "required": True},
        "end_date": {"type": "date", "required": True}
    }

    # Validate data
    validation_result = validator.validate(data=normalized_data, schema=ad_data_schema)

    if not validation_result["valid"]:
        for error in validation_result["errors"]:
            print(f"Error in {error['field']}: {error['message']}")
    return validation_result


def seed_pipeline() -> dict[str, Any]:
    """ETL Pipelines (credentials: the config file $WITHIN_CONFIG names)."""
    from within_daemon.pipelines import AdDataPipeline

    # Initialize pipeline
    pipeline = AdDataPipeline(
        source_platform="facebook",
        destination="feature_store",
        validate=True,
        enrich=True
    )

    # Run pipeline
    result = pipeline.run(
        account_id="123456789",
        date_range=("2023-01-01", "2023-03-31"),
        batch_size=1000
    )

    # Get pipeline result
    if result["success"]:
        print(f"Processed {result['records_processed']} records")
        print(f"Pipeline took {result['duration_seconds']} seconds")
    else:
        print(f"Pipeline failed: {result['error']}")
    return result


def seed_scheduled_task() -> None:
    """Scheduled Tasks."""
    from within_daemon.tasks import register_daily_task

    # Register a daily ETL task
    register_daily_task(
        task_name="facebook_ads_daily",
        pipeline="AdDataPipeline",
        pipeline_args={
            "source_platform": "facebook",
            "destination": "feature_store",
            "validate": True,
            "enrich": True
        },
        account_ids=["123456789", "987654321"],
        run_time="01:00",  # 1:00 AM
        lookback_days=7
    )


def seed_cross_platform(facebook_data: Any, google_data: Any) -> list[dict[str, Any]]:
    """Cross-Platform Normalization."""
    from within_daemon.transforms import CrossPlatformNormalizer

    # Initialize normalizer
    normalizer = CrossPlatformNormalizer()

    # Normalize data from different platforms
    normalized_facebook = normalizer.normalize(facebook_data, platform="facebook")
    normalized_google = normalizer.normalize(google_data, platform="google")

    # Combine into a unified dataset
    unified_data = normalizer.combine([normalized_facebook, normalized_google])
    return unified_data


def seed_error_handling() -> Callable[[str, dict[str, str]], Any]:
    """Error Handling: the decorated function, for the caller to call."""
    from within_daemon.utils import retry_with_backoff

    @retry_with_backoff(
        max_retries=3,
        backoff_factor=2,
        errors=(ConnectionError, TimeoutError)
    )
    def fetch_api_data(api_endpoint, params):  # type: ignore[no-untyped-def]
        """Fetch data from API with retry logic."""
        response = requests.get(api_endpoint, params=params)
        response.raise_for_status()
        return response.json()
    return fetch_api_data  # type: ignore[no-any-return]


def seed_quality(processed_data: Any) -> dict[str, Any]:
    """Data Quality Monitoring."""
    from within_daemon.transforms import DataQualityMonitor

    # Initialize monitor
    monitor = DataQualityMonitor()

    # Check data quality
    quality_report = monitor.check_quality(
        data=processed_data,
        metrics=["completeness", "accuracy", "consistency"]
    )

    # Log quality issues
    if quality_report["issues"]:
        for issue in quality_report["issues"]:
            print(f"Quality issue: {issue['type']} in {issue['field']}, {issue['description']}")
    return quality_report


# -- their coroutine twins, for async code ---------------------------------------------------


async def aseed_connector(base_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The connector example in async code: ``async with`` and ``await aget_*``."""
    async with FacebookAdsConnector(
        account_id="123456789",
        access_token="your_access_token",
        rate_limit=100,  # requests per minute
        base_url=base_url,
    ) as connector:
        ads = await connector.aget_ads(
            date_range=("2023-01-01", "2023-03-31"),
            fields=["id", "name", "status", "creative", "insights"],
            limit=1000
        )
        account_stats = await connector.aget_account_stats(
            date_range=("2023-01-01", "2023-03-31"),
            metrics=["spend", "impressions", "clicks", "conversions"]
        )
    return ads, account_stats


async def aseed_pipeline() -> dict[str, Any]:
    """The pipeline example in async code: ``await pipeline.arun(...)``."""
    pipeline = AdDataPipeline(
        source_platform="facebook",
        destination="feature_store",
        validate=True,
        enrich=True
    )
    result = await pipeline.arun(
        account_id="123456789",
        date_range=("2023-01-01", "2023-03-31"),
        batch_size=1000
    )
    if result["success"]:
        print(f"Processed {result['records_processed']} records")
    else:
        print(f"Pipeline failed: {result['error']}")
    return result


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    registry.clear()
    yield
    registry.clear()
    DEVELOPER_PAUSES.clear()


@pytest.fixture
async def seed_emu() -> AsyncIterator[FacebookEmulator]:
    """The seed's two accounts, with ads since 2023-01-01 (the seed's date range)."""
    emu = FacebookEmulator(
        [SandboxAccount.with_ads(a, f"Seed {a}", n, active_from="2023-01-01")
         for a, n in ADS.items()],
        job_step=100,  # an async report is done at its first poll
    )
    async with emu.serve():
        yield emu


def _seed_config(tmp_path: Path, emu: FacebookEmulator, db: str,
                 monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    path = write_config(tmp_path, base_url=emu.base_url, db=db,
                        accounts=[fb_account(a) for a in SEED_IDS], tasks=[])
    monkeypatch.setenv("WITHIN_CONFIG", str(path))
    return load_config(path)


@pytest.fixture
def seed_config(tmp_path: Path, seed_emu: FacebookEmulator, db_url: str,
                monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    """$WITHIN_CONFIG names a config with the seed's accounts on the emulator (both DBs)."""
    return _seed_config(tmp_path, seed_emu, db_url, monkeypatch)


@pytest.fixture
def seed_sqlite_config(tmp_path: Path, seed_emu: FacebookEmulator,
                       monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    return _seed_config(tmp_path, seed_emu, f"sqlite:///{tmp_path}/within.db", monkeypatch)


async def fast_ads(emu: FacebookEmulator) -> list[dict[str, Any]]:
    """What the connector example's ``get_ads`` returns, without its 100 requests/minute."""
    cfg = FacebookConfig(poll_interval_seconds=0.01)
    async with FacebookAdsConnector("123456789", "your_access_token", rate_limit=60000,
                                    base_url=emu.base_url, config=cfg) as connector:
        with anyio.fail_after(30):
            return await connector.aget_ads(date_range=SEED_RANGE, fields=[
                "id", "name", "status", "creative", "insights"], limit=1000)


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking seed code in a worker thread: no event loop runs there."""
    with anyio.fail_after(120):
        # abandon_on_cancel: a hung call fails the test at the deadline instead of holding it.
        return await anyio.to_thread.run_sync(lambda: fn(*args), abandon_on_cancel=True)


def scalar(loaded: LoadedConfig, sql: str, *args: Any) -> Any:
    return dbq.scalar(loaded, sql, *args)


# -- Data Source Connectors -----------------------------------------------------------------


def check_connector_result(emu: FacebookEmulator, ads: list[dict[str, Any]],
                           account_stats: list[dict[str, Any]]) -> None:
    assert len(ads) == ADS["123456789"]
    assert all({"id", "name", "status", "creative", "insights"} <= set(ad) for ad in ads)
    assert all(ad["creative"].get("title") for ad in ads)
    rows = [r for ad in ads for r in ad["insights"]]
    assert len(rows) == emu.expected_rows("123456789", *SEED_RANGE) == 4 * 90
    assert len(account_stats) == 90
    assert account_stats[0]["date_start"] == "2023-01-01"
    assert {"spend", "impressions", "clicks", "actions"} <= set(account_stats[0])
    total = emu.expected_totals("123456789", *SEED_RANGE)
    assert sum(int(r["impressions"]) for r in account_stats) == total["impressions"]


async def test_connector_example_blocking(seed_emu: FacebookEmulator) -> None:
    """get_ads / get_account_stats return lists in code without an event loop."""
    ads, account_stats = await in_thread(seed_connector, seed_emu.base_url)
    check_connector_result(seed_emu, ads, account_stats)


async def test_connector_example_async(seed_emu: FacebookEmulator) -> None:
    """aget_ads / aget_account_stats are the same calls for async code."""
    with anyio.fail_after(60):
        ads, account_stats = await aseed_connector(seed_emu.base_url)
    check_connector_result(seed_emu, ads, account_stats)


async def test_blocking_calls_inside_a_loop_name_their_async_twin(
    seed_emu: FacebookEmulator, seed_sqlite_config: LoadedConfig,
) -> None:
    """A blocking seed call inside a running loop raises at once (no deadlock, no request)."""
    connector = FacebookAdsConnector(account_id="123456789", access_token="t",
                                     base_url=seed_emu.base_url)
    with anyio.fail_after(5):
        with pytest.raises(BlockingCallInEventLoopError, match=r"await .*aget_ads"):
            connector.get_ads(date_range=SEED_RANGE)
        with pytest.raises(BlockingCallInEventLoopError, match=r"aget_account_stats"):
            connector.get_account_stats(date_range=SEED_RANGE)
        with pytest.raises(BlockingCallInEventLoopError, match=r"await AdDataPipeline.arun"):
            AdDataPipeline(destination="feature_store", enrich=True).run(
                account_id="123456789", date_range=SEED_RANGE)
    assert seed_emu.stats.count() == 0


# -- Data Transformation, Data Validation, Data Quality Monitoring ------------------------


async def test_transform_validate_and_quality_examples(
    seed_emu: FacebookEmulator, capsys: pytest.CaptureFixture[str],
) -> None:
    """get_ads output normalizes, enriches, validates and is checked in the seed's shapes."""
    ads = await fast_ads(seed_emu)
    normalized_data, enriched_data = seed_transformation(raw_ad_data=ads)
    assert len(normalized_data) == 4 * 90
    assert {r["ad_id"] for r in normalized_data} == {ad["id"] for ad in ads}
    assert all(r["headline"] and r["platform"] == "facebook" for r in normalized_data)
    first = enriched_data[0]
    assert {"sentiment_compound", "topic", "ad_ctr_7d"} <= set(first), sorted(first)

    validation_result = seed_validation(normalized_data)
    assert set(validation_result) >= {"valid", "errors"}
    # The emulator's ads run without an end date; the seed's schema requires one.
    ongoing = sum(1 for r in normalized_data if r["end_date"] is None)
    assert validation_result["valid"] is (ongoing == 0)
    assert all(isinstance(e["field"], str) and e["message"] for e in validation_result["errors"])
    assert sum(e["field"] == "end_date" for e in validation_result["errors"]) == ongoing
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(validation_result["errors"])
    assert all(line.startswith("Error in ") for line in printed)

    quality_report = seed_quality(processed_data=enriched_data)
    assert isinstance(quality_report["issues"], list)
    for issue in quality_report["issues"]:
        assert issue["type"] in ("completeness", "accuracy", "consistency")
        assert "field" in issue and issue["description"]
    assert set(quality_report["scores"]) == {"completeness", "accuracy", "consistency"}
    # A broken record is reported in the same shape.
    bad = [{**enriched_data[0], "clicks": 10**9}]
    issues = seed_quality(processed_data=bad)["issues"]
    assert any(i["type"] == "consistency" and i["field"] == "clicks" for i in issues)
    printed = capsys.readouterr().out
    assert "Quality issue: consistency in clicks, " in printed


# -- ETL Pipelines ------------------------------------------------------------------------


def check_pipeline_result(loaded: LoadedConfig, emu: FacebookEmulator,
                          result: dict[str, Any]) -> None:
    want = emu.expected_rows("123456789", *SEED_RANGE)
    assert result["success"] is True, result["error"]
    assert result["records_processed"] == want == 360
    assert result["error"] is None and result["duration_seconds"] >= 0
    assert result["enrichments"] == list(DEFAULT_ENRICHMENTS)
    assert result["feature_rows"] > 0
    acct = "facebook:123456789"
    # Loaded, enriched, and materialized into the feature store for those rows.
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_data WHERE account_id='123456789'") == want
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_history") == want
    assert scalar(loaded, "SELECT COUNT(DISTINCT ad_id) FROM ad_creative_features") == 4
    assert scalar(loaded, "SELECT COUNT(*) FROM ad_benchmarks") == want
    assert scalar(loaded, "SELECT COUNT(*) FROM feature_online WHERE entity_key = ?", acct) > 0
    assert scalar(loaded, "SELECT COUNT(*) FROM feature_history WHERE entity_key LIKE ?",
                  acct + ":%") > 0


async def test_pipeline_example_blocking(
    seed_emu: FacebookEmulator, seed_config: LoadedConfig, capsys: pytest.CaptureFixture[str],
) -> None:
    """pipeline.run(...) returns the seed's dict; feature_store and enrich=True take effect."""
    result = await in_thread(seed_pipeline)
    check_pipeline_result(seed_config, seed_emu, result)
    assert "Processed 360 records" in capsys.readouterr().out


async def test_pipeline_example_async(
    seed_emu: FacebookEmulator, seed_sqlite_config: LoadedConfig,
) -> None:
    """The async twin, `await pipeline.arun(...)`, is the same run for async code."""
    with anyio.fail_after(120):
        result = await aseed_pipeline()
    check_pipeline_result(seed_sqlite_config, seed_emu, result)


# -- Scheduled Tasks -----------------------------------------------------------------------


async def test_scheduled_task_example_registers_and_runs(
    seed_emu: FacebookEmulator, seed_sqlite_config: LoadedConfig,
) -> None:
    """The registered task loads both accounts, enriches them and fills the feature store."""
    seed_scheduled_task()
    task = registry.tasks["facebook_ads_daily"]
    assert (task.destination, task.enrich, task.accounts) == (
        "feature_store", DEFAULT_ENRICHMENTS, SEED_IDS)
    with anyio.fail_after(120):
        [res] = await run_once(seed_sqlite_config, metrics=Metrics())
    assert res.status == "success", res
    assert {a.account_id: a.loaded for a in res.accounts} == {
        a: n * 7 for a, n in ADS.items()}
    for acct in SEED_IDS:
        assert scalar(seed_sqlite_config, "SELECT COUNT(*) FROM feature_online "
                      "WHERE entity_key = ?", f"facebook:{acct}") > 0
    assert scalar(seed_sqlite_config, "SELECT COUNT(*) FROM ad_history") == 7 * 7


async def test_feature_store_destination_fails_when_features_cannot_be_written(
    seed_emu: FacebookEmulator, seed_sqlite_config: LoadedConfig,
) -> None:
    """'feature_store' without its features is no success; 'database' only logs it."""
    import sqlite3

    loaded = seed_sqlite_config
    rng = ("2023-01-01", "2023-01-03")
    with anyio.fail_after(60):
        await AdDataPipeline(config=loaded).arun("123456789", rng)  # creates the schema
    db = sqlite3.connect(str(Path(loaded.base_dir) / "within.db"))
    # (The history is one table per feature view, feature_history a view over them.)
    db.execute("CREATE TRIGGER no_features BEFORE INSERT ON "
               "feature_view_account_rollup_account_daily "
               "BEGIN SELECT RAISE(ABORT, 'feature store disk full'); END")
    db.commit()
    db.close()
    with anyio.fail_after(60):
        fs = await AdDataPipeline(destination="feature_store", config=loaded).arun(
            "123456789", rng)
        plain = await AdDataPipeline(destination="database", config=loaded).arun(
            "123456789", rng)
    assert fs["success"] is False and fs["records_processed"] == 12
    assert "feature store was not materialized" in fs["error"]
    assert plain["success"] is True and plain["records_processed"] == 12


# -- Cross-Platform Normalization ------------------------------------------------------------


async def test_cross_platform_example(seed_emu: FacebookEmulator) -> None:
    """Facebook get_ads output and raw Google rows normalize and combine into one dataset."""
    facebook_data = await fast_ads(seed_emu)
    gemu = GoogleAdsEmulator()
    async with gemu.serve():
        conn = GoogleAdsConnector(
            "5550000001", refresh_token="rt-a", client_id="sandbox-client-id",
            client_secret="sandbox-client-secret", developer_token="sandbox-developer-token",
            config=GoogleConfig(base_url=gemu.base_url, token_url=gemu.token_url))
        google_data: list[dict[str, Any]] = []
        with anyio.fail_after(30):
            async with conn:
                async for page in conn.iter_ad_rows(("2024-03-01", "2024-03-05")):
                    google_data.extend(page)
    unified_data = seed_cross_platform(facebook_data, google_data)
    by_platform = {p: sum(r["platform"] == p for r in unified_data)
                   for p in ("facebook", "google")}
    assert by_platform == {"facebook": 4 * 90, "google": len(google_data)}
    assert len(google_data) > 0
    assert unified_data == (CrossPlatformNormalizer().normalize(facebook_data, "facebook")
                            + CrossPlatformNormalizer().normalize(google_data, "google"))


# -- Error Handling --------------------------------------------------------------------------


@asynccontextmanager
async def dropping_first(target: str) -> AsyncIterator[str]:
    """A TCP front for ``target`` that closes the first connection unanswered."""
    url = urlsplit(target)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    seen = 0

    async def pipe(a: SocketStream, b: SocketStream) -> None:
        try:
            async for chunk in a:
                await b.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            await b.send_eof()

    async def handle(client: SocketStream) -> None:
        nonlocal seen
        seen += 1
        async with client:
            if seen == 1:
                await client.receive()  # read the request, then hang up without an answer
                return
            try:
                async with await anyio.connect_tcp(host, port) as up, \
                        anyio.create_task_group() as tg:
                    tg.start_soon(pipe, client, up)
                    tg.start_soon(pipe, up, client)
            except OSError:
                # Hang up: the client sees an error (and the test fails) instead of a
                # listener that stopped accepting, where requests would wait forever.
                return

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{listener.extra(anyio.abc.SocketAttribute.local_port)}"
        tg.cancel_scope.cancel()


async def test_error_handling_example_calls_and_retries(seed_emu: FacebookEmulator) -> None:
    """The decorated plain function runs, and a dropped connection is retried (requests)."""
    fetch_api_data = seed_error_handling()
    params = {"access_token": "your_access_token", "fields": "id,name"}
    path = "/act_123456789/ads"  # base_url ends in the API version
    body = await in_thread(fetch_api_data, seed_emu.base_url + path, params)
    assert [ad["id"] for ad in body["data"]] == [ad.id for ad in seed_emu.data("123456789").ads]
    calls = seed_emu.stats.count()
    async with dropping_first(seed_emu.base_url) as front:
        body = await in_thread(fetch_api_data, front + path, params)
    assert len(body["data"]) == ADS["123456789"]
    assert seed_emu.stats.count() == calls + 1  # the dropped attempt never reached the API


async def test_error_handling_decorator_in_async_code(seed_emu: FacebookEmulator) -> None:
    """The same decorator on an async def keeps it a coroutine function that retries."""
    attempts = 0

    @retry_with_backoff(max_retries=3, backoff_factor=2, errors=(ConnectionError, TimeoutError),
                        base_delay=0.01)
    async def fetch_api_data(api_endpoint: str, params: dict[str, str]) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionResetError("first attempt dropped")
        async with aiohttp.ClientSession() as session, \
                session.get(api_endpoint, params=params) as response:
            response.raise_for_status()
            return await response.json()

    with anyio.fail_after(20):
        body = await fetch_api_data(seed_emu.base_url + "/act_123456789/ads",
                                    {"access_token": "your_access_token"})
    assert len(body["data"]) == ADS["123456789"] and attempts == 2


# -- all of it as a plain script in its own process ----------------------------------------


SCRIPT = """
import json, sys
from tests import test_seed_examples as seed

base_url = sys.argv[1]
ads, account_stats = seed.seed_connector(base_url)
normalized_data, enriched_data = seed.seed_transformation(raw_ad_data=ads)
validation_result = seed.seed_validation(normalized_data)
result = seed.seed_pipeline()
seed.seed_scheduled_task()
quality_report = seed.seed_quality(processed_data=enriched_data)
print(json.dumps({"ads": len(ads), "stats": len(account_stats),
                  "records": len(normalized_data), "valid": validation_result["valid"],
                  "pipeline": result, "issues": len(quality_report["issues"]),
                  "tasks": sorted(seed.registry.tasks)}, default=str))
"""


async def test_seed_examples_as_a_plain_script(
    seed_emu: FacebookEmulator, seed_sqlite_config: LoadedConfig,
) -> None:
    """The blocking examples run in a fresh interpreter with no event loop at all."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with anyio.fail_after(180):
        proc = await anyio.run_process([sys.executable, "-c", SCRIPT, seed_emu.base_url],
                                       cwd=ROOT, env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    out = json.loads(proc.stdout.decode().splitlines()[-1])
    assert (out["ads"], out["stats"], out["records"]) == (4, 90, 360)
    assert out["pipeline"]["success"] is True
    assert out["pipeline"]["records_processed"] == 360
    assert out["tasks"] == ["facebook_ads_daily"]
    assert "your_access_token" not in proc.stdout.decode() + proc.stderr.decode()


def test_blocking_run_outside_any_loop_returns_the_result_dict(tmp_path: Path) -> None:
    """Outside any loop (a sync test) run() runs and reports a bad account in the dict."""
    result = AdDataPipeline(config=load_config(write_config(
        tmp_path, base_url="http://127.0.0.1:9", accounts=[], tasks=[]))).run(
        "123456789", SEED_RANGE)
    assert result["success"] is False and "not configured" in result["error"]
