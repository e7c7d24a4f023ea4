"""The safety net: finds jobs and webhooks that fell through and drives them on, or ends them."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from infra.messages import Messages
from infra.settings import Settings
from models import create_outcome, jobs, webhooks
from models.db import utcnow
from workers import events

log = logging.getLogger(__name__)

# A webhook attempt or a store this late means its message was lost; neither is a knob
# anyone needs to turn (each attempt already has its own schedule).
DELIVERY_GRACE_S = 60.0
STORE_GRACE_S = 120.0
# Rows taken per kind per pass: a pass stays short, and the next one takes the rest.
BATCH = 500


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    """How long each phase may look idle before the sweeper acts (SWEEP_* settings)."""

    queued_grace_s: float  # accepted, but no worker claimed it (lost enqueue)
    submitting_grace_s: float  # longer than any create call can take
    poll_grace_s: float  # next poll this late means its message was lost
    # PiAPI's webhooks are on: a create interrupted mid-call waits in doubt for PiAPI's
    # callback instead of failing at once.
    adopts: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SweepPolicy:
        """The policy the settings describe."""
        return cls(
            queued_grace_s=settings.sweep_queued_grace_s,
            submitting_grace_s=settings.sweep_submitting_grace_s,
            poll_grace_s=settings.sweep_poll_grace_s,
            adopts=settings.piapi_webhooks,
        )


@dataclass(slots=True)
class SweepReport:
    """What one sweep did, by job (or delivery) id."""

    timed_out: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    unknown_submissions: list[int] = field(default_factory=list)  # failed submission_unknown
    handed_back: list[int] = field(default_factory=list)  # claims whose create never left
    in_doubt: list[int] = field(default_factory=list)  # creates interrupted mid-call
    polls_restarted: list[int] = field(default_factory=list)
    deliveries_resent: list[str] = field(default_factory=list)
    stores_resent: list[int] = field(default_factory=list)


def sweep(
    sessions: sessionmaker[Session],
    *,
    policy: SweepPolicy,
    messages: Messages,
    now: dt.datetime | None = None,
) -> SweepReport:
    """One pass. Safe on several nodes at once: each row is taken by a compare-and-set."""
    now = now or utcnow()
    report = SweepReport()

    def ago(seconds: float) -> dt.datetime:
        return now - dt.timedelta(seconds=seconds)

    with sessions.begin() as session:
        # Past the deadline, a create in doubt is `submission_unknown`; anything else `timeout`.
        report.unknown_submissions = create_outcome.fail_doubts_past_deadline(session, now=now)
        expired = jobs.expire_overdue(session, now=now)
        report.timed_out = [job_id for job_id, _ in expired]
        _sweep_submissions(
            session, policy, report, older_than=ago(policy.submitting_grace_s), now=now
        )
        failed_events = [
            delivery
            for job_id in report.timed_out + report.unknown_submissions
            if (delivery := events.record_event(session, job_id, "failed"))
        ]
        requeued = jobs.touch_stale_queued(
            session, older_than=ago(policy.queued_grace_s), now=now, limit=BATCH
        )
        restarted = jobs.restart_overdue_polls(
            session, older_than=ago(policy.poll_grace_s), next_poll_at=now, limit=BATCH
        )
        resent = webhooks.take_overdue_deliveries(
            session, older_than=ago(DELIVERY_GRACE_S), now=now, limit=BATCH
        )
        report.stores_resent = jobs.take_overdue_stores(
            session, older_than=ago(STORE_GRACE_S), now=now, limit=BATCH
        )
    # Nudge only after the commit: a worker must find the rows as we left them.
    for job_id in requeued:
        messages.submit(job_id)
        report.requeued.append(job_id)
    for job_id in report.handed_back:
        messages.submit(job_id)
    for job_id, token in restarted:
        messages.poll(job_id, token)
        report.polls_restarted.append(job_id)
    for job_id, task_id in expired:
        if task_id is not None:
            messages.cancel_remote(job_id)  # PiAPI cancels it only if still pending
    for delivery_id in failed_events:
        messages.deliver(delivery_id, 1)
    for delivery_id, attempt in resent:
        messages.deliver(delivery_id, attempt)
        report.deliveries_resent.append(delivery_id)
    for job_id in report.stores_resent:
        messages.store(job_id)
    counts = (
        report.timed_out,
        report.requeued,
        report.handed_back,
        report.in_doubt,
        report.unknown_submissions,
        report.polls_restarted,
    )
    if any(counts):
        log.warning(
            "sweep: %d timed out, %d re-queued, %d unsent claims handed back, %d creates "
            "in doubt, %d unknown submissions, %d polls restarted",
            *map(len, counts),
        )
    return report


def _sweep_submissions(
    session: Session,
    policy: SweepPolicy,
    report: SweepReport,
    *,
    older_than: dt.datetime,
    now: dt.datetime,
) -> None:
    """Claims idle since older_than: unsent ones go back to the queue, sent ones are in doubt.

    A sent one fails `submission_unknown` at once when PiAPI's webhooks are off: nothing
    can ever tell us its task id.
    """
    report.handed_back = create_outcome.hand_back_unsent_claims(
        session, older_than=older_than, now=now, limit=BATCH
    )
    if policy.adopts:
        report.in_doubt = create_outcome.doubt_stuck_submissions(
            session, older_than=older_than, now=now
        )
    else:
        report.unknown_submissions += jobs.fail_stuck_submissions(
            session, older_than=older_than, now=now
        )
