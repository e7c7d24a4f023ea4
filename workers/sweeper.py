"""The safety net: finds jobs that fell through and drives them on, or ends them."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from models import jobs
from models.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    """How long each phase may look idle before the sweeper acts."""

    queued_grace_s: float = 60  # accepted, but no worker claimed it (lost enqueue)
    submitting_grace_s: float = 300  # longer than any create call can take
    poll_grace_s: float = 120  # next poll this late means its message was lost
    batch: int = 500


@dataclass(slots=True)
class SweepReport:
    """What one sweep did, by job id."""

    timed_out: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    unknown_submissions: list[int] = field(default_factory=list)
    polls_restarted: list[int] = field(default_factory=list)


def sweep(
    sessions: sessionmaker[Session],
    *,
    policy: SweepPolicy,
    enqueue_submit: Callable[[int], None],
    enqueue_poll: Callable[[int, uuid.UUID], None],
    now: dt.datetime | None = None,
) -> SweepReport:
    """One pass. Safe on several nodes at once: each row is taken by a compare-and-set."""
    now = now or utcnow()
    report = SweepReport()

    def ago(seconds: float) -> dt.datetime:
        return now - dt.timedelta(seconds=seconds)

    with sessions.begin() as session:
        report.timed_out = jobs.expire_overdue(session, now=now)
        report.unknown_submissions = jobs.fail_stuck_submissions(
            session, older_than=ago(policy.submitting_grace_s), now=now
        )
        requeued = jobs.touch_stale_queued(
            session, older_than=ago(policy.queued_grace_s), now=now, limit=policy.batch
        )
        restarted = jobs.restart_overdue_polls(
            session,
            older_than=ago(policy.poll_grace_s),
            next_poll_at=now,
            limit=policy.batch,
        )
    # Enqueue only after the commit: a worker must find the row as we left it.
    for job_id in requeued:
        enqueue_submit(job_id)
        report.requeued.append(job_id)
    for job_id, token in restarted:
        enqueue_poll(job_id, token)
        report.polls_restarted.append(job_id)
    if any(
        (
            report.timed_out,
            report.requeued,
            report.unknown_submissions,
            report.polls_restarted,
        )
    ):
        log.warning(
            "sweep: %d timed out, %d re-queued, %d unknown submissions, %d polls restarted",
            len(report.timed_out),
            len(report.requeued),
            len(report.unknown_submissions),
            len(report.polls_restarted),
        )
    return report
