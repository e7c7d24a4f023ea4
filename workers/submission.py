"""Submitting one job to PiAPI, paying at most once whatever happens around it."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from models import jobs
from models.db import utcnow
from models.jobs import Job, Status
from providers.catalogue import BY_KEY
from providers.piapi import (
    PiAPIClient,
    ProviderRejectedError,
    ProviderTransientError,
    SubmissionUnknownError,
)
from providers.prompts import build_task_request

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submitted:
    """PiAPI accepted the job: follow it with this token, first in first_poll_in_s."""

    token: uuid.UUID
    first_poll_in_s: float


def submit_once(
    sessions: sessionmaker[Session],
    client: PiAPIClient,
    job_id: int,
    *,
    first_poll_in_s: float,
) -> Submitted | None:
    """Claim the job, create its PiAPI task and record it. None: nothing left to follow.

    Raises ProviderTransientError only after handing the claim back, when PiAPI
    provably created nothing, so the caller may retry.
    """
    with sessions.begin() as session:
        if not jobs.claim_for_submit(session, job_id):
            return None  # a duplicate message: someone else claimed it, or it ended
        body = _request_body(session, job_id)

    # The claim is committed and no connection is held while PiAPI answers.
    try:
        result = client.create_task(body)
    except ProviderTransientError:
        with sessions.begin() as session:
            jobs.release_claim(session, job_id)
        raise
    except ProviderRejectedError as exc:
        _fail(sessions, job_id, "provider_rejected", str(exc))
        return None
    except SubmissionUnknownError as exc:
        # PiAPI may have accepted and will charge: resubmitting could pay twice.
        _fail(sessions, job_id, "submission_unknown", f"{exc}; not resubmitted")
        return None

    token = uuid.uuid4()
    with sessions.begin() as session:
        recorded = jobs.mark_submitted(
            session,
            job_id,
            task_id=result.task_id,
            token=token,
            next_poll_at=utcnow() + dt.timedelta(seconds=first_poll_in_s),
            response=dict(result.raw),
        )
    if not recorded:
        log.warning("job %s ended while PiAPI task %s was created", job_id, result.task_id)
        return None
    log.info("job %s submitted as PiAPI task %s", job_id, result.task_id)
    return Submitted(token, first_poll_in_s)


def fail_unsubmitted(sessions: sessionmaker[Session], job_id: int, code: str, message: str) -> bool:
    """End a job that never reached PiAPI (its claim was handed back)."""
    return _fail(sessions, job_id, code, message)


def _request_body(session: Session, job_id: int) -> dict[str, object]:
    job = session.get_one(Job, job_id)
    return build_task_request(
        BY_KEY[job.provider],
        mode=job.generation_mode,
        task_type=job.task_type,
        prompt=job.prompt,
        aspect_ratio=job.aspect_ratio,
        clip_s=job.actual_duration,
        image_url=job.image_url,
    )


def _fail(sessions: sessionmaker[Session], job_id: int, code: str, message: str) -> bool:
    with sessions.begin() as session:
        return jobs.finish(
            session,
            job_id,
            status=Status.FAILED,
            error_code=code,
            error_message=message,
        )
