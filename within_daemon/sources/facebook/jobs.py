"""Waiting for a Facebook async insights job (AdReportRun) with the patience Meta needs.

A job can sit at 0 % ("Job Not Started") for many minutes while Meta queues it, and large
jobs run for a long time; Airbyte allows an hour per job (docs/api-reference.md §0).
So a job is judged by two clocks: it has *stalled* when ``async_percent_completion`` has not
moved for ``stall_seconds`` (30 minutes by default), and it has *overrun* when it is still
not done after ``job_budget_seconds`` (one hour). Either way ``wait_for_job`` raises
``ReportStalledError`` and the connector re-creates the job once. Time comes from the
connector's ``Clock`` (``sources/http/clock.py``), so tests can spend hours of job time without
sleeping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...errors import ReportStalledError, TransientError
from ..http.clock import Clock
from .answers import JobStatus

DONE = "Job Completed"
FAILED = ("Job Failed", "Job Skipped")
#: Longest pause between two status polls: long jobs are polled every 30 seconds.
MAX_POLL_INTERVAL = 30.0



async def wait_for_job(
    run_id: str,
    poll: Callable[[str], Awaitable[JobStatus]],
    *,
    clock: Clock,
    poll_interval: float,
    stall_seconds: float,
    budget_seconds: float,
    platform: str,
    account_id: str,
) -> None:
    """Poll ``run_id`` until it completes; raise when it fails, stalls or overruns."""
    interval = poll_interval
    started = last_move = clock.now()
    last_pct = -1.0
    while True:
        await clock.sleep(interval)
        st = await poll(run_id)
        status, pct = st.async_status, st.async_percent_completion or 0.0
        if status == DONE:
            return
        if status in FAILED:
            raise TransientError(f"async report {run_id}: {status}",
                                 platform=platform, account_id=account_id)
        now = clock.now()
        if pct != last_pct:
            last_pct, last_move = pct, now
        elif now - last_move >= stall_seconds:
            raise ReportStalledError(
                f"async report {run_id} made no progress for {now - last_move:.0f}s "
                f"(stuck at {pct:.0f}%, {status or 'no status'}; stall_seconds = "
                f"{stall_seconds:g})",
                platform=platform, account_id=account_id,
            )
        if now - started >= budget_seconds:
            raise ReportStalledError(
                f"async report {run_id} still at {pct:.0f}% ({status or 'no status'}) after "
                f"{now - started:.0f}s (job_budget_seconds = {budget_seconds:g})",
                platform=platform, account_id=account_id,
            )
        interval = min(interval * 1.5, MAX_POLL_INTERVAL)
