"""Celery tasks: thin wrappers that convert arguments, call one function, and reschedule."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from celery import Task

from models.db import utcnow
from models.jobs import Job
from providers.piapi import ProviderTransientError
from workers.backoff import backoff_s
from workers.celery_app import app, piapi, poll_interval_s, sessions, sweep_policy
from workers.polling import poll_once
from workers.submission import fail_unsubmitted, submit_once
from workers.sweeper import sweep

log = logging.getLogger(__name__)


@app.task(bind=True, name="workers.tasks.submit_job", max_retries=None)
def submit_job(self: Task, job_id: int) -> None:
    """Submit one accepted job to PiAPI, then start its poll chain."""
    try:
        submitted = submit_once(sessions(), piapi(), job_id, first_poll_in_s=poll_interval_s())
    except ProviderTransientError as exc:
        wait = backoff_s(self.request.retries, retry_after=exc.retry_after)
        if not _time_left(job_id, wait):
            fail_unsubmitted(
                sessions(),
                job_id,
                "provider_unavailable",
                f"PiAPI kept refusing: {exc}",
            )
            return
        log.warning("job %s: create refused (%s); retrying in %.1fs", job_id, exc, wait)
        raise self.retry(countdown=wait, exc=exc) from exc
    if submitted is not None:
        poll_job.apply_async((job_id, str(submitted.token)), countdown=submitted.first_poll_in_s)


@app.task(bind=True, name="workers.tasks.poll_job", max_retries=None)
def poll_job(self: Task, job_id: int, token: str) -> None:
    """Poll one job's PiAPI task once; reschedule itself until the job has ended."""
    try:
        outcome = poll_once(
            sessions(), piapi(), job_id, uuid.UUID(token), interval_s=poll_interval_s()
        )
    except ProviderTransientError as exc:
        # The deadline check inside poll_once ends the job; until then keep asking.
        wait = backoff_s(self.request.retries, retry_after=exc.retry_after)
        log.warning("job %s: poll failed (%s); retrying in %.1fs", job_id, exc, wait)
        raise self.retry(countdown=wait, exc=exc) from exc
    if outcome.next_poll_in_s is not None:
        poll_job.apply_async((job_id, token), countdown=outcome.next_poll_in_s)


def _time_left(job_id: int, wait_s: float) -> bool:
    with sessions().begin() as session:
        job = session.get(Job, job_id)
        return job is not None and utcnow() + dt.timedelta(seconds=wait_s) < job.deadline_at


@app.task(name="workers.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> None:
    """Beat's periodic pass over jobs that fell through (see workers/sweeper.py)."""
    sweep(
        sessions(),
        policy=sweep_policy(),
        enqueue_submit=lambda job_id: submit_job.delay(job_id),
        enqueue_poll=lambda job_id, token: poll_job.delay(job_id, str(token)),
    )
