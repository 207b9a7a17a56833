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
from .proc import cli, query

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
