"""Outages through the real engine: the run record, /status, healthy accounts, backfills.

On a fake clock: a sick account waits out its circuit (probing once a reset) while the
healthy one finishes untouched; a spent outage budget ends only the sick account's run, and
the runs table and the account state say why and when it will be probed next. A backfill
has no budget and rides out an hour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import anyio

from within_daemon.config import LoadedConfig
from within_daemon.daemon import open_database, run_backfill
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.engine import TaskResult, open_engine
from within_daemon.sandbox import FacebookEmulator

from .. import dbq
from ..conftest import fb_account
from ..fakes.clock import FakeClock, use_clock
from ..fakes.wait import until

SICK, HEALTHY = "1000000001", "1000000002"
REAL_LIFE = {"breaker_reset_seconds": 60.0, "backoff_base_seconds": 1.0, "max_retries": 5,
             "breaker_fail_max": 5, "max_outage_seconds": 600.0}


async def test_spent_budget_stops_only_the_sick_account_and_says_why(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """Sick account: 'outage_budget' run error with the next probe; healthy: loads untouched."""
    emulator.set_fault(SICK, "server_error", path="insights", status=503)
    loaded = make_config(facebook=REAL_LIFE)
    clock = FakeClock()
    done: list[str] = []
    metrics = Metrics()
    db = await open_database(loaded)
    try:
        with use_clock(clock), anyio.fail_after(30):
            async with open_engine(loaded, db, metrics=metrics) as engine:
                task = loaded.config.tasks[0]
                res = await engine.run_task(task, on_account_done=done.append)
                states = {s["account_id"]: s for s in engine.account_states()}
                healthy_conn = engine.connectors[("facebook", HEALTHY)][2]
    finally:
        await db.close()
    by = {a.account_id: a for a in res.accounts}
    assert by[HEALTHY].status == "success" and by[HEALTHY].loaded == 8 * 5
    assert by[SICK].status == "failed"
    assert done[0] == HEALTHY  # it finished first, it did not wait for the sick one
    # The healthy account never waited on anything: no outage, no pause.
    assert healthy_conn.outage_waited == 0 and healthy_conn.throttle_waited == 0
    [(status, error)] = dbq.rows(loaded, "SELECT status, error FROM runs WHERE account_id = ?",
                                 SICK)
    assert status == "failed"
    assert error.startswith("outage_budget: ") and "next probe due" in error
    assert "HTTP 503" in error or "Graph error" in error
    st = states[SICK]
    assert st["circuit"] == "open" and st["stopped"]["reason"] == "outage_budget"
    assert st["next_probe_at"] and st["next_probe_in_seconds"] > 0
    assert states[HEALTHY]["circuit"] == "closed" and states[HEALTHY]["stopped"] is None
    assert dbq.scalar(loaded, "SELECT COUNT(*) FROM ledger WHERE account_id = ?", SICK) == 0
    assert metrics.account_stops.labels("facebook", "outage_budget")._value.get() == 1
    assert metrics.outage_wait.labels("facebook")._value.get() >= 600 - 60


async def test_backfill_rides_out_an_hour_long_outage(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A backfill has no outage budget: an hour of 503s is waited out and every day loads."""
    emulator.set_fault(SICK, "server_error", path="insights", status=503)
    clock = FakeClock()

    async def recover() -> None:
        emulator.clear_faults()

    clock.at(3600.0, recover)
    loaded = make_config(facebook=REAL_LIFE)
    with use_clock(clock), anyio.fail_after(30):
        res = await run_backfill(loaded, metrics=Metrics(), platform="facebook",
                                 account_id=SICK, start=date(2024, 1, 1),
                                 end=date(2024, 1, 10))
    assert res.status == "success" and res.loaded == 12 * 10
    assert clock.elapsed >= 3600.0
    assert dbq.scalar(loaded, "SELECT COUNT(*) FROM ledger WHERE account_id = ? AND "
                              "status = 'complete'", SICK) == 10


async def test_stop_interrupts_a_wait_for_the_probe(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig]
) -> None:
    """A daemon stop ends an account's hour-long wait for its probe at once: 'interrupted'."""
    emulator.set_fault(SICK, "server_error", path="insights", status=503)
    loaded = make_config(facebook={**REAL_LIFE, "breaker_reset_seconds": 3600.0,
                                   "max_outage_seconds": 7200.0,
                                   "backoff_base_seconds": 0.01},
                         accounts=[fb_account(SICK)])
    results: list[TaskResult] = []
    db = await open_database(loaded)
    try:
        with anyio.fail_after(20):
            async with open_engine(loaded, db, metrics=Metrics()) as engine:
                async with anyio.create_task_group() as tg:
                    async def go() -> None:
                        results.append(await engine.run_task(loaded.config.tasks[0]))

                    tg.start_soon(go)
                    key = ("facebook", SICK)
                    await until(lambda: key in engine.connectors
                                and engine.connectors[key][2].breaker.state == "open",
                                what="the circuit to open")
                    engine.stop.set()
    finally:
        await db.close()
    [acc] = results[0].accounts
    assert acc.status == "interrupted"
    assert dbq.scalar(loaded, "SELECT status FROM runs WHERE account_id = ?", SICK) \
        == "interrupted"
