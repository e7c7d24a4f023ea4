"""Celery tasks: thin wrappers that convert arguments, call one function, and send what follows.

Every message is sent through infra/messages.py (by name, with keyword arguments); the
signatures here are what those messages carry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from infra import log_context
from models.jobs import Job
from workers.backoff import backoff_s
from workers.callbacks import deliver_once
from workers.celery_app import app, current
from workers.polling import poll_once
from workers.resources import Resources
from workers.starting import next_in_line, refused_wait_s, slot_freed
from workers.storing import STORE_RETRY_BASE_S, StoreError, fail_or_retry, store_once
from workers.submission import Ended, RetryIn, Submitted, submit_once
from workers.sweeper import sweep

log = logging.getLogger(__name__)

# A database that is restarting is waited out; every task re-reads the row, so a
# retried task does the right thing whatever happened meanwhile.
_DB_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": None,
}


def _backoff_for(task: Task[Any, Any]) -> Callable[[float | None], float]:
    """The wait before this task's next try, growing with its retries."""

    def wait(retry_after: float | None) -> float:
        return backoff_s(task.request.retries, retry_after=retry_after)

    return wait


def _deliver(deliveries: tuple[str, ...]) -> None:
    for delivery_id in deliveries:
        current().messages.deliver(delivery_id)


@app.task(bind=True, name="workers.tasks.submit_job", **_DB_RETRY)
def submit_job(self: Task[Any, Any], job_id: int) -> None:
    """Submit one accepted job to PiAPI, then start its poll chain.

    Under PiAPI's budget the message only says a job arrived: the next job in line starts,
    if a slot is free, and that may be another tenant's.
    """
    res = current()
    if res.settings.piapi_max_concurrent_tasks is not None:
        _start_next(res)
        return
    outcome = submit_once(
        res.sessions,
        res.piapi,
        job_id,
        plan_poll=res.plan_poll,
        retry_wait_s=_backoff_for(self),
        webhook_config=res.piapi_webhook_config,
        upload_urls=res.upload_urls,
    )
    if isinstance(outcome, RetryIn):
        raise self.retry(countdown=outcome.wait_s)
    if isinstance(outcome, Ended):
        _deliver(outcome.deliveries)
    if isinstance(outcome, Submitted):
        res.messages.poll(job_id, outcome.token, countdown=outcome.first_poll_in_s)


@app.task(name="workers.tasks.start_waiting", **_DB_RETRY)
def start_waiting() -> None:
    """Start the next waiting job (round-robin across tenants) if PiAPI's budget has a slot."""
    _start_next(current())


def _start_next(res: Resources) -> None:
    limit = res.settings.piapi_max_concurrent_tasks
    if limit is None:
        return  # no budget: each job's own submit message starts it
    outcome = submit_once(
        res.sessions,
        res.piapi,
        None,
        plan_poll=res.plan_poll,
        retry_wait_s=refused_wait_s,
        webhook_config=res.piapi_webhook_config,
        claim=next_in_line(limit),
        upload_urls=res.upload_urls,
    )
    if isinstance(outcome, Submitted):
        res.messages.poll(outcome.job_id, outcome.token, countdown=outcome.first_poll_in_s)
    elif isinstance(outcome, RetryIn):
        # The job is back in line, due after Retry-After: then its slot's nudge comes.
        slot_freed(res.messages, limit, countdown=outcome.wait_s)
    elif isinstance(outcome, Ended):
        _deliver(outcome.deliveries)
        slot_freed(res.messages, limit)


@app.task(bind=True, name="workers.tasks.poll_job", **_DB_RETRY)
def poll_job(self: Task[Any, Any], job_id: int, token: str) -> None:
    """Poll one job's PiAPI task once; reschedule itself until the job has ended."""
    res = current()
    outcome = poll_once(
        res.sessions,
        res.piapi,
        job_id,
        uuid.UUID(token),
        plan_poll=res.plan_poll,
        retry_wait_s=_backoff_for(self),
    )
    _deliver(outcome.deliveries)
    if outcome.completed:
        res.messages.store(job_id)
    if outcome.ended:
        slot_freed(res.messages, res.settings.piapi_max_concurrent_tasks)
    if outcome.next_poll_in_s is None:
        return
    if outcome.is_retry:
        raise self.retry(countdown=outcome.next_poll_in_s)
    res.messages.poll(job_id, uuid.UUID(token), countdown=outcome.next_poll_in_s)


# PiAPI told us the task changed: if it cannot answer our check, ask again soon, a few
# times, rather than leave the news to the chain's next poll (with PiAPI's webhooks on,
# a sparse safety poll) or to the sweeper.
CHECK_RETRIES = 5


@app.task(bind=True, name="workers.tasks.check_job", **_DB_RETRY)
def check_job(self: Task[Any, Any], job_id: int) -> None:
    """Poll a job once now (PiAPI told us it changed); the job's own chain goes on as before."""
    res = current()
    outcome = poll_once(
        res.sessions,
        res.piapi,
        job_id,
        None,
        plan_poll=res.plan_poll,
        retry_wait_s=_backoff_for(self),
    )
    _deliver(outcome.deliveries)
    if outcome.completed:
        res.messages.store(job_id)
    if outcome.ended:
        slot_freed(res.messages, res.settings.piapi_max_concurrent_tasks)
    if outcome.is_retry and self.request.retries < CHECK_RETRIES:
        raise self.retry(countdown=outcome.next_poll_in_s, max_retries=CHECK_RETRIES)


@app.task(name="workers.tasks.cancel_at_piapi", **_DB_RETRY)
def cancel_at_piapi(job_id: int) -> None:
    """Ask PiAPI to cancel a canceled or expired job's task (it can only while pending)."""
    res = current()
    with res.sessions() as session:
        job = session.get(Job, job_id)
        task_id = job.task_id if job is not None else None
    if task_id is None:
        return
    log_context.bind(task_id=task_id)
    cancelled = res.piapi.cancel_task(task_id)
    log.info("job %s: PiAPI %s the cancel", job_id, "accepted" if cancelled else "refused")


@app.task(name="workers.tasks.deliver_webhook", **_DB_RETRY)
def deliver_webhook(delivery_id: str, attempt: int) -> None:
    """One attempt at one webhook delivery; schedules the next attempt if it failed."""
    res = current()
    # The guarded session checks the address it connects to (no second lookup).
    wait = deliver_once(res.sessions, res.webhook_http, delivery_id, attempt)
    if wait is not None:
        res.messages.deliver(delivery_id, attempt + 1, countdown=wait)


@app.task(name="workers.tasks.store_job", **_DB_RETRY)
def store_job(job_id: int) -> None:
    """Copy a completed job's files into our storage; retried with backoff, then failed."""
    res = current()
    settings = res.settings
    try:
        store_once(
            res.sessions, res.storage, res.media_http, job_id, max_bytes=settings.storage_max_bytes
        )
    except StoreError as exc:
        wait = fail_or_retry(
            res.sessions,
            job_id,
            str(exc),
            max_attempts=settings.storage_max_attempts,
            wait_s=lambda attempt: STORE_RETRY_BASE_S * 2 ** (attempt - 1),
        )
        if wait is not None:
            res.messages.store(job_id, countdown=wait)


@app.task(name="workers.tasks.sweep_jobs", **_DB_RETRY)
def sweep_jobs() -> None:
    """Beat's periodic pass over jobs that fell through (see workers/sweeper.py)."""
    res = current()
    sweep(res.sessions, policy=res.sweep_policy, messages=res.messages, storage=res.storage)
