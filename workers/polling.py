"""Following one PiAPI task: ask once, record what it says, decide when to ask again."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from infra import log_context
from models import jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status, StorageState
from providers.catalogue import BY_KEY, usd_from_points
from providers.piapi import PiAPIClient, ProviderRejectedError, ProviderTransientError
from providers.results import RemoteState, TaskResult
from workers import events
from workers.endings import fail_job
from workers.poll_policy import PollPolicy, TaskClock, next_poll_in_s

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What the poll chain does next: ask again in next_poll_in_s, or stop (None).

    is_retry marks a poll that PiAPI could not answer: the chain backs off.
    deliveries are webhook events recorded by this poll, to send once it has committed.
    """

    next_poll_in_s: float | None
    is_retry: bool = False
    deliveries: tuple[str, ...] = ()
    completed: bool = False  # the job just completed: its files are to be stored
    ended: bool = False  # the job ended in this poll: its PiAPI slot is free


STOP = PollOutcome(None)

# For a job whose provider left the catalogue: about the median of the ones we sell.
UNKNOWN_RUNTIME_S = 180.0


@dataclass(frozen=True, slots=True)
class PollSubject:
    """The facts about one job that its poll schedule depends on."""

    typical_runtime_s: float
    started_at: dt.datetime | None  # None: PiAPI has not accepted it yet
    deadline_at: dt.datetime

    @classmethod
    def of(cls, job: Job) -> PollSubject:
        model = BY_KEY.get(job.provider)
        runtime = (
            model.runtime_for(job.generation_mode, job.actual_duration)
            if model and job.generation_mode in model.modes
            else UNKNOWN_RUNTIME_S
        )
        return cls(float(runtime), job.started_at, job.deadline_at)


# Seconds until the next poll of a subject, given the progress PiAPI last reported.
Planner = Callable[[PollSubject, int | None], float]


def planner(policy: PollPolicy, *, webhooks: bool) -> Planner:
    """The production planner: the poll policy, fed with the job's clock."""

    def plan(subject: PollSubject, progress: int | None) -> float:
        now = utcnow()
        clock = TaskClock(
            elapsed_s=(now - (subject.started_at or now)).total_seconds(),
            typical_runtime_s=subject.typical_runtime_s,
            deadline_in_s=(subject.deadline_at - now).total_seconds(),
            progress=progress,
            webhooks=webhooks,
        )
        return next_poll_in_s(policy, clock)

    return plan


def every(seconds: float) -> Planner:
    """A planner that always answers the same interval."""
    return lambda _subject, _progress: seconds


def poll_once(
    sessions: sessionmaker[Session],
    client: PiAPIClient,
    job_id: int,
    token: uuid.UUID | None,
    *,
    plan_poll: Planner,
    retry_wait_s: Callable[[float | None], float],
) -> PollOutcome:
    """Ask PiAPI once and record the answer. Safe to run twice, late, or from a stale chain.

    token None means "whatever chain is current" (a one-off check after a PiAPI webhook).
    """
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        if job is None or job.phase != Phase.POLLING:
            return STOP  # the job already ended
        if token is not None and job.poll_token != token:
            return STOP  # a stale chain
        token = job.poll_token
        task_id, deadline, progress = job.task_id, job.deadline_at, job.progress
        subject = PollSubject.of(job)
    assert task_id is not None and token is not None  # polling implies both
    log_context.bind(task_id=task_id)

    if utcnow() >= deadline:
        message = "PiAPI did not finish the task before the job's deadline."
        return _ended(fail_job(sessions, job_id, "timeout", message, token=token))

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
        return _ended(fail_job(sessions, job_id, "provider_task_lost", str(exc), token=token))

    with sessions.begin() as session:
        if result.is_final:
            ended, event = record_verdict(session, job_id, result, token=token)
            return PollOutcome(
                None,
                deliveries=_event(session, job_id, event) if ended else (),
                completed=ended and event == "completed",
                ended=ended,
            )
        interval_s = plan_poll(subject, result.progress)
        recorded = jobs.record_poll(
            session,
            job_id,
            token=token,
            progress=result.progress,
            next_poll_at=utcnow() + dt.timedelta(seconds=interval_s),
            response=dict(result.raw),
        )
        moved = recorded and result.progress is not None and result.progress != progress
        sent = _event(session, job_id, "progress") if moved else ()
    return PollOutcome(interval_s, deliveries=sent) if recorded else STOP


def _ended(deliveries: tuple[str, ...] | None) -> PollOutcome:
    # fail_job's answer: None if the job had already ended, else the deliveries to send.
    return STOP if deliveries is None else PollOutcome(None, deliveries=deliveries, ended=True)


def _event(session: Session, job_id: int, event: str) -> tuple[str, ...]:
    delivery = events.record_event(session, job_id, event)
    return (delivery,) if delivery else ()


def record_verdict(
    session: Session, job_id: int, result: TaskResult, *, token: uuid.UUID | None
) -> tuple[bool, str]:
    """Store PiAPI's verdict and what it charged; returns whether the job ended now, and as what."""
    raw = dict(result.raw)
    # What PiAPI charged, from its usage points: on failure too (usually nothing).
    charged = None if result.usage_points is None else usd_from_points(result.usage_points)
    if result.state is RemoteState.COMPLETED and result.media.video_url:
        media = result.media
        ended = jobs.finish(
            session,
            job_id,
            status=Status.COMPLETED,
            token=token,
            counts_poll=True,
            remote_ended_at=result.ended_at,
            provider_response=raw,
            charged_usd=charged,
            video_url=media.video_url,
            video_raw_url=media.video_raw_url,
            thumbnail_url=media.thumbnail_url,
            last_frame_url=media.last_frame_url,
            video_width=media.width,
            video_height=media.height,
            # Copy the files while PiAPI's URLs still work (they may be ephemeral).
            storage_state=StorageState.PENDING,
            storage_due_at=utcnow(),
        )
        if ended:
            log.info("job %s completed at PiAPI", job_id)
        return ended, "completed"
    if result.state is RemoteState.COMPLETED:
        code, message = "provider_output_missing", "PiAPI reported completion but no video URL."
    else:
        code = result.error_code or "provider_failed"
        message = result.error_message or "PiAPI reported the task failed."
    ended = jobs.finish(
        session,
        job_id,
        status=Status.FAILED,
        token=token,
        counts_poll=True,
        remote_ended_at=result.ended_at,
        provider_response=raw,
        charged_usd=charged,
        error_code=code,
        error_message=message,
    )
    if ended:
        log.info("job %s failed at PiAPI (%s)", job_id, code)
    return ended, "failed"
