"""retry_with_backoff and backoff_delay: which errors retry, how long it waits, the hooks."""

from __future__ import annotations

import inspect
import random
from typing import Any

import pytest

from within_daemon.errors import PermanentSourceError, ThrottledError, TransientError
from within_daemon.utils import backoff_delay, retry_with_backoff
from within_daemon.utils.retry import MAX_DELAY_SECONDS


class Sleeps:
    """An injected ``sleep`` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Flaky:
    """A coroutine function that raises the given errors in order, then returns 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, x: int, *, y: int = 0) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"ok {x} {y}"


async def test_succeeds_after_listed_errors_are_retried() -> None:
    """Listed errors are retried and the eventual result is returned, args passed through."""
    sleeps = Sleeps()
    fn = Flaky(ConnectionError("reset"), TimeoutError("slow"))
    wrapped = retry_with_backoff(max_retries=3, base_delay=0.01, sleep=sleeps)(fn)
    assert await wrapped(1, y=2) == "ok 1 2"
    assert fn.calls == 3
    assert len(sleeps.delays) == 2


async def test_gives_up_after_max_retries_and_reraises_last_error() -> None:
    """After max_retries retries the last error itself propagates; no extra sleep."""
    sleeps = Sleeps()
    errs = [TransientError(f"e{i}") for i in range(5)]
    fn = Flaky(*errs)
    wrapped = retry_with_backoff(max_retries=3, errors=(TransientError,), sleep=sleeps)(fn)
    with pytest.raises(TransientError) as info:
        await wrapped(0)
    assert info.value is errs[3]
    assert fn.calls == 4
    assert len(sleeps.delays) == 3


async def test_zero_retries_calls_once() -> None:
    """max_retries=0 means one attempt and no sleeping."""
    sleeps = Sleeps()
    fn = Flaky(ConnectionError("x"))
    with pytest.raises(ConnectionError):
        await retry_with_backoff(max_retries=0, sleep=sleeps)(fn)(0)
    assert fn.calls == 1
    assert sleeps.delays == []


def test_negative_max_retries_is_rejected() -> None:
    """A negative retry count is a programming error caught at decoration time."""
    with pytest.raises(ValueError, match="max_retries"):
        retry_with_backoff(max_retries=-1)


@pytest.mark.parametrize(
    "exc", [ValueError("bug"), PermanentSourceError("bad param"), KeyError("k")]
)
async def test_unlisted_errors_propagate_immediately(exc: Exception) -> None:
    """An error outside ``errors`` propagates on the first attempt without sleeping."""
    sleeps = Sleeps()
    fn = Flaky(exc)
    wrapped = retry_with_backoff(max_retries=5, errors=(TransientError,), sleep=sleeps)(fn)
    with pytest.raises(type(exc)) as info:
        await wrapped(0)
    assert info.value is exc
    assert fn.calls == 1
    assert sleeps.delays == []


async def test_subclasses_of_listed_errors_are_retried() -> None:
    """A subclass of a listed error (ThrottledError of TransientError) is retried too."""
    sleeps = Sleeps()
    fn = Flaky(ThrottledError("slow down", retry_after=0.0))
    wrapped = retry_with_backoff(errors=(TransientError,), base_delay=0.01, sleep=sleeps)(fn)
    assert await wrapped(0) == "ok 0 0"
    assert fn.calls == 2


async def test_delays_grow_exponentially_within_jitter_bounds() -> None:
    """Delay n lies in [0.5, 1] x base x factor**n, so with factor 3 each is larger."""
    base, factor, retries = 0.1, 3.0, 6
    for _ in range(20):  # many runs: the bounds must hold for every jitter draw
        sleeps = Sleeps()
        fn = Flaky(*[ConnectionError() for _ in range(retries + 1)])
        wrapped = retry_with_backoff(
            max_retries=retries, backoff_factor=factor, base_delay=base, sleep=sleeps
        )(fn)
        with pytest.raises(ConnectionError):
            await wrapped(0)
        assert len(sleeps.delays) == retries
        for n, d in enumerate(sleeps.delays):
            raw = base * factor**n
            assert 0.5 * raw <= d <= raw, (n, d)
        assert sleeps.delays == sorted(sleeps.delays)
        assert len(set(sleeps.delays)) == retries


def test_backoff_delay_bounds_and_jitter() -> None:
    """backoff_delay is raw x [0.5, 1], really jittered, and capped at MAX_DELAY_SECONDS."""
    rng = random.Random(1234)
    draws = [backoff_delay(2, 2.0, base=0.5, rng=rng) for _ in range(200)]
    assert all(1.0 <= d <= 2.0 for d in draws)
    assert max(draws) - min(draws) > 0.5, "jitter should spread delays across the range"
    assert backoff_delay(0, 2.0, base=3.0, rng=random.Random(0)) <= 3.0
    assert backoff_delay(60, 10.0, rng=random.Random(0)) <= MAX_DELAY_SECONDS
    assert backoff_delay(60, 10.0, rng=random.Random(0)) >= MAX_DELAY_SECONDS / 2
    assert backoff_delay(5, 2.0, cap=4.0, rng=random.Random(0)) <= 4.0


def test_backoff_delay_same_seed_same_delay() -> None:
    """An injected RNG makes the jitter reproducible."""
    a = [backoff_delay(n, 2.0, rng=random.Random(7)) for n in range(5)]
    b = [backoff_delay(n, 2.0, rng=random.Random(7)) for n in range(5)]
    assert a == b


async def test_retry_after_is_waited_at_least() -> None:
    """An error carrying retry_after waits at least that long, even with a tiny base."""
    sleeps = Sleeps()
    fn = Flaky(ThrottledError("throttled", retry_after=7.5), ThrottledError("t", retry_after=3))
    wrapped = retry_with_backoff(errors=(TransientError,), base_delay=0.001, sleep=sleeps)(fn)
    assert await wrapped(0) == "ok 0 0"
    assert sleeps.delays == [7.5, 3.0]


async def test_small_retry_after_does_not_shorten_backoff() -> None:
    """A retry_after below the backoff delay keeps the (longer) backoff delay."""
    sleeps = Sleeps()
    fn = Flaky(ThrottledError("t", retry_after=0.5))
    wrapped = retry_with_backoff(errors=(TransientError,), base_delay=10.0, sleep=sleeps)(fn)
    await wrapped(0)
    assert len(sleeps.delays) == 1
    assert 5.0 <= sleeps.delays[0] <= 10.0


async def test_non_numeric_retry_after_is_ignored() -> None:
    """A retry_after that is not a number falls back to the normal backoff."""

    class Odd(ConnectionError):
        retry_after = "soon"

    sleeps = Sleeps()
    fn = Flaky(Odd())
    await retry_with_backoff(base_delay=0.2, sleep=sleeps)(fn)(0)
    assert len(sleeps.delays) == 1
    assert 0.1 <= sleeps.delays[0] <= 0.2


async def test_wrapper_is_a_coroutine_function_keeping_metadata() -> None:
    """The decorated function is still async and keeps __name__, __qualname__ and __doc__."""

    @retry_with_backoff(max_retries=1)
    async def fetch_page(n: int) -> int:
        """Fetch one page."""
        return n * 2

    assert inspect.iscoroutinefunction(fetch_page)
    assert fetch_page.__name__ == "fetch_page"
    assert fetch_page.__qualname__.endswith("fetch_page")
    assert fetch_page.__doc__ == "Fetch one page."
    assert await fetch_page(21) == 42


async def test_on_retry_hook_sees_attempt_error_and_delay() -> None:
    """on_retry is called once per retry with (attempt, error, the delay slept)."""
    sleeps = Sleeps()
    seen: list[tuple[int, BaseException, float]] = []
    errs = [ConnectionError("a"), TimeoutError("b")]
    fn = Flaky(*errs)
    wrapped = retry_with_backoff(
        max_retries=4, base_delay=0.01, sleep=sleeps,
        on_retry=lambda a, e, d: seen.append((a, e, d)),
    )(fn)
    await wrapped(0)
    assert [s[0] for s in seen] == [0, 1]
    assert [s[1] for s in seen] == errs
    assert [s[2] for s in seen] == sleeps.delays


async def test_on_retry_not_called_when_giving_up() -> None:
    """The final failed attempt raises without calling on_retry."""
    seen: list[int] = []
    fn = Flaky(ConnectionError(), ConnectionError())
    wrapped = retry_with_backoff(
        max_retries=1, sleep=Sleeps(), on_retry=lambda a, e, d: seen.append(a)
    )(fn)
    with pytest.raises(ConnectionError):
        await wrapped(0)
    assert seen == [0]


async def test_default_sleep_really_waits() -> None:
    """Without an injected sleep the real (anyio) sleep is used and the call still succeeds."""
    fn = Flaky(ConnectionError())
    wrapped = retry_with_backoff(max_retries=1, base_delay=0.001)(fn)
    assert await wrapped(3) == "ok 3 0"
    assert fn.calls == 2


# -- plain functions (the seed's example decorates a `requests.get` wrapper) -------------------


class SyncFlaky:
    """A plain function that raises the given errors in order, then returns 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, x: int) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"ok {x}"


def test_plain_function_stays_plain_and_is_retried() -> None:
    """A decorated plain function runs when called (no coroutine) and retries listed errors."""
    slept: list[float] = []
    fn = SyncFlaky(ConnectionError("reset"), TimeoutError("slow"))
    wrapped = retry_with_backoff(max_retries=3, backoff_factor=2, base_delay=0.01,
                                 sleep=slept.append)(fn)
    assert not inspect.iscoroutinefunction(wrapped)
    assert wrapped(5) == "ok 5"
    assert fn.calls == 3
    assert len(slept) == 2 and 0.005 <= slept[0] <= 0.01 and 0.01 <= slept[1] <= 0.02


def test_seed_decorator_form_on_a_def_keeps_metadata() -> None:
    """The seed's form (keyword args over a plain def) returns the value, name and doc kept."""

    @retry_with_backoff(max_retries=3, backoff_factor=2, errors=(ConnectionError, TimeoutError))
    def fetch_api_data(api_endpoint: str, params: dict[str, str]) -> dict[str, str]:
        """Fetch data from API with retry logic."""
        return {"endpoint": api_endpoint, **params}

    assert fetch_api_data("/x", {"a": "1"}) == {"endpoint": "/x", "a": "1"}
    assert fetch_api_data.__name__ == "fetch_api_data"
    assert fetch_api_data.__doc__ == "Fetch data from API with retry logic."


def test_plain_function_gives_up_and_does_not_catch_unlisted() -> None:
    """A plain function re-raises the last listed error after max_retries; others at once."""
    slept: list[float] = []
    errs = [ConnectionError(str(i)) for i in range(3)]
    fn = SyncFlaky(*errs)
    with pytest.raises(ConnectionError) as info:
        retry_with_backoff(max_retries=2, base_delay=0.01, sleep=slept.append)(fn)(0)
    assert info.value is errs[2] and fn.calls == 3 and len(slept) == 2
    bug = SyncFlaky(ValueError("bug"))
    with pytest.raises(ValueError):
        retry_with_backoff(max_retries=5, sleep=slept.append)(bug)(0)
    assert bug.calls == 1


def test_async_sleep_hook_on_a_plain_function_is_refused() -> None:
    """A coroutine sleep hook cannot pace a plain function: TypeError at decoration."""
    with pytest.raises(TypeError, match="plain"):
        retry_with_backoff(sleep=Sleeps())(SyncFlaky())


class WrappedConnectionError(OSError):
    """Like ``requests.ConnectionError``: an OSError that is not a builtin ConnectionError."""


def _wrapped(cause: BaseException, *, suppress: bool = False) -> WrappedConnectionError:
    try:
        try:
            raise cause
        except BaseException:
            if suppress:
                raise WrappedConnectionError("connection aborted") from None
            raise WrappedConnectionError("connection aborted")  # noqa: B904 - the point
    except WrappedConnectionError as err:
        return err
    raise AssertionError("unreachable")


def test_library_error_raised_from_a_listed_error_is_retried() -> None:
    """An error raised while handling (or from) a ConnectionError counts as one."""
    slept: list[float] = []
    fn = SyncFlaky(_wrapped(ConnectionRefusedError("refused")), _wrapped(TimeoutError("t")))
    assert retry_with_backoff(base_delay=0.01, sleep=slept.append)(fn)(1) == "ok 1"
    assert fn.calls == 3


async def test_error_raised_from_none_is_not_followed() -> None:
    """``raise X from None`` hides its context: X alone decides (and is not listed here)."""
    fn = Flaky(_wrapped(ConnectionError("reset"), suppress=True))
    with pytest.raises(WrappedConnectionError):
        await retry_with_backoff(base_delay=0.01, sleep=Sleeps())(fn)(0)
    assert fn.calls == 1


def test_unrecognised_async_callable_is_an_error_not_a_silent_no_op() -> None:
    """A callable returning a coroutine without looking async fails loudly, never 'succeeds'."""

    async def inner() -> int:
        return 1

    def shim() -> Any:
        return inner()

    with pytest.raises(TypeError, match="awaitable"):
        retry_with_backoff()(shim)()
