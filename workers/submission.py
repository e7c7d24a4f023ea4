"""Submitting one job to PiAPI, paying at most once whatever happens around it."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from infra import log_context
from models import create_outcome, jobs
from models.db import utcnow
from models.jobs import Job
from providers.catalogue import BY_KEY
from providers.piapi import (
    PiAPIClient,
    ProviderRejectedError,
    ProviderTransientError,
    SubmissionUnknownError,
)
from providers.plans import END_FRAME_OPTION
from providers.prompts import build_task_request
from providers.results import TaskResult
from providers.upload_urls import UploadURLs
from workers.endings import fail_job
from workers.polling import Planner, PollSubject
from workers.resources import HookConfig
from workers.starting import Claim

log = logging.getLogger(__name__)


# Writing down PiAPI's task id is retried this long before the job is left to the
# sweeper (in doubt, or submission_unknown with PiAPI's webhooks off): the task exists
# and is paid for, so it is worth waiting out a database restart.
RECORD_ATTEMPTS_S = (0.5, 1, 2, 4, 8, 16)


@dataclass(frozen=True, slots=True)
class Submitted:
    """PiAPI accepted the job: follow it with this token, first in first_poll_in_s."""

    token: uuid.UUID
    first_poll_in_s: float
    job_id: int  # the job claimed: with a claim of the next in line, not the message's


@dataclass(frozen=True, slots=True)
class RetryIn:
    """PiAPI provably created nothing; the claim is handed back and is due again in wait_s."""

    wait_s: float


@dataclass(frozen=True, slots=True)
class Ended:
    """The job failed at submission; deliveries are its webhook events to send."""

    deliveries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Claim:
    """This worker's claim on a job: which job, its attempt number and the create to send."""

    job_id: int
    attempt: int
    body: dict[str, object]
    subject: PollSubject


def submit_once(
    sessions: sessionmaker[Session],
    client: PiAPIClient,
    job_id: int | None,
    *,
    plan_poll: Planner,
    retry_wait_s: Callable[[float | None], float],
    webhook_config: HookConfig | None = None,
    claim: Claim | None = None,
    upload_urls: UploadURLs | None = None,
) -> Submitted | RetryIn | Ended | None:
    """Claim the job, create its PiAPI task and record it. None: nothing left to do.

    retry_wait_s maps PiAPI's Retry-After (or None) to the wait before the next try.
    webhook_config, when given, asks PiAPI to call us back at an endpoint naming the job;
    then a create whose outcome is unknown waits in doubt for that callback instead of
    failing at once. claim, when given, claims whichever job it picks (the next in line
    under PiAPI's budget, workers/starting.py) instead of job_id. upload_urls makes the
    URLs of the job's uploaded images (needed when it has some).
    """
    claimed = _claim(sessions, job_id, webhook_config, pick=claim, upload_urls=upload_urls)
    if claimed is None:
        return None  # a duplicate message: someone else claimed it, or it ended; or no slot
    job_id = claimed.job_id
    log_context.bind(job_id=job_id)
    if not _mark_sent(sessions, job_id, claimed):
        return None  # the sweeper handed this stalled claim back; another worker has it
    # The claim and the mark are committed, and no connection is held while PiAPI answers.
    try:
        result = client.create_task(claimed.body)
    except ProviderTransientError as exc:  # provably nothing created: send again later
        return _retry_later(sessions, job_id, claimed, exc, retry_wait_s)
    except ProviderRejectedError as exc:
        return _fail(sessions, job_id, "provider_rejected", str(exc))
    except SubmissionUnknownError as exc:  # PiAPI may have created it, and will charge
        return _in_doubt(sessions, job_id, exc, adopts=webhook_config is not None)
    return _record(sessions, client, job_id, claimed, result, plan_poll)


def _claim(
    sessions: sessionmaker[Session],
    job_id: int | None,
    webhook_config: HookConfig | None,
    *,
    pick: Claim | None,
    upload_urls: UploadURLs | None,
) -> _Claim | None:
    with sessions.begin() as session:
        if pick is not None:
            job_id = pick(session)  # claims it too (models/budget.py)
        elif job_id is not None and jobs.claim_for_submit(session, job_id) is None:
            job_id = None
        if job_id is None:
            return None
        job = session.get_one(Job, job_id)
        image_url, options = _image_urls(job, upload_urls)
        body = build_task_request(
            BY_KEY[job.provider],
            mode=job.generation_mode,
            task_type=job.task_type,
            prompt=job.prompt,
            aspect_ratio=job.aspect_ratio,
            clip_s=job.actual_duration,
            image_url=image_url,
            options=options,
        )
        if webhook_config is not None:
            assert job.hook_token is not None  # every claim gives the job one
            body["config"] = {"webhook_config": webhook_config(job.hook_token)}
        return _Claim(job_id, job.submit_attempts, body, PollSubject.of(job))


def _image_urls(
    job: Job, upload_urls: UploadURLs | None
) -> tuple[str | None, dict[str, Any] | None]:
    """The job's image URL and options, with uploads' URLs made now, valid to the deadline."""
    image_url, options = job.image_url, job.options
    if not (job.image_key or job.end_image_key):
        return image_url, options
    if upload_urls is None:
        raise ValueError(f"job {job.id} uses uploads: submit_once needs upload_urls")
    valid_for_s = (job.deadline_at - utcnow()).total_seconds()
    if job.image_key:
        image_url = upload_urls.for_piapi(job.image_key, valid_for_s=valid_for_s)
    if job.end_image_key:
        end_url = upload_urls.for_piapi(job.end_image_key, valid_for_s=valid_for_s)
        options = {**(options or {}), END_FRAME_OPTION: end_url}
    return image_url, options


def _mark_sent(sessions: sessionmaker[Session], job_id: int, claim: _Claim) -> bool:
    # Its own commit, right before the call: a worker that dies before this line leaves a
    # claim the sweeper can safely hand back; after it, the create may have left.
    with sessions.begin() as session:
        return create_outcome.mark_create_sent(session, job_id, attempt=claim.attempt)


def _retry_later(
    sessions: sessionmaker[Session],
    job_id: int,
    claim: _Claim,
    exc: ProviderTransientError,
    retry_wait_s: Callable[[float | None], float],
) -> RetryIn | Ended | None:
    wait = retry_wait_s(exc.retry_after)
    retry_at = utcnow() + dt.timedelta(seconds=wait)
    if retry_at >= claim.subject.deadline_at:
        return _fail(sessions, job_id, "provider_unavailable", f"PiAPI kept refusing: {exc}")
    with sessions.begin() as session:
        released = jobs.release_claim(session, job_id, retry_at=retry_at)
    if not released:
        return None  # ended (canceled, say) while PiAPI refused
    log.warning("job %s: create not sent or refused (%s); retry in %.1fs", job_id, exc, wait)
    return RetryIn(wait)


def _in_doubt(
    sessions: sessionmaker[Session], job_id: int, exc: SubmissionUnknownError, *, adopts: bool
) -> Ended | None:
    if not adopts:
        # Nothing can ever tell us the task id: a clear failure beats paying twice.
        return _fail(
            sessions, job_id, "submission_unknown", f"{exc}; not resubmitted", doubted_at=utcnow()
        )
    with sessions.begin() as session:
        waiting = create_outcome.mark_in_doubt(session, job_id)
    log.warning(
        "job %s: create outcome unknown (%s); %s",
        job_id,
        exc,
        "in doubt, waiting for PiAPI's callback" if waiting else "already adopted or ended",
    )
    return None


def _record(
    sessions: sessionmaker[Session],
    client: PiAPIClient,
    job_id: int,
    claim: _Claim,
    result: TaskResult,
    plan_poll: Planner,
) -> Submitted | None:
    log_context.bind(task_id=result.task_id)
    token = uuid.uuid4()
    first_poll_in_s = plan_poll(claim.subject, None)
    if _record_submission(
        sessions, job_id, result.task_id, token, first_poll_in_s, dict(result.raw)
    ):
        log.info("job %s submitted as PiAPI task %s", job_id, result.task_id)
        return Submitted(token, first_poll_in_s, job_id)
    if _known_task(sessions, job_id) == result.task_id:
        # PiAPI's callback at creation beat this answer and adopted the task; the chain
        # it started follows the job (one chain per job), and the task is the job's.
        log.info(
            "job %s: PiAPI task %s was already adopted from its callback", job_id, result.task_id
        )
        return None
    # Canceled (or timed out) while the create was in flight: do not leave the task
    # running at PiAPI. It is only cancellable while still pending there.
    cancelled = client.cancel_task(result.task_id)
    log.warning(
        "job %s ended while PiAPI task %s was created; cancel %s",
        job_id,
        result.task_id,
        "accepted" if cancelled else "refused",
    )
    return None


def _known_task(sessions: sessionmaker[Session], job_id: int) -> str | None:
    with sessions() as session:
        return session.execute(select(Job.task_id).where(Job.id == job_id)).scalar_one_or_none()


def _record_submission(
    sessions: sessionmaker[Session],
    job_id: int,
    task_id: str,
    token: uuid.UUID,
    first_poll_in_s: float,
    response: dict[str, object],
) -> bool:
    for pause_s in (*RECORD_ATTEMPTS_S, None):
        try:
            with sessions.begin() as session:
                return jobs.mark_submitted(
                    session,
                    job_id,
                    task_id=task_id,
                    token=token,
                    next_poll_at=utcnow() + dt.timedelta(seconds=first_poll_in_s),
                    response=response,
                )
        except OperationalError:
            if pause_s is None:
                # The task id is in this line for a human to reconcile; the sweeper
                # will fail the job as submission_unknown.
                log.error("job %s: PiAPI task %s created but not recorded", job_id, task_id)
                raise
            log.warning("job %s: database unavailable; retrying the record", job_id)
            time.sleep(pause_s)
    raise AssertionError("unreachable")


def _fail(
    sessions: sessionmaker[Session], job_id: int, code: str, message: str, **fields: Any
) -> Ended | None:
    deliveries = fail_job(sessions, job_id, code, message, **fields)
    return None if deliveries is None else Ended(deliveries)
