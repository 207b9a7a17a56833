"""API cost of the settling schedule: pulls per day of data and extra request windows per run.

Simulates daily runs over a fake calendar with ``pipelines.settling.settle_plan`` (the code
the engine runs) for each platform's default horizon, and prints, in steady state, how many
times each day of data is pulled (lookback + settling), how many older days a run adds, and
how many extra request windows that is (consecutive days group into windows of the
platform's ``window_days``). Deterministic: no network, no clock.

    python bench/settling_cost.py [--lookback 7] [--every 7] [--days 200]
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from within_daemon.pipelines.settling import settle_plan
from within_daemon.pipelines.source_actor import windows

#: platform -> (settle_days default, window_days default)
PLATFORMS = {"facebook": (28, 7), "google": (30, 7), "amazon": (14, 31), "tiktok": (28, 30)}


def simulate(horizon: int, window_days: int, lookback: int, every: int,
             days: int) -> tuple[int, int, float, float, float]:
    last: dict[date, date] = {}
    pulls: dict[date, int] = {}
    extra_days = extra_windows = runs = 0
    start = date(2026, 1, 1)
    warmup = horizon + every + lookback + 7
    for n in range(days):
        today = start + timedelta(days=n)
        window = [(today - timedelta(days=a)).isoformat() for a in range(lookback, 0, -1)]
        ledger = {d.isoformat(): f"{p.isoformat()}T01:00:00+00:00" for d, p in last.items()}
        plan = settle_plan(window, ledger, today=today, horizon=horizon, every=every)
        if n >= warmup:
            runs += 1
            extra_days += len(plan.extra)
            extra_windows += len(windows(list(plan.extra), window_days))
        for d in (*window, *plan.extra):
            dd = date.fromisoformat(d)
            last[dd] = today
            pulls[dd] = pulls.get(dd, 0) + 1
    mid = [pulls[start + timedelta(days=k)] for k in range(warmup, days - horizon - every)]
    return (min(mid), max(mid), sum(mid) / len(mid), extra_days / runs, extra_windows / runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lookback", type=int, default=7)
    ap.add_argument("--every", type=int, default=7)
    ap.add_argument("--days", type=int, default=200)
    args = ap.parse_args()
    print("platform  horizon  pulls/day(min-max, avg)  extra days/run  extra windows/run")
    for name, (horizon, window_days) in PLATFORMS.items():
        lo, hi, avg, xd, xw = simulate(horizon, window_days, args.lookback, args.every,
                                       args.days)
        print(f"{name:9} {horizon:7}  {lo}-{hi} ({avg:.2f}){'':13} {xd:14.2f}  {xw:17.2f}")


if __name__ == "__main__":
    main()
