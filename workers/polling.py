"""Following one PiAPI task: ask once, record what it says, decide when to ask again."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from models import jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status
from providers.piapi import PiAPIClient, ProviderRejectedError, ProviderTransientError
from providers.results import RemoteState, TaskResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What the poll chain does next: ask again in next_poll_in_s, or stop (None).

    is_retry marks a poll that PiAPI could not answer: the chain backs off.
    """

    next_poll_in_s: float | None
    is_retry: bool = False


STOP = PollOutcome(None)


def poll_once(
    sessions: sessionmaker[Session],
    client: PiAPIClient,
    job_id: int,
    token: uuid.UUID,
    *,
    interval_s: float,
    retry_wait_s: Callable[[float | None], float],
) -> PollOutcome:
    """Ask PiAPI once and record the answer. Safe to run twice, late, or from a stale chain."""
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        if job is None or job.phase != Phase.POLLING or job.poll_token != token:
            return STOP  # a stale chain, or the job already ended
        task_id, deadline = job.task_id, job.deadline_at
    assert task_id is not None  # polling implies PiAPI gave us an id

    if utcnow() >= deadline:
        with sessions.begin() as session:
            jobs.finish(
                session,
                job_id,
                status=Status.FAILED,
                token=token,
                error_code="timeout",
                error_message="PiAPI did not finish the task before the job's deadline.",
            )
        return STOP

    try:
        result = client.get_task(task_id)  # no DB connection is held during this call
    except ProviderTransientError as exc:
        wait = retry_wait_s(exc.retry_after)
        with sessions.begin() as session:
            # The sweeper reads next_poll_at: a long backoff is not a lost chain.
            alive = jobs.postpone_poll(
                session, job_id, token=token, next_poll_at=utcnow() + dt.timedelta(seconds=wait)
            )
        log.warning("job %s: poll failed (%s); retry in %.1fs", job_id, exc, wait)
        return PollOutcome(wait, is_retry=True) if alive else STOP
    except ProviderRejectedError as exc:
        with sessions.begin() as session:
            jobs.finish(
                session,
                job_id,
                status=Status.FAILED,
                token=token,
                error_code="provider_task_lost",
                error_message=str(exc),
            )
        return STOP

    with sessions.begin() as session:
        if result.is_final:
            record_verdict(session, job_id, result, token=token)
            return STOP
        recorded = jobs.record_poll(
            session,
            job_id,
            token=token,
            progress=result.progress,
            next_poll_at=utcnow() + dt.timedelta(seconds=interval_s),
            response=dict(result.raw),
        )
    return PollOutcome(interval_s) if recorded else STOP


def record_verdict(
    session: Session, job_id: int, result: TaskResult, *, token: uuid.UUID | None
) -> bool:
    """Store PiAPI's final verdict on the job; False if the job had already ended."""
    raw = dict(result.raw)
    if result.state is RemoteState.COMPLETED and result.media.video_url:
        media = result.media
        ended = jobs.finish(
            session,
            job_id,
            status=Status.COMPLETED,
            token=token,
            counts_poll=True,
            provider_response=raw,
            video_url=media.video_url,
            video_raw_url=media.video_raw_url,
            thumbnail_url=media.thumbnail_url,
            last_frame_url=media.last_frame_url,
            video_width=media.width,
            video_height=media.height,
        )
    elif result.state is RemoteState.COMPLETED:
        ended = jobs.finish(
            session,
            job_id,
            status=Status.FAILED,
            token=token,
            counts_poll=True,
            provider_response=raw,
            error_code="provider_output_missing",
            error_message="PiAPI reported completion but gave no video URL.",
        )
    else:
        ended = jobs.finish(
            session,
            job_id,
            status=Status.FAILED,
            token=token,
            counts_poll=True,
            provider_response=raw,
            error_code=result.error_code or "provider_failed",
            error_message=result.error_message,
        )
    if ended:
        log.info("job %s ended at PiAPI as %s", job_id, result.status_word)
    return ended
