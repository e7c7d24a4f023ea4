"""PiAPI's concurrency budget: slots counted from the job rows, jobs started one at a time, fairly.

A job holds one of the plan's slots in every phase between `queued` and `done`: from the
moment its create may be sent until we know its task ended (or the create was refused and
the job went back to `queued`). The count is read from the rows, so it is right whichever
worker, machine or person changed them, and nothing has to be given back by hand.

Starting a job (queued -> submitting) under a budget happens only in claim_next, inside a
transaction that first locks the one row of piapi_budget. Every starter on every machine
takes that lock, counts the slots held (an index of the holding rows, read up to `limit`
entries) and claims at most one job, so the count can never pass the limit. The lock is
held for that count and one pick, and is released at the commit, before any PiAPI call.

Which job starts is models/fair_share.py's choice (tenants share the slots).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, func, literal, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import fair_share, jobs
from models.db import Base
from models.jobs import Job, Phase

# The phases that hold no slot; every other phase holds one (submitting, polling, and any
# phase between them and done, e.g. a create whose outcome is in doubt).
_FREE = "phase NOT IN ('queued', 'done')"

# Only the rows that hold a slot: counting them reads at most `limit` entries.
HOLDING_INDEX = Index(
    "ix_video_generations_holding",
    Job.phase,
    postgresql_where=text(_FREE),
    sqlite_where=text(_FREE),
)


class BudgetLock(Base):
    """The one row every starter locks: starts are counted and claimed one at a time."""

    __tablename__ = "piapi_budget"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    locked_at: Mapped[dt.datetime | None]
    starts: Mapped[int] = mapped_column(BigInteger, default=0)  # jobs started under a budget


def lock_starts(session: Session, now: dt.datetime) -> None:
    """Take the start lock until this transaction ends (an UPDATE, so SQLite's too)."""
    session.execute(
        update(BudgetLock)
        .where(BudgetLock.id == 1)
        .values(locked_at=now)
        .execution_options(synchronize_session=False)
    )


def slots_held(session: Session, *, limit: int) -> int:
    """Jobs holding a PiAPI slot, counted up to limit (enough to know whether one is free)."""
    holding = select(literal(1)).select_from(Job).where(text(_FREE)).limit(limit).subquery()
    return session.scalar(select(func.count()).select_from(holding)) or 0


def waiting_due(session: Session, *, now: dt.datetime, cap: int) -> int:
    """Waiting jobs whose start is due, counted up to cap."""
    due = (
        select(literal(1))
        .select_from(Job)
        .where(Job.phase == Phase.QUEUED)
        .where((Job.next_poll_at.is_(None)) | (Job.next_poll_at <= now))
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(due)) or 0


def claim_next(session: Session, *, limit: int, now: dt.datetime) -> int | None:
    """Claim the next job in line if a slot is free: its id, or None. Call in a transaction.

    The lock is held until the caller's commit; the caller reads what it needs of the
    job and commits at once, before any PiAPI call. Read committed (the default) lets the
    count after the lock see every start committed before it.
    """
    # Most nudges find every slot taken: they read the count and leave, taking no lock
    # and writing nothing. Only a start that may happen waits for the lock, and counts again.
    if slots_held(session, limit=limit) >= limit:
        return None
    lock_starts(session, now)
    if slots_held(session, limit=limit) >= limit:
        return None
    # The lock keeps other starters out, but a cancel may end the picked job first.
    for _ in range(5):
        picked = fair_share.next_job(session, limit=limit, now=now)
        if picked is None:
            return None
        job_id, user_id = picked
        if jobs.claim_for_submit(session, job_id):
            fair_share.note_start(session, user_id, slot=_count_start(session) % limit, now=now)
            return job_id
    return None


def _count_start(session: Session) -> int:
    started = session.scalar(
        update(BudgetLock)
        .where(BudgetLock.id == 1)
        .values(starts=BudgetLock.starts + 1)
        .returning(BudgetLock.starts)
        .execution_options(synchronize_session=False)
    )
    return int(started or 0)
