"""Celery tasks: thin wrappers that convert arguments, call one function, and reschedule."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from workers.backoff import backoff_s
from workers.celery_app import app, piapi, poll_interval_s, sessions, sweep_policy
from workers.polling import poll_once
from workers.submission import RetryIn, Submitted, submit_once
from workers.sweeper import sweep

# A database that is restarting is waited out; every task re-reads the row, so a
# retried task does the right thing whatever happened meanwhile.
_DB_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": None,
}


def _backoff_for(task: Task) -> Callable[[float | None], float]:
    """The wait before this task's next try, growing with its retries."""

    def wait(retry_after: float | None) -> float:
        return backoff_s(task.request.retries, retry_after=retry_after)

    return wait


@app.task(bind=True, name="workers.tasks.submit_job", **_DB_RETRY)
def submit_job(self: Task, job_id: int) -> None:
    """Submit one accepted job to PiAPI, then start its poll chain."""
    outcome = submit_once(
        sessions(),
        piapi(),
        job_id,
        first_poll_in_s=poll_interval_s(),
        retry_wait_s=_backoff_for(self),
    )
    if isinstance(outcome, RetryIn):
        raise self.retry(countdown=outcome.wait_s)
    if isinstance(outcome, Submitted):
        poll_job.apply_async((job_id, str(outcome.token)), countdown=outcome.first_poll_in_s)


@app.task(bind=True, name="workers.tasks.poll_job", **_DB_RETRY)
def poll_job(self: Task, job_id: int, token: str) -> None:
    """Poll one job's PiAPI task once; reschedule itself until the job has ended."""
    outcome = poll_once(
        sessions(),
        piapi(),
        job_id,
        uuid.UUID(token),
        interval_s=poll_interval_s(),
        retry_wait_s=_backoff_for(self),
    )
    if outcome.next_poll_in_s is None:
        return
    if outcome.is_retry:
        raise self.retry(countdown=outcome.next_poll_in_s)
    poll_job.apply_async((job_id, token), countdown=outcome.next_poll_in_s)


@app.task(name="workers.tasks.sweep_jobs", **_DB_RETRY)
def sweep_jobs() -> None:
    """Beat's periodic pass over jobs that fell through (see workers/sweeper.py)."""
    sweep(
        sessions(),
        policy=sweep_policy(),
        enqueue_submit=lambda job_id: submit_job.delay(job_id),
        enqueue_poll=lambda job_id, token: poll_job.delay(job_id, str(token)),
    )
