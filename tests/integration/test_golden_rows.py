"""Stored rows are the same, column for column, as before the ingest speed-up (issue 15).

``golden_facebook_rows.json`` was written by this test's ``dump`` with the code before the
hot paths were rewritten (typed page decoding, per-run ad metadata, compiled validation):
the same emulator pages, loaded the same way, must store the same values in every column
of ``ad_data`` and ``account_data`` and the same quarantine entries, on both backends.
``golden_google_rows.json`` was written the same way by the code before records became
``AdDay`` / ``AccountDay`` Structs (issue 14 item 4; main at ``1f99d70``, whose records were
dicts from the normalizer to the loader); the Facebook file holds that change to the same
values. Regenerate only for an intended change: ``WITHIN_WRITE_GOLDEN=1 pytest this_file``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from within_daemon.config import LoadedConfig
from within_daemon.daemon import run_backfill
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.facebook.data import SandboxAccount, default_accounts
from within_daemon.sandbox.google.server import GoogleAdsEmulator

from .. import dbq
from ..conftest import fb_account
from .test_google_pipeline import DIRECT, MANAGED, write_config

GOLDEN_GOOGLE = Path(__file__).with_name("golden_google_rows.json")

GOLDEN = Path(__file__).with_name("golden_facebook_rows.json")
#: Per-load bookkeeping: differs from run to run by design.
VOLATILE = {"run_id", "fetched_at", "loaded_at", "created_at", "id"}
START, END = date(2025, 2, 20), date(2025, 3, 6)


@pytest.fixture
def sandbox_accounts() -> list[SandboxAccount]:
    """The demo's three accounts: video and link creatives, deleted and archived ads."""
    return default_accounts()


def _value(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float):
        return float(f"{v:.12g}")  # both backends' doubles, printed alike
    return v


def _table(loaded: LoadedConfig, table: str, order: str) -> list[dict[str, Any]]:
    cols = [c for c in _columns(loaded, table) if c not in VOLATILE]
    rows = dbq.rows(loaded, f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}")
    return [{c: _value(v) for c, v in zip(cols, r, strict=True)} for r in rows]


def _columns(loaded: LoadedConfig, table: str) -> list[str]:
    if dbq.is_postgres(loaded):
        got = dbq.rows(loaded, "SELECT column_name FROM information_schema.columns "
                               "WHERE table_name = $1 ORDER BY ordinal_position", table)
    else:
        got = [(r[1],) for r in dbq.rows(loaded, f"PRAGMA table_info({table})")]
    return [str(r[0]) for r in got]


def dump(loaded: LoadedConfig) -> dict[str, Any]:
    """Everything a load stores about the data, without per-run bookkeeping."""
    return {
        "ad_data": _table(loaded, "ad_data", "platform, account_id, ad_id, date"),
        "account_data": _table(loaded, "account_data", "platform, account_id, date"),
        "quarantine": _table(loaded, "quarantine", "account_id, record_key, reason, raw_json"),
    }


async def test_stored_rows_match_the_golden_file(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A backfill of the demo accounts (with bad rows) stores exactly the golden values."""
    emulator.set_fault("1000000002", "bad_rows", every=7, mode="negative_spend")
    emulator.set_fault("1000000003", "bad_rows", every=11, mode="clicks_gt_impressions")
    loaded = make_config(accounts=[fb_account(a) for a in emulator.accounts],
                         tasks=[{"name": "ads", "pipeline": "AdDataPipeline"},
                                {"name": "acc", "pipeline": "AccountDataPipeline"}])
    for acc in emulator.accounts:
        for pipeline in ("AdDataPipeline", "AccountDataPipeline"):
            with anyio.fail_after(60):
                res = await run_backfill(loaded, metrics=Metrics(), platform="facebook",
                                         account_id=acc, start=START, end=END,
                                         pipeline=pipeline)
            assert res.status == "success", res
    got = dump(loaded)
    if os.environ.get("WITHIN_WRITE_GOLDEN") and not dbq.is_postgres(loaded):
        GOLDEN.write_text(json.dumps(got, indent=0, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert len(got["ad_data"]) == len(want["ad_data"]) > 500
    assert len(got["quarantine"]) == len(want["quarantine"]) > 10
    for name in want:
        for i, (g, w) in enumerate(zip(got[name], want[name], strict=True)):
            assert g == w, f"{name} row {i}"


def _compare(got: dict[str, Any], golden: Path, loaded: LoadedConfig) -> dict[str, Any]:
    if os.environ.get("WITHIN_WRITE_GOLDEN") and not dbq.is_postgres(loaded):
        golden.write_text(json.dumps(got, indent=0, sort_keys=True) + "\n")
    want: dict[str, Any] = json.loads(golden.read_text())
    for name in want:
        assert len(got[name]) == len(want[name]), name
        for i, (g, w) in enumerate(zip(got[name], want[name], strict=True)):
            assert g == w, f"{name} row {i}"
    return want


async def test_google_rows_match_the_golden_file(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Google backfill (ads, Performance Max rows, customer days) stores the golden values."""
    for k, v in {"G_DEV": "sandbox-developer-token", "G_SECRET": "sandbox-client-secret",
                 "G_RT1": "rt-direct", "G_RT2": "rt-managed"}.items():
        monkeypatch.setenv(k, v)
    emu = GoogleAdsEmulator(stream_batch_size=25)
    async with emu.serve():
        loaded = write_config(tmp_path, emu, db_url)
        for cid in (DIRECT, MANAGED):
            for pipeline in ("AdDataPipeline", "AccountDataPipeline"):
                with anyio.fail_after(60):
                    res = await run_backfill(loaded, metrics=Metrics(), platform="google",
                                             account_id=cid, start=START, end=END,
                                             pipeline=pipeline)
                assert res.status == "success", res
    want = _compare(dump(loaded), GOLDEN_GOOGLE, loaded)
    assert len(want["ad_data"]) > 300 and len(want["account_data"]) == 2 * 15
    assert any(r["ad_id"].startswith("campaign:") for r in want["ad_data"])
