"""The safety net: finds jobs and webhooks that fell through and drives them on, or ends them."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from models import jobs, webhooks
from models.db import utcnow

log = logging.getLogger(__name__)


class Nudges(Protocol):
    """The messages the sweeper sends once its transaction has committed."""

    def submit(self, job_id: int) -> None: ...
    def poll(self, job_id: int, token: uuid.UUID) -> None: ...
    def deliver(self, delivery_id: str, attempt: int) -> None: ...
    def cancel_remote(self, job_id: int) -> None: ...
    def store(self, job_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    """How long each phase may look idle before the sweeper acts."""

    queued_grace_s: float = 60  # accepted, but no worker claimed it (lost enqueue)
    submitting_grace_s: float = 300  # longer than any create call can take
    poll_grace_s: float = 120  # next poll this late means its message was lost
    delivery_grace_s: float = 60  # a webhook attempt this late means its message was lost
    store_grace_s: float = 120  # a store attempt this late means its message was lost
    batch: int = 500


@dataclass(slots=True)
class SweepReport:
    """What one sweep did, by job (or delivery) id."""

    timed_out: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    unknown_submissions: list[int] = field(default_factory=list)
    polls_restarted: list[int] = field(default_factory=list)
    deliveries_resent: list[str] = field(default_factory=list)
    stores_resent: list[int] = field(default_factory=list)


def sweep(
    sessions: sessionmaker[Session],
    *,
    policy: SweepPolicy,
    nudges: Nudges,
    now: dt.datetime | None = None,
) -> SweepReport:
    """One pass. Safe on several nodes at once: each row is taken by a compare-and-set."""
    now = now or utcnow()
    report = SweepReport()

    def ago(seconds: float) -> dt.datetime:
        return now - dt.timedelta(seconds=seconds)

    with sessions.begin() as session:
        expired = jobs.expire_overdue(session, now=now)
        report.timed_out = [job_id for job_id, _ in expired]
        report.unknown_submissions = jobs.fail_stuck_submissions(
            session, older_than=ago(policy.submitting_grace_s), now=now
        )
        events = [
            delivery
            for job_id in report.timed_out + report.unknown_submissions
            if (delivery := webhooks.record_event(session, job_id, "failed"))
        ]
        requeued = jobs.touch_stale_queued(
            session, older_than=ago(policy.queued_grace_s), now=now, limit=policy.batch
        )
        restarted = jobs.restart_overdue_polls(
            session, older_than=ago(policy.poll_grace_s), next_poll_at=now, limit=policy.batch
        )
        resent = webhooks.take_overdue_deliveries(
            session, older_than=ago(policy.delivery_grace_s), now=now, limit=policy.batch
        )
        report.stores_resent = jobs.take_overdue_stores(
            session, older_than=ago(policy.store_grace_s), now=now, limit=policy.batch
        )
    # Nudge only after the commit: a worker must find the rows as we left them.
    for job_id in requeued:
        nudges.submit(job_id)
        report.requeued.append(job_id)
    for job_id, token in restarted:
        nudges.poll(job_id, token)
        report.polls_restarted.append(job_id)
    for job_id, task_id in expired:
        if task_id is not None:
            nudges.cancel_remote(job_id)  # PiAPI cancels it only if still pending
    for delivery_id in events:
        nudges.deliver(delivery_id, 1)
    for delivery_id, attempt in resent:
        nudges.deliver(delivery_id, attempt)
        report.deliveries_resent.append(delivery_id)
    for job_id in report.stores_resent:
        nudges.store(job_id)
    if any((report.timed_out, report.requeued, report.unknown_submissions, report.polls_restarted)):
        log.warning(
            "sweep: %d timed out, %d re-queued, %d unknown submissions, %d polls restarted",
            len(report.timed_out),
            len(report.requeued),
            len(report.unknown_submissions),
            len(report.polls_restarted),
        )
    return report
