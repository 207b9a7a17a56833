"""The audience pull as a source step: its run rows and ledger, against the Google emulator.

Real sockets to ``sandbox.google``, real databases on both backends (``db_url``). A pull
that works leaves a ``runs`` row (pipeline ``AudiencePull``) and ledger days of kind
``audience``; one the emulator refuses leaves a failed run, the ad rows loaded, and the next
run pulls the breakdowns again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest

from within_daemon.config import LoadedConfig, load_config
from within_daemon.daemon.resources import open_database
from within_daemon.loaders.schema.tables import AUDIENCE_PIPELINE
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines import audience_pull
from within_daemon.pipelines.engine import open_engine
from within_daemon.pipelines.results import TaskResult
from within_daemon.sandbox.google.server import GoogleAdsEmulator

from .. import dbq

ACCOUNT = "5550000001"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"G_DEV": "sandbox-developer-token", "G_SECRET": "sandbox-client-secret",
                 "G_RT": "rt-direct"}.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
async def gemu() -> AsyncIterator[GoogleAdsEmulator]:
    emu = GoogleAdsEmulator(stream_batch_size=25)
    async with emu.serve():
        yield emu


def _config(tmp_path: Path, db: str, emu: GoogleAdsEmulator) -> LoadedConfig:
    path = tmp_path / "within.toml"
    path.write_text(f"""[database]
url = "{db}"
[metrics]
enabled = false
[runtime]
timezone = "Etc/GMT+12"
account_jitter_seconds = 0
[platforms.google]
base_url = "{emu.base_url}"
token_url = "{emu.token_url}"
developer_token = {{ env = "G_DEV" }}
client_id = "sandbox-client-id"
client_secret = {{ env = "G_SECRET" }}
backoff_base_seconds = 0.01
[[accounts]]
platform = "google"
account_id = "{ACCOUNT}"
refresh_token = {{ env = "G_RT" }}
rate_limit = 60000
[[tasks]]
name = "g"
accounts = ["{ACCOUNT}"]
lookback_days = 4
enrich = ["audience_insights"]
""")
    return load_config(path)


async def _run(loaded: LoadedConfig, metrics: Metrics,
               day: str | None = None) -> tuple[TaskResult, dict[str, Any]]:
    """One task run (over its lookback, or one ``day``); its result and post-load summary."""
    db = await open_database(loaded)
    one = None if day is None else date.fromisoformat(day)
    try:
        async with open_engine(loaded, db, metrics=metrics) as engine:
            with anyio.fail_after(60):
                res = await engine.run_task(loaded.config.tasks[0], start=one, end=one)
            return res, dict(engine.last_postprocess)
    finally:
        await db.close()


def _audience_runs(loaded: LoadedConfig) -> list[tuple[Any, ...]]:
    return dbq.rows(loaded, "SELECT task, status, records_fetched, records_loaded, error, "
                            "window_start, window_end FROM runs WHERE pipeline = ? "
                            "ORDER BY started_at", AUDIENCE_PIPELINE)


def _ledger_days(loaded: LoadedConfig, kind: str) -> set[str]:
    return {str(r[0]) for r in dbq.rows(
        loaded, "SELECT day FROM ledger WHERE account_id = ? AND kind = ?", ACCOUNT, kind)}


async def test_pull_leaves_a_run_row_and_ledger_days(
    tmp_path: Path, gemu: GoogleAdsEmulator, db_url: str
) -> None:
    """Success: one AudiencePull run with its counts, the ad days complete as 'audience'."""
    loaded = _config(tmp_path, db_url, gemu)
    metrics = Metrics()
    res, summary = await _run(loaded, metrics)
    assert res.status == "success"
    stored = dbq.rows(loaded, "SELECT COUNT(*) FROM audience_data")[0][0]
    assert stored > 0 and summary["audience_rows"] == stored
    assert "audience_failed" not in summary
    [(task, status, fetched, loaded_n, error, first, last)] = _audience_runs(loaded)
    assert (task, status, loaded_n, error) == ("g", "success", stored, None)
    assert fetched > 0
    ad_days = _ledger_days(loaded, "ad")
    assert ad_days and _ledger_days(loaded, "audience") == ad_days
    assert (first, last) == (min(ad_days), max(ad_days))
    # The ledger's row counts are the stored rows of each day.
    per_day = dict(dbq.rows(loaded, "SELECT date, COUNT(*) FROM audience_data GROUP BY date"))
    counted = dict(dbq.rows(loaded, "SELECT day, rows FROM ledger WHERE kind = 'audience'"))
    assert {str(k): int(v) for k, v in counted.items() if v} == {
        str(k): int(v) for k, v in per_day.items()}
    # Audience rows are counted like other records, under their own pipeline label.
    assert metrics.records.labels("google", AUDIENCE_PIPELINE, "loaded")._value.get() == stored
    # The run row is the audience pull's: the ad run of the account still shows in /status.
    ad_runs = dbq.rows(loaded, "SELECT status FROM runs WHERE pipeline <> ?", AUDIENCE_PIPELINE)
    assert ad_runs == [("success",)]


async def test_refused_pull_fails_its_own_run_and_is_pulled_again(
    tmp_path: Path, gemu: GoogleAdsEmulator, db_url: str
) -> None:
    """A fault on the demographic views fails the audience run, not the ad run; later pulled.

    The next run, with the API healthy again, pulls and ledgers the breakdowns.
    """
    loaded = _config(tmp_path, db_url, gemu)
    gemu.set_fault(ACCOUNT, "permission_denied", path="age_range_view")
    res, summary = await _run(loaded, Metrics())
    assert res.status == "success" and res.loaded > 0
    assert dbq.rows(loaded, "SELECT COUNT(*) FROM ad_data")[0][0] == res.loaded
    assert dbq.rows(loaded, "SELECT COUNT(*) FROM audience_data")[0][0] == 0
    assert set(summary["audience_failed"]) == {ACCOUNT}
    [(task, status, _f, loaded_n, error, _s, _e)] = _audience_runs(loaded)
    assert (task, status, loaded_n) == ("g", "failed", 0)
    assert error and summary["audience_failed"][ACCOUNT]
    assert _ledger_days(loaded, "audience") == set()
    assert _ledger_days(loaded, "ad")

    gemu.clear_faults()
    # The next run pulls one day of ads only: the audience pull takes the earlier days whose
    # ad rows are complete but whose breakdowns are not, on purpose.
    ad_days = sorted(_ledger_days(loaded, "ad"))
    res, summary = await _run(loaded, Metrics(), day=ad_days[-1])
    assert res.status == "success" and res.accounts[0].days_requested == 1
    assert "audience_failed" not in summary
    runs = _audience_runs(loaded)
    assert [r[1] for r in runs] == ["failed", "success"]
    assert (runs[1][5], runs[1][6]) == (ad_days[0], ad_days[-1])
    assert _ledger_days(loaded, "audience") == set(ad_days)
    assert dbq.rows(loaded, "SELECT COUNT(*) FROM audience_data")[0][0] > 0


async def test_failure_after_a_slice_keeps_it_and_ends_partial(
    tmp_path: Path, gemu: GoogleAdsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slices stored before a failure stay with their ledger days; the run is 'partial'."""
    monkeypatch.setattr(audience_pull, "SLICE_DAYS", 2)
    fetch, normalize = audience_pull.AUDIENCE_PULLS["google"]
    calls: list[tuple[str, str]] = []

    def fetch_then_break(conn: Any, days: tuple[str, str]) -> Any:
        if calls:  # the emulator refuses every slice after the first
            gemu.set_fault(ACCOUNT, "permission_denied", path="gender_view")
        calls.append(days)
        return fetch(conn, days)

    monkeypatch.setitem(audience_pull.AUDIENCE_PULLS, "google", (fetch_then_break, normalize))
    loaded = _config(tmp_path, f"sqlite:///{tmp_path}/within.db", gemu)
    res, summary = await _run(loaded, Metrics())
    assert res.status == "success" and len(calls) == 2
    [(_t, status, _f, loaded_n, error, _s, _e)] = _audience_runs(loaded)
    assert status == "partial" and error and loaded_n > 0
    assert summary["audience_rows"] == loaded_n and set(summary["audience_failed"]) == {ACCOUNT}
    first = calls[0]
    assert _ledger_days(loaded, "audience") == {
        d for d in _ledger_days(loaded, "ad") if first[0] <= d <= first[1]}
    assert dbq.rows(loaded, "SELECT COUNT(*) FROM audience_data")[0][0] == loaded_n
    # The summary of the account covers what was stored.
    assert dbq.rows(loaded, "SELECT COUNT(*) FROM ad_audience_summary")[0][0] > 0
