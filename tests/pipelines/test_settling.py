"""Settling schedule: which older days a run pulls again, on a fake calendar."""

from __future__ import annotations

from datetime import date, timedelta

from within_daemon.pipelines.settling import settle_plan

TODAY = date(2026, 12, 5)


def day(age: int) -> str:
    return (TODAY - timedelta(days=age)).isoformat()


def stamp(age: int) -> str:
    return f"{day(age)}T06:00:00.000000+00:00"


LOOKBACK = [day(a) for a in range(7, 0, -1)]


def test_nothing_due_while_every_old_day_was_pulled_recently() -> None:
    """Days pulled less than `every` days ago are not pulled again; they still count unsettled."""
    pulls = {day(a): stamp(min(a - 1, 3)) for a in range(1, 30)}
    plan = settle_plan(LOOKBACK, pulls, today=TODAY, horizon=28, every=7)
    assert plan.extra == ()
    assert plan.unsettled == 29


def test_due_batch_takes_every_unsettled_older_day_at_once() -> None:
    """One due day pulls all unsettled days older than the lookback, as one window."""
    pulls = {day(a): stamp(2) for a in range(8, 36)}
    pulls[day(20)] = stamp(10)  # last pulled ten days ago: due
    plan = settle_plan(LOOKBACK, pulls, today=TODAY, horizon=28, every=7)
    # days 30..35 were pulled two days ago at age >= 28: settled, not pulled again
    assert plan.extra == tuple(sorted(day(a) for a in range(8, 30)))


def test_settled_days_and_days_out_of_reach_are_left_alone() -> None:
    """A day pulled at least `horizon` days after it is settled; older than horizon+every: out."""
    pulls = {day(30): stamp(0), day(29): stamp(10), day(40): stamp(20), day(20): stamp(8)}
    plan = settle_plan(LOOKBACK, pulls, today=TODAY, horizon=28, every=7)
    # day 30 pulled today (age 30 >= 28): settled; day 29 pulled at age 19: not yet
    assert plan.extra == (day(29), day(20))
    assert plan.unsettled == 2


def test_each_day_gets_a_pull_after_its_horizon_with_daily_runs() -> None:
    """Simulated daily runs: every day ends settled, at a bounded number of pulls per day."""
    last: dict[date, date] = {}
    pulls_per_day: dict[date, int] = {}
    start = date(2026, 1, 1)
    for n in range(120):
        today = start + timedelta(days=n)
        window = [(today - timedelta(days=a)).isoformat() for a in range(7, 0, -1)]
        ledger = {d.isoformat(): f"{p.isoformat()}T01:00:00+00:00" for d, p in last.items()}
        plan = settle_plan(window, ledger, today=today, horizon=28, every=7)
        for d in (*window, *plan.extra):
            dd = date.fromisoformat(d)
            last[dd] = today
            pulls_per_day[dd] = pulls_per_day.get(dd, 0) + 1
    for d, p in last.items():
        if start + timedelta(days=10) <= d <= start + timedelta(days=70):
            assert (p - d).days >= 28, d  # the last pull came after the horizon
            assert pulls_per_day[d] <= 7 + 5  # lookback + at most (28 + 7 - 7) / 7 + 1


def test_horizon_zero_turns_settling_off() -> None:
    """settle_days = 0: no extra days and nothing counted."""
    pulls = {day(20): stamp(15)}
    assert settle_plan(LOOKBACK, pulls, today=TODAY, horizon=0, every=7).extra == ()
