"""AccountBreaker: what trips it, failing fast while open, exactly one half-open probe."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from within_daemon.errors import (
    AuthError,
    CircuitOpenError,
    PermanentSourceError,
    ReduceDataError,
    SourceError,
    ThrottledError,
    TransientError,
)
from within_daemon.sources.http.breaker import STATE_CODES, AccountBreaker

from ..fakes.clock import FakeClock

RESET = 0.05


class Calls:
    """A coroutine function that counts its calls and raises or returns what it is given."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, outcome: Any) -> Any:
        self.count += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def transient(n: int = 0) -> TransientError:
    return TransientError(f"HTTP 502 #{n}", platform="facebook", account_id="1", status=502)


async def trip(b: AccountBreaker, fn: Calls, n: int) -> None:
    for i in range(n):
        with pytest.raises(TransientError):
            await b.call(fn, transient(i))


async def wait_reset(b: AccountBreaker) -> None:
    """Let the reset pass on the breaker's fake clock (no real time goes by)."""
    assert isinstance(b.clock, FakeClock)
    await b.clock.advance(RESET * 1.6)


async def settle() -> None:
    """Let every ready task run until it blocks: these tests do no I/O, checkpoints suffice."""
    for _ in range(20):
        await anyio.sleep(0)


async def test_success_passes_result_through_closed() -> None:
    """A closed breaker runs the call and returns its result."""
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=RESET, clock=FakeClock())
    fn = Calls()
    assert await b.call(fn, {"data": []}) == {"data": []}
    assert fn.count == 1
    assert b.state == "closed"


async def test_opens_after_fail_max_transient_failures() -> None:
    """fail_max transient failures in a row open the breaker; fewer leave it closed."""
    b = AccountBreaker("facebook", "1", fail_max=3, reset_seconds=60)
    fn = Calls()
    await trip(b, fn, 2)
    assert b.state == "closed"
    await trip(b, fn, 1)
    assert b.state == "open"
    assert fn.count == 3


async def test_tripping_call_raises_the_original_error() -> None:
    """The call that opens the breaker raises its own TransientError, not CircuitOpenError."""
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=60)
    first, second = transient(1), transient(2)
    with pytest.raises(TransientError) as i1:
        await b.call(Calls(), first)
    with pytest.raises(TransientError) as i2:
        await b.call(Calls(), second)
    assert i1.value is first
    assert i2.value is second
    assert not isinstance(i2.value, CircuitOpenError)
    assert b.state == "open"


async def test_open_breaker_fails_fast_without_calling() -> None:
    """While open every call raises CircuitOpenError and the function is never run."""
    b = AccountBreaker("facebook", "act_9", fail_max=1, reset_seconds=60)
    await trip(b, Calls(), 1)
    fn = Calls()
    for _ in range(3):
        with pytest.raises(CircuitOpenError) as info:
            await b.call(fn, "would succeed")
        assert info.value.platform == "facebook"
        assert info.value.account_id == "act_9"
        assert isinstance(info.value, SourceError)
        assert info.value.error_class == "circuit_open"
    assert fn.count == 0
    assert b.state == "open"


async def test_success_resets_the_failure_run() -> None:
    """Failures must be consecutive: a success in between starts the count again."""
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=60)
    fn = Calls()
    await trip(b, fn, 1)
    assert await b.call(fn, "ok") == "ok"
    await trip(b, fn, 1)
    assert b.state == "closed"


@pytest.mark.parametrize(
    "exc",
    [
        ThrottledError("(#80000) too many calls", retry_after=60.0, code=80000),
        AuthError("Graph error 190/463: Session has expired", code=190, subcode=463),
        PermanentSourceError("(#100) Missing permissions", code=100),
        ReduceDataError("Please reduce the amount of data", code=1),
    ],
    ids=["throttled", "auth", "permanent", "reduce_data"],
)
async def test_non_transient_errors_pass_through_and_never_open(exc: SourceError) -> None:
    """Throttles and definite answers are re-raised as is and never open the breaker."""
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=60)
    fn = Calls()
    for _ in range(5):
        with pytest.raises(type(exc)) as info:
            await b.call(fn, exc)
        assert info.value is exc
    assert fn.count == 5
    assert b.state == "closed"


async def test_throttle_between_failures_does_not_reset_the_count() -> None:
    """A throttle between transient failures neither counts nor resets the failure run."""
    b = AccountBreaker("facebook", "1", fail_max=3, reset_seconds=60)
    fn = Calls()
    await trip(b, fn, 2)
    with pytest.raises(ThrottledError):
        await b.call(fn, ThrottledError("slow down", retry_after=1.0))
    await trip(b, fn, 1)
    assert b.state == "open"


async def test_other_exceptions_count_as_failures() -> None:
    """Errors outside our tree (timeouts, connection resets) count like transient ones."""
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=60)
    fn = Calls()
    with pytest.raises(TimeoutError):
        await b.call(fn, TimeoutError())
    with pytest.raises(ConnectionResetError):
        await b.call(fn, ConnectionResetError())
    assert b.state == "open"


async def test_exactly_one_half_open_probe_while_others_fail_fast() -> None:
    """After the reset timeout one probe runs; concurrent callers get CircuitOpenError."""
    b = AccountBreaker("facebook", "1", fail_max=1, reset_seconds=RESET, clock=FakeClock())
    await trip(b, Calls(), 1)
    await wait_reset(b)

    started, release = anyio.Event(), anyio.Event()
    probe_runs = 0
    others = Calls()
    result: list[str] = []

    async def probe() -> str:
        nonlocal probe_runs
        probe_runs += 1
        started.set()
        await release.wait()
        return "probe ok"

    async def run_probe() -> None:
        result.append(await b.call(probe))

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_probe)
            await started.wait()
            assert b.state == "half_open"
            for _ in range(3):
                with pytest.raises(CircuitOpenError):
                    await b.call(others, "x")
            # A second would-be probe must not get through either.
            with pytest.raises(CircuitOpenError):
                await b.call(probe)
            release.set()

    assert probe_runs == 1
    assert others.count == 0
    assert result == ["probe ok"]
    assert b.state == "closed"
    # Closed again: normal calls run.
    assert await b.call(others, "after") == "after"
    assert others.count == 1


async def test_concurrent_callers_at_reset_admit_only_one_probe() -> None:
    """Many callers arriving together after the timeout: exactly one runs, the rest fail fast."""
    b = AccountBreaker("facebook", "1", fail_max=1, reset_seconds=RESET, clock=FakeClock())
    await trip(b, Calls(), 1)
    await wait_reset(b)
    release = anyio.Event()
    ran = 0
    outcomes: list[str] = []

    async def slow() -> str:
        nonlocal ran
        ran += 1
        await release.wait()
        return "ok"

    async def caller() -> None:
        try:
            outcomes.append(await b.call(slow))
        except CircuitOpenError:
            outcomes.append("open")

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(caller)
            while len(outcomes) < 9:
                await anyio.sleep(0)  # the others fail fast, without I/O
            release.set()

    assert ran == 1
    assert sorted(outcomes) == ["ok"] + ["open"] * 9
    assert b.state == "closed"


async def test_failed_probe_reopens_with_original_error() -> None:
    """A probe that fails transiently re-opens the breaker and raises its own error."""
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=RESET, clock=FakeClock())
    await trip(b, Calls(), 2)
    await wait_reset(b)
    boom = transient(99)
    fn = Calls()
    with pytest.raises(TransientError) as info:
        await b.call(fn, boom)
    assert info.value is boom
    assert fn.count == 1
    assert b.state == "open"
    with pytest.raises(CircuitOpenError):
        await b.call(fn, "x")
    assert fn.count == 1
    # ...and after another timeout a new probe is allowed and can close it.
    await wait_reset(b)
    assert await b.call(fn, "recovered") == "recovered"
    assert b.state == "closed"


async def test_cancelled_probe_does_not_wedge_the_breaker() -> None:
    """If the probe is cancelled, a later call may probe again instead of failing forever."""
    b = AccountBreaker("facebook", "1", fail_max=1, reset_seconds=RESET, clock=FakeClock())
    await trip(b, Calls(), 1)
    await wait_reset(b)
    started = anyio.Event()

    async def hang() -> None:
        started.set()
        await anyio.sleep_forever()  # a probe that never answers: cancelled below

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(b.call, hang)
            await started.wait()
            tg.cancel_scope.cancel()
    assert await b.call(Calls(), "ok") == "ok"
    assert b.state == "closed"


async def test_on_state_reports_each_outcome() -> None:
    """on_state is told the state after each call: closed, open, then closed after recovery."""
    states: list[str] = []
    b = AccountBreaker("facebook", "1", fail_max=2, reset_seconds=RESET, on_state=states.append,
                       clock=FakeClock())
    fn = Calls()
    await b.call(fn, "ok")
    await trip(b, fn, 2)
    with pytest.raises(CircuitOpenError):
        await b.call(fn, "x")
    await wait_reset(b)
    await b.call(fn, "ok")
    assert states[0] == "closed"
    assert states[-1] == "closed"
    assert "open" in states
    assert states.index("open") < len(states) - 1
    assert set(states) <= set(STATE_CODES)


def test_state_codes_cover_every_state() -> None:
    """The metric codes map all three states to distinct numbers."""
    assert set(STATE_CODES) == {"closed", "half_open", "open"}
    assert len(set(STATE_CODES.values())) == 3


# -- on a fake clock: the reset is waited on the breaker's clock, not in real time ------------


async def test_fake_clock_drives_reset_and_next_probe() -> None:
    """With a fake clock an hour-long reset passes at once; seconds_to_probe counts it down."""
    clock = FakeClock()
    b = AccountBreaker("google", "1", fail_max=2, reset_seconds=3600, clock=clock)
    await trip(b, Calls(), 2)
    assert b.state == "open" and b.seconds_to_probe() == 3600
    assert b.opened_at == clock.now() and b.last_error and "HTTP 502 #1" in b.last_error
    await clock.advance(1000)
    assert b.seconds_to_probe() == 2600
    with pytest.raises(CircuitOpenError, match="next probe in 2600s"):
        await b.call(Calls(), "x")
    with anyio.fail_after(1):
        await b.wait_for_probe()
    assert clock.elapsed == 3600 and b.state == "half_open"
    assert await b.call(Calls(), "back") == "back"
    assert b.state == "closed" and b.seconds_to_probe() == 0 and b.opened_count == 1


async def test_trip_opens_at_once_and_counts_one_outage() -> None:
    """trip() (retries spent before fail_max) opens the circuit; a failed probe re-opens it."""
    clock = FakeClock()
    b = AccountBreaker("amazon", "1", fail_max=50, reset_seconds=60, clock=clock)
    b.trip("TransientError: HTTP 503")
    assert b.state == "open" and b.seconds_to_probe() == 60
    await clock.advance(60)
    with pytest.raises(TransientError):
        await b.call(Calls(), transient(7))
    assert b.state == "open" and b.seconds_to_probe() == 60
    assert b.opened_count == 1  # one outage, however many probes fail


async def test_waiters_wake_when_the_probe_in_flight_ends() -> None:
    """A second caller waiting while a probe runs wakes when it ends, without polling."""
    clock = FakeClock()
    b = AccountBreaker("tiktok", "1", fail_max=1, reset_seconds=60, clock=clock)
    await trip(b, Calls(), 1)
    await clock.advance(60)
    release, woke = anyio.Event(), anyio.Event()

    async def slow_probe() -> str:
        await release.wait()
        return "ok"

    async def waiter() -> None:
        await b.wait_for_probe()
        woke.set()

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(b.call, slow_probe)
            await anyio.sleep(0)
            tg.start_soon(waiter)
            await settle()
            assert not woke.is_set()
            release.set()
            await woke.wait()
    assert b.state == "closed"
