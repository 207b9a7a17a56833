"""Async insights report jobs (AdReportRun) for the Facebook emulator.

A job stores the parsed query at creation and only moves when it is polled: each status poll
advances ``async_percent_completion`` by a fixed step, so a test controls progress by
polling, not by sleeping. The ``job_fail``, ``job_stall`` and ``job_queued`` faults act here.

``job_queued`` keeps a job that has not started at 0 % "Job Not Started" for as many polls
as the fault's count: Meta queues report runs, and a job can sit there for many minutes
before it moves (docs/api-reference.md section 0; Airbyte's connector allows an hour
per job for this reason).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from within_daemon.sandbox.facebook.query import InsightsQuery
from within_daemon.sandbox.faults import FaultPlan

DONE = ("Job Completed", "Job Failed")


@dataclass(slots=True)
class ReportJob:
    """One report run: its query and how far it has got."""

    id: str
    account_id: str
    query: InsightsQuery
    time_ref: int
    polls: int = 0
    percent: int = 0
    status: str = "Job Not Started"
    time_completed: int | None = None

    def as_graph(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": self.id, "account_id": self.account_id, "time_ref": self.time_ref,
            "async_status": self.status, "async_percent_completion": self.percent,
            "date_start": self.query.date_start, "date_stop": self.query.date_stop,
            "is_running": self.status not in DONE,
        }
        if self.time_completed is not None:
            obj["time_completed"] = self.time_completed
        return obj


class JobStore:
    """The jobs of one emulator, with ids that cannot clash with generated object ids."""

    def __init__(self, faults: FaultPlan, step: int) -> None:
        self.faults = faults
        self.step = step
        self.jobs: dict[str, ReportJob] = {}

    def create(self, account_id: str, query: InsightsQuery) -> ReportJob:
        job_id = str(6_000_000_000_000_000 + len(self.jobs) + 1)
        job = self.jobs[job_id] = ReportJob(job_id, account_id, query, int(time.time()))
        return job

    def get(self, job_id: str) -> ReportJob | None:
        return self.jobs.get(job_id)

    def poll(self, job: ReportJob) -> None:
        """Advance a job one step; the first poll still reports it as not started."""
        job.polls += 1
        if job.status in DONE:
            return
        faults, acct = self.faults, job.account_id
        if job.percent == 0 and faults.take("job_queued", acct, "job"):
            job.status = "Job Not Started"
            return
        if job.polls > 1:
            target = min(100, job.percent + self.step)
            stall = faults.take("job_stall", acct, "job", when=lambda f: target > f.param("at", 50))
            if stall is not None:
                target = max(job.percent, min(target, stall.param("at", 50)))
            job.percent = target
        if faults.take("job_fail", acct, "job", when=lambda f: job.percent >= f.param("at", 0)):
            job.status = "Job Failed"
        elif job.percent >= 100:
            job.status = "Job Completed"
            job.time_completed = int(time.time())
        elif job.percent > 0:
            job.status = "Job Running"
        else:
            job.status = "Job Not Started" if job.polls == 1 else "Job Started"
