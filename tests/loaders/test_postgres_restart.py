"""A PostgreSQL restart under a running daemon: the loader reconnects and nothing is lost.

These use their own server (restarting the session's would cut other tests' connections);
``pg_ctl restart -m fast`` terminates every session, as a real restart or failover does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from within_daemon.config import LoadedConfig
from within_daemon.daemon import all_tasks, open_database
from within_daemon.errors import LoaderError
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.engine import open_engine
from within_daemon.sandbox import FacebookEmulator
from within_daemon.schema import AD_FIELDS

from ..fakes.wait import until
from ..pgserver import PgServer, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_server(pg_server: PgServer) -> Iterator[PgServer]:
    # pg_server first: it skips (or fails under WITHIN_REQUIRE_POSTGRES) without binaries.
    server = start_server()
    yield server
    server.stop()


def ad(i: int, day: str) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="facebook", account_id="act_1", ad_id=f"ad{i}", date=day,
             impressions=100, clicks=1, spend=1.0)
    return r


async def test_loader_reconnects_after_a_restart(own_server: PgServer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """After a restart the next transaction runs on a new connection; nothing half-done."""
    url = own_server.create_database()
    async with DatabaseLoader.from_url(url) as db:
        await db.write_batch(run_id="r", task="t", kind="ad", records=[ad(1, "2024-03-01")],
                             fetched_at="2024-03-02T00:00:00Z",
                             complete_days=[("facebook", "act_1", "2024-03-01", 1)])
        await anyio.to_thread.run_sync(own_server.restart)
        failures = 0
        for _ in range(3):  # at most the statement that met the dead socket fails
            try:
                await db.write_batch(run_id="r", task="t", kind="ad",
                                     records=[ad(2, "2024-03-02")],
                                     fetched_at="2024-03-03T00:00:00Z",
                                     complete_days=[("facebook", "act_1", "2024-03-02", 1)])
                break
            except LoaderError:
                failures += 1
        assert failures <= 1
        assert "was lost; reconnecting" in caplog.text
        assert await db.ping()
        assert await db.count_rows("ad_data") == 2
        assert await db.count_rows("ledger") == 2
        assert await db.integrity_check() == "ok"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # make_config's default
async def test_a_run_survives_a_restart_mid_pull(
    own_server: PgServer, emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An engine run whose database restarts mid-pull still loads every row exactly once."""
    emulator.set_fault("1000000001", "slow", delay=0.15, path="insights")
    url = own_server.create_database()
    loaded = make_config(db=url, facebook={"window_days": 1}, runtime={"batch_size": 20},
                         tasks=[{"name": "ads", "pipeline": "AdDataPipeline",
                                 "lookback_days": 10}])
    [task] = [t for t in all_tasks(loaded) if t.name == "ads"]
    db = await open_database(loaded)
    try:
        async with open_engine(loaded, db, metrics=Metrics()) as engine:
            async with anyio.create_task_group() as tg:
                async def restart_soon() -> None:
                    # Mid-pull: A1 has had a few of its ten pages (0.15 s each).
                    await until(lambda: emulator.stats.count("1000000001", "insights") >= 3,
                                what="A1's third page")
                    await anyio.to_thread.run_sync(own_server.restart)
                tg.start_soon(restart_soon)
                with anyio.fail_after(90):
                    res = await engine.run_task(task)
        want = sum(emulator.expected_rows(a, *res.window) for a in emulator.accounts)
        assert res.status == "success", [(a.account_id, a.status, a.error)
                                         for a in res.accounts]
        assert await db.count_rows("ad_data") == want == res.loaded
        assert await db.count_rows("ledger") == 20
        assert "was lost; reconnecting" in caplog.text  # the restart did hit the run
    finally:
        await db.close()
