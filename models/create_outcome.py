"""What is known about a job's create call at PiAPI: not sent, sent, in doubt, or adopted.

A create that provably never left is sent again; one that may have reached PiAPI is never
sent again. With PiAPI's webhooks on, such a job is *in doubt*: PiAPI's callback names the
job (by its hook token in the endpoint) and the task it made, and the job adopts that task.
With no callback by the deadline, the job fails `submission_unknown`. Each function is one
conditional UPDATE, as in models/jobs.py: its result says whether the transition happened.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from infra.metrics import note_job_ended
from models.db import take_rows, utcnow
from models.jobs import Job, Phase, Status, _transition

# Phases in which PiAPI's task id is not known yet: a callback may still name it.
TASK_UNKNOWN = (Phase.QUEUED, Phase.SUBMITTING, Phase.IN_DOUBT)

UNKNOWN_AT_DEADLINE = (
    "PiAPI's answer to the create was lost and no callback from PiAPI named a task "
    "before the job's deadline; it was not resubmitted."
)


def mark_create_sent(session: Session, job_id: int, *, attempt: int) -> bool:
    """Note, before the call, that this claim's create is leaving. False: the claim is gone.

    Commit it on its own before the HTTP call: a claim without the mark provably sent
    nothing, so the sweeper may hand it back.
    """
    return _transition(
        session,
        job_id,
        Job.phase == Phase.SUBMITTING,
        Job.submit_attempts == attempt,
        Job.create_sent_at.is_(None),
        create_sent_at=utcnow(),
    )


def mark_in_doubt(session: Session, job_id: int) -> bool:
    """submitting -> in doubt: the create's answer was lost. False if adopted or ended first."""
    now = utcnow()
    if _transition(
        session,
        job_id,
        Job.phase == Phase.SUBMITTING,
        phase=Phase.IN_DOUBT,
        doubted_at=now,
        submitting_since=None,
    ):
        return True
    # A callback that beat the lost answer adopted the task already: still note the doubt.
    _transition(
        session,
        job_id,
        Job.adopted_at.is_not(None),
        Job.doubted_at.is_(None),
        Job.phase != Phase.DONE,
        doubted_at=now,
    )
    return False


def adopt_task(session: Session, job_id: int, *, task_id: str, token: uuid.UUID) -> bool:
    """A job whose task is not known yet takes the task PiAPI's callback names.

    The job moves to polling with a fresh poll-chain token, as a recorded submission
    would. False when the job already has a task or has ended, or when the task id is
    already another job's (it is never taken from it).
    """
    now = utcnow()
    try:
        with session.begin_nested():
            return _transition(
                session,
                job_id,
                Job.phase.in_(TASK_UNKNOWN),
                Job.task_id.is_(None),
                phase=Phase.POLLING,
                task_id=task_id,
                poll_token=token,
                next_poll_at=now,
                # PiAPI started the task when the create left, not when we heard of it.
                started_at=func.coalesce(Job.create_sent_at, now),
                submitting_since=None,
                adopted_at=now,
            )
    except IntegrityError:  # the unique task_id: another job holds this task
        return False


def note_task_of_ended_job(session: Session, job_id: int, *, task_id: str) -> bool:
    """Record the task PiAPI made for a job that ended without knowing it (canceled or failed).

    Only the task id is written; the job stays as it ended. True: ask PiAPI to cancel it.
    """
    try:
        with session.begin_nested():
            return _transition(
                session,
                job_id,
                Job.phase == Phase.DONE,
                Job.status != Status.COMPLETED,
                Job.task_id.is_(None),
                Job.create_sent_at.is_not(None),
                task_id=task_id,
            )
    except IntegrityError:
        return False


def hand_back_unsent_claims(
    session: Session, *, older_than: dt.datetime, now: dt.datetime, limit: int
) -> list[int]:
    """Claims taken before older_than whose create never left (the worker died): re-queue them."""
    rows = take_rows(
        session,
        Job,
        [
            Job.phase == Phase.SUBMITTING,
            Job.create_sent_at.is_(None),
            Job.submitting_since < older_than,
        ],
        values={
            "phase": Phase.QUEUED,
            "submitting_since": None,
            "next_poll_at": None,
            "updated_at": now,
        },
        returning=[Job.id],
        limit=limit,
    )
    return [job_id for (job_id,) in rows]


def doubt_stuck_submissions(
    session: Session, *, older_than: dt.datetime, now: dt.datetime
) -> list[int]:
    """Creates that left before older_than with no answer recorded (the worker died mid-call).

    They are put in doubt, to wait for PiAPI's callback: the webhooks-on counterpart of
    models.jobs.fail_stuck_submissions.
    """
    rows = session.execute(
        update(Job)
        .where(Job.phase == Phase.SUBMITTING, Job.create_sent_at < older_than)
        .values(phase=Phase.IN_DOUBT, doubted_at=now, submitting_since=None, updated_at=now)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).all()
    return [row.id for row in rows]


def fail_doubts_past_deadline(session: Session, *, now: dt.datetime) -> list[int]:
    """Fail `submission_unknown` every job past its deadline whose create's outcome is unknown.

    That is a job in doubt, or one whose create left and never answered. Runs before
    models.jobs.expire_overdue, which fails everything else past its deadline as `timeout`.
    """
    rows = session.execute(
        update(Job)
        .where(
            Job.deadline_at < now,
            Job.task_id.is_(None),
            or_(
                Job.phase == Phase.IN_DOUBT,
                (Job.phase == Phase.SUBMITTING) & Job.create_sent_at.is_not(None),
            ),
        )
        .values(
            status=Status.FAILED,
            phase=Phase.DONE,
            error_code="submission_unknown",
            error_message=UNKNOWN_AT_DEADLINE,
            next_poll_at=None,
            submitting_since=None,
            completed_at=now,
            updated_at=now,
        )
        .returning(Job.id, Job.provider, Job.created_at)
        .execution_options(synchronize_session=False)
    ).all()
    for row in rows:
        note_job_ended(
            session,
            state=Status.FAILED.value,
            provider=row.provider,
            created_at=row.created_at,
            ended_at=now,
        )
    return [row.id for row in rows]
