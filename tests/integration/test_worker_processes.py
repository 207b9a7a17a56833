"""The installed command really enriches in worker processes, not in a fallback.

``python -m within_daemon once`` against the emulator and the image server, each in its own
process, with text and image enrichment and ``[enrichment] workers = 1``. A worker process
that cannot start (until 2026-12-05 ``anyio.to_process`` re-ran ``within_daemon/__main__.py``
in each new worker, which failed on its relative import) leaves the run "working" on a
fallback: text in the daemon, with a warning per batch, and images called corrupt. So the
test wants every image analysed, every creative's text enriched, and no worker warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import fb_account, write_config
from .conftest import emulator_process, sandbox_process
from .proc import cli, kill_once_when, query

pytestmark = pytest.mark.slow

ADS = 40
ENRICH = ["sentiment", "topic_classification", "entity_extraction", "image_analysis"]


@pytest.fixture(scope="module")
def emulator_with_images() -> Iterator[str]:
    for images in sandbox_process("images"):
        yield from emulator_process(accounts=1, ads=ADS, images=images)


def test_once_enriches_text_and_images_in_worker_processes(
        tmp_path: Path, emulator_with_images: str) -> None:
    db = tmp_path / "w.db"
    cfg = write_config(
        tmp_path, base_url=emulator_with_images, db=f"sqlite:///{db}",
        accounts=[fb_account("1000000001")],
        enrichment={"image_allow_loopback": True, "workers": 1},
        tasks=[{"name": "enr", "pipeline": "AdDataPipeline", "lookback_days": 2,
                "enrich": ENRICH}],
    )
    out = cli("once", "--config", str(cfg))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "run in worker processes" in out.stderr  # they started (logged once)
    assert "died" not in out.stderr, out.stderr[-3000:]
    assert query(db, "SELECT COUNT(*), SUM(image_status = 'ok'), "
                     "SUM(sentiment_status IS NOT NULL AND topic IS NOT NULL) "
                     "FROM ad_creative_features") == [(ADS, ADS, ADS)]


@pytest.fixture(scope="module")
def emulator_with_distant_images() -> Iterator[str]:
    # Each image 0.5 s away: the creatives come well after their rows.
    for images in sandbox_process("images", "--delay", "0.5"):
        yield from emulator_process(accounts=1, ads=ADS, images=images)


def test_sigkill_mid_enriched_run_keeps_creatives_with_their_days(
        tmp_path: Path, emulator_with_distant_images: str) -> None:
    """Killed mid-run, no day is complete without its ads' creatives; the next start finishes.

    The enrich actor enriches in the background while batches load; a window's
    ``WindowDone`` (which marks its days complete) waits for the creatives of its batches.
    With the images slower than the rows, a marker sent ahead of them would mark days
    complete whose creatives a kill then loses.
    """
    db = tmp_path / "k.db"
    cfg = write_config(
        tmp_path, base_url=emulator_with_distant_images, db=f"sqlite:///{db}",
        accounts=[fb_account("1000000001", rate_limit=600)],
        enrichment={"image_allow_loopback": True},
        facebook={"page_size": 20, "window_days": 2, "async_after_days": 400},
        runtime={"batch_size": 30},
        tasks=[{"name": "enr", "pipeline": "AdDataPipeline", "lookback_days": 30,
                "enrich": ENRICH}],
    )
    kill_once_when(cfg, db, 4)
    without = ("SELECT COUNT(*) FROM ledger l JOIN ad_data a ON a.account_id = l.account_id "
               "AND a.date = l.day WHERE NOT EXISTS (SELECT 1 FROM ad_creative_features c "
               "WHERE c.platform = a.platform AND c.account_id = a.account_id "
               "AND c.ad_id = a.ad_id)")
    done = query(db, "SELECT COUNT(*) FROM ledger")[0][0]
    assert 4 <= done < 30
    assert query(db, without) == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM ad_creative_features")[0][0] == ADS

    out = cli("once", "--config", str(cfg))
    assert out.returncode == 0, out.stderr[-3000:]
    assert query(db, "SELECT COUNT(*) FROM ledger")[0][0] == 30
    assert query(db, without) == [(0,)]
    assert query(db, "SELECT COUNT(*), SUM(image_status = 'ok') FROM ad_creative_features"
                 ) == [(ADS, ADS)]
