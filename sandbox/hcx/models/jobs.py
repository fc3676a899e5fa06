"""Jobs: the asynchronous handle of site pairing and network extension (`GET /jobs/{id}`).

A job runs for a fixed simulated duration; `percentComplete` grows with time and the job's effect
(the pairing, the extension) is applied by its completion callback at the instant the job ends,
which may also mark it failed. Field names follow hcx-api.md §3.1; `jobType` and `jobData` beyond
`jobData.endpoint` are inferred (hcx-api.md §3.1). This module depends on the standard library and
the core only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.hcx.exceptions import NotFound
from sandbox.hcx.models.core import Core, operation

__all__ = ["Job", "JobsMixin"]

# How long a finished job stays queryable before HCX would expire it.
_JOB_RETENTION_MS = 24 * 3600 * 1000


@dataclass
class Job:
    job_id: str
    job_type: str  # inferred: hcx-api.md §3.1 (a jobType string is probably present)
    username: str
    created: float
    duration: float
    done: bool = False
    failed: bool = False
    ended: float | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def percent(self, now: float) -> int:
        if self.done:
            return 100
        if self.duration <= 0:
            return 99
        return min(99, int(100 * (now - self.created) / self.duration))

    def to_wire(self, core: Core) -> dict[str, Any]:
        created = core.epoch_ms(self.created)
        end = core.epoch_ms(self.ended) if self.ended is not None else 0
        wire: dict[str, Any] = {
            "jobId": self.job_id,
            "jobType": self.job_type,
            "enterprise": "HybridityAdmin",
            "organization": "DEFAULT",
            "username": self.username,
            "isQueued": False,
            "isCancelled": False,
            "isRolledBack": False,
            "createTimeEpoch": created,
            "absoluteExpireTimeEpoch": created + _JOB_RETENTION_MS,
            "startTime": created,
            "endTime": end,
            "percentComplete": self.percent(core.now),
            "isDone": self.done,
            "didFail": self.failed,
            "timeToExecute": end - created if end else 0,
            "jobData": dict(self.data),
        }
        if self.message:
            # inferred: hcx-api.md §3.1 shows no error field; clients read didFail and tolerate extras
            wire["errorMessage"] = self.message
        return wire


class JobsMixin(Core):
    def _init_jobs(self) -> None:
        self.jobs: dict[str, Job] = {}

    def new_job(self, job_type: str, duration: float, username: str, on_done: Callable[[Job], None]) -> Job:
        job = Job(self.ids.uuid(), job_type, username, self.now, duration)
        self.jobs[job.job_id] = job

        def finish() -> None:
            job.done = True
            job.ended = self.now
            on_done(job)
            self.record("job_done", job=job.job_id, job_type=job_type, failed=job.failed)

        self.timeline.at(self.now + duration, finish)
        self.record("job_created", job=job.job_id, job_type=job_type)
        return job

    @operation
    def get_job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        return job
