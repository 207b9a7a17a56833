"""Cadences: triggers, job options, ticks, the seed's register_* API, and the overlap rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import anyio
import pytest

from within_daemon.config import LoadedConfig, TaskConfig
from within_daemon.daemon import Service, all_tasks, open_database
from within_daemon.daemon.cluster import Cluster, Replica, resource
from within_daemon.loaders import DatabaseLoader
from within_daemon.observability.metrics import Metrics
from within_daemon.pipelines.engine import open_engine
from within_daemon.sandbox import FacebookEmulator
from within_daemon.tasks import (
    DEFAULT_ENRICHMENTS,
    Tick,
    build_scheduler,
    register_daily_task,
    register_hourly_task,
    register_weekly_task,
    registry,
    trigger_for,
)
from within_daemon.tasks.scheduler import (
    JITTER_SECONDS,
    MISFIRE_GRACE_SECONDS,
    _send_tick,
    last_slot,
)

from ..fakes.wait import until

TZ = "Europe/Berlin"


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    registry.clear()
    yield
    registry.clear()


def _next(task: TaskConfig, now: datetime) -> datetime:
    fire = trigger_for(task, TZ).get_next_fire_time(None, now)
    assert fire is not None
    return fire


def test_daily_trigger_fires_at_run_time_in_the_configured_zone() -> None:
    """A daily task fires at run_time in [runtime] timezone, within the jitter."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo(TZ))
    fire = _next(TaskConfig(name="d", cadence="daily", run_time="01:30"), now)
    want = datetime(2026, 3, 2, 1, 30, tzinfo=ZoneInfo(TZ))
    assert abs((fire - want).total_seconds()) <= JITTER_SECONDS


def test_hourly_and_weekly_triggers() -> None:
    """Hourly uses run_time's minute every hour; weekly fires on its weekday."""
    now = datetime(2026, 3, 2, 12, 50, tzinfo=ZoneInfo(TZ))  # a Monday
    hourly = _next(TaskConfig(name="h", cadence="hourly", run_time="00:05"), now)
    assert abs((hourly - now.replace(hour=13, minute=5)).total_seconds()) <= JITTER_SECONDS
    weekly = _next(TaskConfig(name="w", cadence="weekly", run_time="02:00", weekday=3), now)
    assert weekly.weekday() == 3 or (weekly + timedelta(seconds=JITTER_SECONDS)).weekday() == 3
    assert abs((weekly - datetime(2026, 3, 5, 2, 0, tzinfo=ZoneInfo(TZ))).total_seconds()) \
        <= JITTER_SECONDS


def test_jobs_coalesce_never_overlap_and_tolerate_late_fires() -> None:
    """Every job has coalesce, max_instances=1 and an explicit misfire grace (not 1 s)."""
    send, recv = anyio.create_memory_object_stream[Tick](4)
    tasks = [TaskConfig(name="a"), TaskConfig(name="b", cadence="hourly")]
    sched = build_scheduler(tasks, TZ, send)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"a", "b"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 600
    send.close()
    recv.close()


async def test_a_tick_is_sent_and_a_full_queue_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The job only sends a Tick; when the queue is full the slot is logged, not raised."""
    send, recv = anyio.create_memory_object_stream[Tick](1)
    await _send_tick(send, "a")
    await _send_tick(send, "b")
    assert recv.receive_nowait() == Tick("a")
    assert "tick queue is full" in caplog.text
    send.close()
    recv.close()


def test_register_functions_keep_the_seed_signature() -> None:
    """The seed's register_daily_task signature and its hourly/weekly siblings add tasks."""
    t = register_daily_task(
        task_name="facebook_ads_daily", pipeline="AdDataPipeline",
        pipeline_args={"source_platform": "facebook", "destination": "database",
                       "validate": True, "enrich": False},
        account_ids=["123456789", "987654321"], run_time="01:00", lookback_days=7,
    )
    assert (t.cadence, t.run_time, t.lookback_days, t.accounts) == (
        "daily", "01:00", 7, ("123456789", "987654321"))
    assert register_hourly_task("h", "AdDataPipeline", None, []).cadence == "hourly"
    assert register_weekly_task("w", "AccountDataPipeline", None, [], weekday=6).weekday == 6
    assert set(registry.tasks) == {"facebook_ads_daily", "h", "w"}


def test_seed_pipeline_args_feature_store_and_enrich() -> None:
    """The seed's pipeline_args: feature_store is a destination, enrich=True the defaults."""
    t = register_daily_task(
        task_name="facebook_ads_daily", pipeline="AdDataPipeline",
        pipeline_args={"source_platform": "facebook", "destination": "feature_store",
                       "validate": True, "enrich": True},
        account_ids=["123456789", "987654321"], run_time="01:00", lookback_days=7,
    )
    assert t.destination == "feature_store"
    assert t.enrich == DEFAULT_ENRICHMENTS
    chosen = register_daily_task("t2", "AdDataPipeline", {
        "enrich": True, "enrich_with": ["sentiment", "image_analysis"]}, [])
    assert chosen.enrich == ("sentiment", "image_analysis")
    assert register_daily_task("t3", "AdDataPipeline", {"enrich": False}, []).enrich == ()


@pytest.mark.parametrize(("kw", "match"), [
    ({"run_time": "25:00"}, "run_time"),
    ({"pipeline_args": {"enrich": True, "enrich_with": ["horoscope"]}}, "unknown enrichments"),
    ({"pipeline_args": {"enrich_with": ["sentiment"]}}, "enrich=True"),
    ({"pipeline_args": {"destination": "s3"}}, "destination"),
    ({"pipeline": "AccountDataPipeline", "pipeline_args": {"destination": "feature_store"}},
     "feature_store"),
    ({"pipeline": "AccountDataPipeline", "pipeline_args": {"enrich": True}}, "ad rows"),
    ({"pipeline_args": {"colour": "red"}}, "unknown pipeline_args: colour"),
    ({"pipeline": "NoSuchPipeline"}, "pipeline"),
])
def test_register_rejects_bad_arguments(kw: dict[str, object], match: str) -> None:
    """Bad arguments to register_daily_task raise a ValueError that names the problem."""
    args: dict[str, object] = {"task_name": "t", "pipeline": "AdDataPipeline",
                               "pipeline_args": None, "account_ids": []}
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        register_daily_task(**args)  # type: ignore[arg-type]


def test_registered_tasks_merge_with_config_tasks(
    make_config: Callable[..., LoadedConfig],
) -> None:
    """The daemon schedules config and registered tasks; the config wins a shared name."""
    register_daily_task("ads", "AccountDataPipeline", None, [])
    register_daily_task("extra", "AdDataPipeline", None, [])
    loaded = make_config()
    tasks = {t.name: t for t in all_tasks(loaded)}
    assert set(tasks) == {"ads", "extra"}
    assert tasks["ads"].pipeline == "AdDataPipeline"


async def test_overlapping_slot_is_reported_not_duplicated(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """A slot during a run is skipped (and counted) for busy accounts only; others start."""
    emulator.set_fault("1000000001", "slow", delay=0.3, path="insights")
    loaded = make_config(facebook={"window_days": 1})
    metrics = Metrics()
    svc = Service(loaded, metrics)
    db = await open_database(loaded)
    try:
        async with open_engine(loaded, db, metrics=metrics) as engine:
            svc.db, svc.engine = db, engine
            async with anyio.create_task_group() as work:
                svc.work = work
                svc.on_tick("ads", jitter=False)
                assert ("ads", "1000000001") in svc.running
                # A2 is done long before the slowed A1 (0.3 s per page, five pages).
                await until(lambda: ("ads", "1000000002") not in svc.running,
                            what="A2's run to end")
                assert ("ads", "1000000001") in svc.running
                svc.on_tick("ads", jitter=False)  # A1 busy, A2 free
                assert ("ads", "1000000002") in svc.running
                await until(lambda: not svc.running, what="every run to end")
    finally:
        await db.close()
    overlap = metrics.registry.get_sample_value(
        "within_task_runs_total", {"task": "ads", "status": "overlap_skipped"})
    assert overlap == 1.0
    # One run row per account and task window; A2's second run resumed nothing, it re-ran.
    assert svc.last["ads"]["status"] == "success"


async def test_database_only_tasks_run_without_accounts(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """A PlatformDataPipeline task fires even when no account matches its platform."""
    loaded = make_config(accounts=[], tasks=[{"name": "unify", "pipeline": "PlatformDataPipeline",
                                              "platform": "google", "lookback_days": 3}])
    svc = Service(loaded, Metrics())
    db = await open_database(loaded)
    try:
        async with open_engine(loaded, db, metrics=svc.metrics) as engine:
            svc.db, svc.engine = db, engine
            async with anyio.create_task_group() as work:
                svc.work = work
                svc.on_tick("unify", jitter=False)
                assert ("unify", "*") in svc.running
            assert svc.running == {}
    finally:
        await db.close()
    assert svc.last["unify"]["status"] == "success"


async def test_a_scheduled_slot_runs_once_per_cluster(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """Two replicas get the same tick: each account's slot runs once, on its lease holder.

    A repeated tick of the same slot (a late or duplicated fire) runs nothing; the next slot
    runs again; a database-wide task runs on one replica only.
    """
    loaded = make_config(tasks=[
        {"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 2},
        {"name": "unify", "pipeline": "PlatformDataPipeline", "lookback_days": 2}])
    resources = sorted(resource("facebook", a) for a in emulator.accounts)
    replicas: list[Service] = []
    async with AsyncExitStack() as stack:
        for i in range(2):
            lease_db = DatabaseLoader.from_url(loaded.config.database.url,
                                               base_dir=loaded.base_dir)
            await lease_db.open()
            stack.push_async_callback(lease_db.close)
            cluster = Cluster(lease_db, f"r{i}", 30)
            svc = Service(loaded, Metrics(), replica=Replica(cluster, Metrics()))
            svc.db = DatabaseLoader.from_url(loaded.config.database.url,
                                             base_dir=loaded.base_dir,
                                             holder=f"r{i}", fence=cluster.lease_for)
            await svc.db.open()
            stack.push_async_callback(svc.db.close)
            await cluster.heartbeat()
            svc.engine = await stack.enter_async_context(
                open_engine(loaded, svc.db, metrics=svc.metrics))
            replicas.append(svc)
        for svc in replicas:  # both see two live replicas: one account each
            assert svc.cluster is not None
            await svc.cluster.rebalance(resources, busy=set())
        assert [len(s.cluster.held) for s in replicas if s.cluster] == [1, 1]

        async def tick(slot: str) -> None:
            async with anyio.create_task_group() as work:
                for svc in replicas:
                    svc.work = work
                    svc.on_tick("ads", jitter=False, slot=slot)
                    svc.on_tick("unify", jitter=False, slot=slot)

        with anyio.fail_after(60):
            await tick("2026-11-28")
            await tick("2026-11-28")  # the same slot again: nothing new
            await tick("2026-11-29")
        db = replicas[0].db
        assert db is not None
        runs = await db.fetch_dicts(
            "SELECT task, account_id, holder, resumed_count FROM runs ORDER BY task, account_id, "
            "started_at")
        slots = await db.fetch_dicts(
            "SELECT task, account_id, slot FROM task_slots ORDER BY task, account_id, slot")
    ads = [(r["account_id"], r["holder"]) for r in runs if r["task"] == "ads"]
    # Two slots x two accounts, each account always on its own holder.
    assert len(ads) == 4 and len(set(ads)) == 2
    assert sorted({a for a, _ in ads}) == sorted(emulator.accounts)
    # The database-wide task: one claim per slot, and two runs in all, not one per replica.
    assert [(r["account_id"], r["slot"]) for r in slots if r["task"] == "unify"] == [
        ("*", "2026-11-28"), ("*", "2026-11-29")]
    unify_runs = sum(s.metrics.registry.get_sample_value(
        "within_task_runs_total", {"task": "unify", "status": "success"}) or 0 for s in replicas)
    assert unify_runs == 2


async def test_a_lost_lease_stops_only_that_accounts_pull(
    emulator: FacebookEmulator, make_config: Callable[..., LoadedConfig],
) -> None:
    """When a replica loses an account's lease, its pull stops at the next page; others go on."""
    emulator.set_fault("1000000001", "slow", delay=0.2, path="insights")
    loaded = make_config(facebook={"window_days": 1}, tasks=[
        {"name": "ads", "pipeline": "AdDataPipeline", "lookback_days": 10}])
    [task] = [t for t in all_tasks(loaded) if t.name == "ads"]
    db = await open_database(loaded)
    try:
        async with open_engine(loaded, db, metrics=Metrics()) as engine:
            async with anyio.create_task_group() as tg:
                async def lose_a1() -> None:
                    # Mid-pull: A1 has been served its first page (of ten, 0.2 s each).
                    await until(lambda: emulator.stats.count("1000000001", "insights") >= 1,
                                what="A1's first page")
                    engine.stop_account("facebook", "1000000001")
                tg.start_soon(lose_a1)
                with anyio.fail_after(60):
                    res = await engine.run_task(task)
    finally:
        await db.close()
    by_id = {a.account_id: a for a in res.accounts}
    assert by_id["1000000001"].status == "interrupted"
    assert by_id["1000000002"].status == "success"


@pytest.mark.parametrize(("cadence", "run_time", "weekday", "fire", "slot"), [
    # A jittered fire (up to 30 s late) and a fire 50 minutes late name the same slot.
    ("hourly", "00:59", 0, "2026-11-28T10:59:27", "2026-11-28T10:59:00"),
    ("hourly", "00:59", 0, "2026-11-28T11:49:00", "2026-11-28T10:59:00"),
    ("daily", "23:59", 0, "2026-11-29T00:40:00", "2026-11-28T23:59:00"),
    ("daily", "01:00", 0, "2026-11-28T01:00:00", "2026-11-28T01:00:00"),
    ("weekly", "06:00", 0, "2026-11-30T06:00:12", "2026-11-30T06:00:00"),  # a Monday
    ("weekly", "06:00", 0, "2026-12-06T23:00:00", "2026-11-30T06:00:00"),
])
def test_last_slot_is_the_scheduled_time_before_a_late_or_jittered_fire(
    cadence: str, run_time: str, weekday: int, fire: str, slot: str,
) -> None:
    """Every replica names a tick's slot by the schedule, not by when its tick fired."""
    tz = ZoneInfo("America/Los_Angeles")
    task = TaskConfig(name="t", cadence=cadence, run_time=run_time,  # type: ignore[arg-type]
                      weekday=weekday)
    got = last_slot(task, "America/Los_Angeles", datetime.fromisoformat(fire).replace(tzinfo=tz))
    assert got == datetime.fromisoformat(slot).replace(tzinfo=tz)
