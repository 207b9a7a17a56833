"""Connection reuse: the accounts of a platform share one bounded keep-alive pool per host."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from within_daemon.config import load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator, SandboxAccount

from ..conftest import fb_account, write_config

N = 24


@pytest.fixture
def sandbox_accounts() -> list[SandboxAccount]:
    return [SandboxAccount.with_ads(str(1000000001 + i), f"Pool {i}", 3,
                                    active_from="2024-01-01") for i in range(N)]


async def test_many_accounts_share_a_bounded_pool_per_host(
    emulator: FacebookEmulator, tmp_path: Path,
) -> None:
    """24 accounts pulling at once open at most http_pool_per_host sockets to the API host."""
    loaded = load_config(write_config(
        tmp_path, base_url=emulator.base_url, db=f"sqlite:///{tmp_path}/pool.db",
        runtime={"http_pool_per_host": 3, "account_jitter_seconds": 0},
        accounts=[fb_account(a) for a in emulator.accounts],
        tasks=[{"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 3}]))
    with anyio.fail_after(60):
        [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success" and len(res.accounts) == N
    requests = sum(n for n in emulator.stats.counts.values())
    assert requests >= 3 * N  # each account made several requests...
    assert 1 <= len(emulator.stats.peers) <= 3  # ...over at most 3 shared connections
