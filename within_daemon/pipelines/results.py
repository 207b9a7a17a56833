"""What a task run returns, the one ending every kind of run shares, and how results print.

:class:`TaskResult` (one per task run) holds an :class:`AccountResult` per account (or per
dataset, or ``*`` for a database-wide run). :func:`finish` is the single place a run's
overall status is decided and its run metrics are written, whatever kind of pipeline ran.
:func:`print_results` and :func:`exit_code` are the CLI's table and exit status; they live
here so that ``cli`` and ``demo`` both use them without importing each other.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

import msgspec

from ..observability.metrics import Metrics

#: The CLI's exit codes for a run: every task succeeded, or not (see ``within_daemon.cli``).
EXIT_OK, EXIT_FAILED = 0, 1


class AccountResult(msgspec.Struct):
    account_id: str
    platform: str
    run_id: str | None
    status: str
    fetched: int = 0
    loaded: int = 0
    quarantined: int = 0
    days_requested: int = 0
    days_skipped: int = 0
    days_completed: int = 0
    days_restated: int = 0
    #: Older days pulled again by the settling schedule (pipelines/settling.py).
    days_settling: int = 0
    #: Days of this run that are over in the account's time zone (the others can't finish).
    days_final: int = 0
    error: str | None = None
    resumed: bool = False


class TaskResult(msgspec.Struct):
    task: str
    pipeline: str
    window: tuple[str, str]
    status: str
    duration_seconds: float
    accounts: list[AccountResult]

    @property
    def fetched(self) -> int:
        return sum(a.fetched for a in self.accounts)

    @property
    def loaded(self) -> int:
        return sum(a.loaded for a in self.accounts)

    @property
    def quarantined(self) -> int:
        return sum(a.quarantined for a in self.accounts)

    @property
    def success(self) -> bool:
        return self.status == "success"


def overall(statuses: list[str]) -> str:
    """A run's status from its accounts': all fine, all failed, or partial."""
    if not statuses or all(s in ("success", "skipped") for s in statuses):
        return "success"
    if all(s in ("failed", "interrupted") for s in statuses):
        return "failed"
    return "partial"


def finish(task_name: str, pipeline: str, window: tuple[date, date], t0: float,
           results: list[AccountResult], metrics: Metrics) -> TaskResult:
    """End a run of any kind: its status, its run metrics, its result."""
    status = overall([r.status for r in results])
    wanted = sum(r.days_final for r in results)
    if wanted:
        done = sum(r.days_completed for r in results)
        metrics.ledger_completeness.labels(task_name).set(done / wanted)
    dur = time.monotonic() - t0
    metrics.runs.labels(task_name, status).inc()
    metrics.run_duration.labels(task_name).observe(dur)
    if status == "success":
        metrics.last_success.labels(task_name).set(time.time())
    return TaskResult(task_name, pipeline, (window[0].isoformat(), window[1].isoformat()),
                      status, round(dur, 3), results)


def result_dict(res: TaskResult) -> dict[str, Any]:
    """The seed's pipeline result shape, plus our counts."""
    return {
        "success": res.success,
        "status": res.status,
        "records_processed": res.loaded,
        "records_fetched": res.fetched,
        "records_quarantined": res.quarantined,
        "duration_seconds": res.duration_seconds,
        "error": "; ".join(f"{a.account_id}: {a.error}" for a in res.accounts if a.error) or None,
        "accounts": [msgspec.structs.asdict(a) for a in res.accounts],
    }


def print_results(results: Sequence[TaskResult], out: TextIO | None = None) -> None:
    """One line per task run, then one per account that did not simply succeed."""
    out = out if out is not None else sys.stdout
    print(f"{'task':<28} {'status':<8} {'fetched':>9} {'loaded':>9} {'quarantined':>11} "
          f"{'accounts':>8} {'seconds':>8}", file=out)
    for r in results:
        print(f"{r.task:<28} {r.status:<8} {r.fetched:>9} {r.loaded:>9} {r.quarantined:>11} "
              f"{len(r.accounts):>8} {r.duration_seconds:>8.1f}", file=out)
        for a in r.accounts:
            if a.status != "success" or a.error:
                print(f"  {a.platform}/{a.account_id}: {a.status}"
                      + (f": {a.error}" if a.error else ""), file=out)


def exit_code(results: Sequence[TaskResult]) -> int:
    """The CLI's exit status for a set of runs: 0 when every one succeeded, else 1."""
    return EXIT_OK if all(r.success for r in results) else EXIT_FAILED
