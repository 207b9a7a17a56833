"""A daemon killed during its post-load: the next run, pulling only its own days, makes it good.

Real processes: the emulator, and ``python -m within_daemon once`` SIGKILLed as soon as the
ledger has every day of its window, which is when the post-load steps (rollups, history,
benchmarks, feature store) have just begun. The next run pulls a two-day window: before
migration 16 its post-load covered those two days only, and every other day stayed without
history, benchmarks and features for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import fb_account, write_config
from .conftest import emulator_process
from .proc import cli, kill_once_when, query

pytestmark = pytest.mark.slow

ADS = 150
DAYS = 40
ENRICH = ["historical_performance", "competitive_analysis"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    yield from emulator_process(accounts=1, ads=ADS)


def _config(tmp_path: Path, base_url: str, db: Path, lookback: int) -> Path:
    tmp_path.mkdir()
    return write_config(
        tmp_path, base_url=base_url, db=f"sqlite:///{db}",
        accounts=[fb_account("1000000001", rate_limit=600)],
        tasks=[{"name": "pl", "pipeline": "AdDataPipeline", "lookback_days": lookback,
                "enrich": ENRICH}])


def test_sigkill_in_the_post_load_is_made_good_by_the_next_run(
        tmp_path: Path, emulator: str) -> None:
    db = tmp_path / "p.db"
    first = _config(tmp_path / "first", emulator, db, DAYS)
    # The window's days (up to yesterday) all complete: the last batch is in.
    kill_once_when(first, db, DAYS)
    complete = query(db, "SELECT COUNT(*) FROM ledger WHERE status = 'complete'")[0][0]
    assert complete == DAYS
    # Killed before its post-load finished (it moves the account's mark last).
    assert query(db, "SELECT COUNT(*) FROM post_load_done") == [(0,)]
    history_before = query(db, "SELECT COUNT(DISTINCT date) FROM ad_history")[0][0]
    assert history_before < complete

    out = cli("once", "--config", str(_config(tmp_path / "next", emulator, db, 2)))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "whose post-load never finished are recomputed" in out.stderr
    days = {r[0] for r in query(db, "SELECT DISTINCT date FROM ad_data")}
    for table in ("ad_history", "ad_benchmarks", "feature_view_ad_ad_history"):
        column = "event_timestamp" if table.startswith("feature") else "date"
        got = {str(r[0])[:10] for r in query(db, f"SELECT DISTINCT {column} FROM {table}")}
        assert got == days, (table, sorted(days - got)[:5])
    assert query(db, "SELECT COUNT(*) FROM post_load_done") == [(1,)]
