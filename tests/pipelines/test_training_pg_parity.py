"""The same rows on SQLite and on PostgreSQL build byte-identical training datasets.

PostgreSQL runs twice: in the server's C locale and in a database whose default collation
is ICU ``en-US``, which orders the ad ids below differently from bytes.

The rows are written to both databases in the same shuffled order, then partly re-fetched
(which moves them in PostgreSQL's heap but not in SQLite's table), with ad ids whose byte
order differs from their insertion order, float sums that depend on the order they are
added in, integer columns next to whole-valued REAL ones and NULL creatives: any row order
the reads leave to the backend, or a value decoded as int on one side and float on the
other, changes the Parquet values or the content hash.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.model_store import SPLITS
from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS
from within_daemon.pipelines.training import TrainingDataPipeline
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.enrichment import history

from ..loaders.test_feature_store_pg_parity import create_icu_database
from ..pgserver import PgServer

START = date(2024, 1, 1)
DAYS = 90
#: Byte order: "Zeta" < "ad-1" < "ad10" < "ad9" < "adA" < "ad_b"; not the insertion order.
ADS = ("ad9", "ad_b", "ad10", "Zeta", "adA", "ad-1")
ACCOUNTS = ("acct_2", "acct1")
HIST_NAMES = [n for n, _ in HISTORY_COLUMNS]
CREATIVE_COLS = ("platform", "account_id", "ad_id", "creative_hash", "enrichments",
                 "enriched_at", "topic", "sentiment_compound", "image_brightness",
                 "has_urgency", "discount_percent_max")


def day(i: int) -> str:
    return (START + timedelta(days=i)).isoformat()


def records() -> list[dict[str, Any]]:
    rnd = random.Random(7)
    out = []
    for acct in ACCOUNTS:
        for ad in ADS:
            for i in range(DAYS):
                r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
                r.update(platform="facebook", account_id=acct, ad_id=ad, date=day(i),
                         campaign_id="c1", currency="USD", status="active",
                         impressions=rnd.randint(100, 5000), clicks=rnd.randint(0, 90),
                         conversions=rnd.randint(0, 9), spend=rnd.uniform(0.1, 50.0),
                         revenue=rnd.uniform(0.0, 120.0))
                out.append(r)
    rnd.shuffle(out)
    return out


def history_rows(recs: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """ad_history from the records, computed once in Python for both databases."""
    out = []
    for acct in ACCOUNTS:
        rs = sorted((r for r in recs if r["account_id"] == acct),
                    key=lambda r: (r["date"], r["ad_id"]))
        targets = sorted({(r["ad_id"], r["date"]) for r in rs})
        for f in history.rolling_performance(rs, targets):
            out.append(("facebook", acct, f["ad_id"], f["date"], "now",
                        *(f[n] for n in HIST_NAMES)))
    random.Random(8).shuffle(out)
    return out


def creative_rows() -> list[tuple[Any, ...]]:
    # Every other ad has a creative (the rest join to NULLs); brightness is whole-valued
    # REAL, urgency an INTEGER: both must come back as the same Python type on each side.
    return [("facebook", acct, ad, "h", "{}", "now", "shoes", 0.1 * n, 100.0 + n, n % 2,
             None if n % 3 else 12.5)
            for acct in ACCOUNTS for n, ad in enumerate(ADS) if n % 2 == 0]


async def build(url: str, root: Path) -> dict[str, Any]:
    """Load the rows into ``url`` and build both datasets; their results and splits."""
    recs = records()
    hist_cols = ["platform", "account_id", "ad_id", "date", "computed_at", *HIST_NAMES]
    out: dict[str, Any] = {}
    async with DatabaseLoader.from_url(url) as db:
        for i in range(0, len(recs), 250):  # several batches, as runs would write them
            await db.write_batch(run_id=f"r{i}", task="test", kind="ad",
                                 records=recs[i:i + 250], fetched_at="2024-06-01T00:00:00Z")
        # A re-fetch of two ads with unchanged values: SQLite updates the rows in place,
        # PostgreSQL writes new row versions at the end of the heap. From here on, the
        # backends' unordered scans disagree, and only an ORDER BY gives one order.
        again = [r for r in recs if r["ad_id"] in ("ad9", "adA")]
        await db.write_batch(run_id="refetch", task="test", kind="ad", records=again,
                             fetched_at="2024-06-02T00:00:00Z")
        await db.execute_in_transaction([
            (f"INSERT INTO ad_history ({', '.join(hist_cols)}) "
             f"VALUES ({', '.join('?' * len(hist_cols))})", history_rows(recs)),
            (f"INSERT INTO ad_creative_features ({', '.join(CREATIVE_COLS)}) "
             f"VALUES ({', '.join('?' * len(CREATIVE_COLS))})", creative_rows()),
        ])
        pipe = TrainingDataPipeline(db, root)
        for name, res in (
                ("ad_score", await pipe.build_ad_score(as_of=START + timedelta(days=85))),
                ("account_health", await pipe.build_account_health(trailing_days=14))):
            out[name] = {"result": res, "splits": {
                s: pipe.store.read_split(name, res["version"], s).to_pylist() for s in SPLITS}}
    return out


@pytest.fixture(params=["c-locale", "icu-en-us"])
async def pg_any_url(request: pytest.FixtureRequest, pg_server: PgServer) -> str:
    """A fresh PostgreSQL database: default (C) collation, then ICU en-US."""
    if request.param == "c-locale":
        return pg_server.create_database()
    return await create_icu_database(pg_server)


async def test_same_rows_same_dataset_on_both_backends(tmp_path: Path, pg_any_url: str) -> None:
    """Same content hash, version, row counts and exactly equal Parquet values."""
    lite = await build(f"sqlite:///{tmp_path}/lite.db", tmp_path / "lite-store")
    pg = await build(pg_any_url, tmp_path / "pg-store")
    for name in ("ad_score", "account_health"):
        a, b = lite[name], pg[name]
        assert a["result"]["rows"]["train"] > 50, name
        assert b["result"]["content_hash"] == a["result"]["content_hash"], name
        assert b["result"]["version"] == a["result"]["version"], name
        assert b["result"]["rows"] == a["result"]["rows"], name
        for s in SPLITS:
            # Exact equality, floats included: not merely equal after the hash's rounding.
            assert b["splits"][s] == a["splits"][s], (name, s)
