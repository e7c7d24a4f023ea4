"""Celery tasks: thin wrappers that convert arguments, call one function, and reschedule.

Every task is sent with keyword arguments, so Flower and `celery inspect` show
`{'job_id': 42}` and an operator finds one job's tasks with Flower's search
`kwargs:job_id=42`. Positional messages (older senders) still run: the signatures
are unchanged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from models import log_context
from models.jobs import Job
from models.settings import get_settings
from providers.url_guard import refusal
from workers.backoff import backoff_s
from workers.callbacks import deliver_once
from workers.celery_app import (
    app,
    media_http,
    piapi,
    piapi_webhook_config,
    poll_planner,
    sessions,
    storage,
    sweep_policy,
    webhook_allow_private,
    webhook_http,
)
from workers.polling import poll_once
from workers.storing import StoreError, fail_or_retry, store_once
from workers.submission import Ended, RetryIn, Submitted, submit_once
from workers.sweeper import sweep

log = logging.getLogger(__name__)

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


def _send(deliveries: Iterable[str]) -> None:
    for delivery_id in deliveries:
        deliver_webhook.delay(delivery_id=delivery_id, attempt=1)


@app.task(bind=True, name="workers.tasks.submit_job", **_DB_RETRY)
def submit_job(self: Task, job_id: int) -> None:
    """Submit one accepted job to PiAPI, then start its poll chain."""
    outcome = submit_once(
        sessions(),
        piapi(),
        job_id,
        plan_poll=poll_planner(),
        retry_wait_s=_backoff_for(self),
        webhook_config=piapi_webhook_config(),
    )
    if isinstance(outcome, RetryIn):
        raise self.retry(countdown=outcome.wait_s)
    if isinstance(outcome, Ended):
        _send(outcome.deliveries)
    if isinstance(outcome, Submitted):
        poll_job.apply_async(
            kwargs={"job_id": job_id, "token": str(outcome.token)},
            countdown=outcome.first_poll_in_s,
        )


@app.task(bind=True, name="workers.tasks.poll_job", **_DB_RETRY)
def poll_job(self: Task, job_id: int, token: str) -> None:
    """Poll one job's PiAPI task once; reschedule itself until the job has ended."""
    outcome = poll_once(
        sessions(),
        piapi(),
        job_id,
        uuid.UUID(token),
        plan_poll=poll_planner(),
        retry_wait_s=_backoff_for(self),
    )
    _send(outcome.deliveries)
    if outcome.completed:
        store_job.delay(job_id=job_id)
    if outcome.next_poll_in_s is None:
        return
    if outcome.is_retry:
        raise self.retry(countdown=outcome.next_poll_in_s)
    poll_job.apply_async(
        kwargs={"job_id": job_id, "token": token}, countdown=outcome.next_poll_in_s
    )


@app.task(name="workers.tasks.check_job", **_DB_RETRY)
def check_job(job_id: int) -> None:
    """Poll a job once now (PiAPI told us it changed); the job's own chain goes on as before."""
    outcome = poll_once(
        sessions(),
        piapi(),
        job_id,
        None,
        plan_poll=poll_planner(),
        retry_wait_s=lambda retry_after: backoff_s(0, retry_after=retry_after),
    )
    _send(outcome.deliveries)
    if outcome.completed:
        store_job.delay(job_id=job_id)


@app.task(name="workers.tasks.cancel_at_piapi", **_DB_RETRY)
def cancel_at_piapi(job_id: int) -> None:
    """Ask PiAPI to cancel a canceled or expired job's task (it can only while pending)."""
    with sessions()() as session:
        job = session.get(Job, job_id)
        task_id = job.task_id if job is not None else None
    if task_id is None:
        return
    log_context.bind(task_id=task_id)
    cancelled = piapi().cancel_task(task_id)
    log.info("job %s: PiAPI %s the cancel", job_id, "accepted" if cancelled else "refused")


@app.task(bind=True, name="workers.tasks.deliver_webhook", **_DB_RETRY)
def deliver_webhook(self: Task, delivery_id: str, attempt: int) -> None:
    """One attempt at one webhook delivery; schedules the next attempt if it failed."""
    allow_private = webhook_allow_private()
    wait = deliver_once(
        sessions(),
        webhook_http(),
        delivery_id,
        attempt,
        refusal=lambda url: refusal(url, allow_private=allow_private),
    )
    if wait is not None:
        deliver_webhook.apply_async(
            kwargs={"delivery_id": delivery_id, "attempt": attempt + 1}, countdown=wait
        )


@app.task(name="workers.tasks.store_job", **_DB_RETRY)
def store_job(job_id: int) -> None:
    """Copy a completed job's files into our storage; retried with backoff, then failed."""
    settings = get_settings()
    try:
        store_once(
            sessions(), storage(), media_http(), job_id, max_bytes=settings.storage_max_bytes
        )
    except StoreError as exc:
        wait = fail_or_retry(
            sessions(),
            job_id,
            str(exc),
            max_attempts=settings.storage_max_attempts,
            wait_s=lambda attempt: settings.storage_retry_base_s * 2 ** (attempt - 1),
        )
        if wait is not None:
            store_job.apply_async(kwargs={"job_id": job_id}, countdown=wait)


class _CeleryNudges:
    def submit(self, job_id: int) -> None:
        submit_job.delay(job_id=job_id)

    def poll(self, job_id: int, token: uuid.UUID) -> None:
        poll_job.delay(job_id=job_id, token=str(token))

    def deliver(self, delivery_id: str, attempt: int) -> None:
        deliver_webhook.delay(delivery_id=delivery_id, attempt=attempt)

    def cancel_remote(self, job_id: int) -> None:
        cancel_at_piapi.delay(job_id=job_id)

    def store(self, job_id: int) -> None:
        store_job.delay(job_id=job_id)


@app.task(name="workers.tasks.sweep_jobs", **_DB_RETRY)
def sweep_jobs() -> None:
    """Beat's periodic pass over jobs that fell through (see workers/sweeper.py)."""
    sweep(sessions(), policy=sweep_policy(), nudges=_CeleryNudges())
