"""The safety net: finds jobs and webhooks that fell through and drives them on, or ends them."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from infra.messages import Messages
from infra.settings import Settings
from models import create_outcome, jobs, uploads, webhooks
from models.db import utcnow
from providers.storage import Storage
from workers import events
from workers.starting import starts_for_free_slots

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
    # PIAPI_MAX_CONCURRENT_TASKS: with a limit, queued jobs wait for a slot, not a message.
    max_concurrent_tasks: int | None = None
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
            max_concurrent_tasks=settings.piapi_max_concurrent_tasks,
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
    starts_sent: int = 0  # start_waiting messages for free slots (under PiAPI's budget)
    uploads_removed: int = 0  # expired uploads no job uses, with their files


def sweep(
    sessions: sessionmaker[Session],
    *,
    policy: SweepPolicy,
    messages: Messages,
    now: dt.datetime | None = None,
    storage: Storage | None = None,
) -> SweepReport:
    """One pass. Safe on several nodes at once: each row is taken by a compare-and-set.

    With storage, expired uploads no job uses are removed too (a batch per pass).
    """
    now = now or utcnow()
    report = SweepReport()
    limit = policy.max_concurrent_tasks

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
        # Under a budget, a queued job waits for a free slot, however long: see below.
        requeued = (
            jobs.touch_stale_queued(
                session, older_than=ago(policy.queued_grace_s), now=now, limit=BATCH
            )
            if limit is None
            else []
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
    for job_id in report.handed_back:
        messages.submit(job_id)
    for job_id in requeued:
        messages.submit(job_id)
        report.requeued.append(job_id)
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
    if limit is not None:
        # Slots freed here (timeouts, lost submissions), or whose nudge was lost, are
        # filled now rather than left empty while jobs wait.
        report.starts_sent = starts_for_free_slots(sessions, limit=limit, now=now)
        for _ in range(report.starts_sent):
            messages.start_waiting()
    if storage is not None:
        report.uploads_removed = remove_expired_uploads(sessions, storage, now=now)
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


def remove_expired_uploads(
    sessions: sessionmaker[Session], storage: Storage, *, now: dt.datetime
) -> int:
    """Remove up to BATCH expired uploads no job uses, rows then files; how many went.

    Its own transaction: a job committed against an upload in the same instant fails the
    delete (the foreign key), which must not undo the rest of the sweep; the next pass
    sees the job and keeps the upload.
    """
    try:
        with sessions.begin() as session:
            swept = uploads.sweep_due(session, now=now, limit=BATCH)
    except IntegrityError:
        log.warning("sweep: an upload became used while being removed; next pass")
        return 0
    for key in swept.removed_keys:
        try:
            storage.delete(key)
        except Exception:
            # The row is gone, so nothing refers to the file; it is only space.
            log.exception("sweep: could not delete upload file %s", key)
    if swept.removed_keys:
        log.info("sweep: %d expired uploads removed", len(swept.removed_keys))
    return len(swept.removed_keys)


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
