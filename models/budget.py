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

Fair share: the next job is the oldest due job of the waiting tenant (user) that started
a job least recently (piapi_turns.last_started_at; a tenant never started goes first).
Tenants therefore take turns, one start each, whatever the size of anyone's backlog.
Tenants with waiting jobs are found by a loose index scan (a recursive CTE hopping from
one user_id to the next) over a partial index of the waiting rows only, so the pick reads
a few index entries per waiting tenant, never the backlog itself nor the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Index,
    Integer,
    Row,
    bindparam,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import jobs
from models.db import Base, UTCDateTime
from models.jobs import Job, Phase

# The phases that hold no slot; every other phase holds one (submitting, polling, and any
# phase between them and done, e.g. a create whose outcome is in doubt).
_FREE = "phase NOT IN ('queued', 'done')"
_WAITING = "phase = 'queued'"

# Only the rows that hold a slot: counting them reads at most `limit` entries.
HOLDING_INDEX = Index(
    "ix_video_generations_holding",
    Job.phase,
    postgresql_where=text(_FREE),
    sqlite_where=text(_FREE),
)
# Only the waiting rows, in the order tenants and their jobs are picked.
WAITING_INDEX = Index(
    "ix_video_generations_waiting",
    Job.user_id,
    Job.created_at,
    Job.id,
    postgresql_where=text(_WAITING),
    sqlite_where=text(_WAITING),
)


class BudgetLock(Base):
    """The one row every starter locks: starts are counted and claimed one at a time."""

    __tablename__ = "piapi_budget"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    locked_at: Mapped[dt.datetime | None]


class TenantTurn(Base):
    """When a tenant last had a job started under the budget: the round-robin's order."""

    __tablename__ = "piapi_turns"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_started_at: Mapped[dt.datetime]


# Distinct user_ids with waiting jobs, each found by one index probe from the last.
_WAITING_TENANTS = f"""
WITH RECURSIVE waiting_tenants(user_id) AS (
    SELECT min(user_id) FROM video_generations WHERE {_WAITING}
    UNION ALL
    SELECT (
        SELECT min(v.user_id) FROM video_generations v
        WHERE v.{_WAITING} AND v.user_id > w.user_id
    )
    FROM waiting_tenants w WHERE w.user_id IS NOT NULL
)
"""
_DUE = "(v.next_poll_at IS NULL OR v.next_poll_at <= :now)"

_NEXT_TENANT = text(
    _WAITING_TENANTS
    + f"""
SELECT w.user_id FROM waiting_tenants w
LEFT JOIN piapi_turns t ON t.user_id = w.user_id
WHERE w.user_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM video_generations v
    WHERE v.{_WAITING} AND v.user_id = w.user_id AND {_DUE}
)
ORDER BY t.last_started_at NULLS FIRST, w.user_id
LIMIT 1
"""
).bindparams(bindparam("now", type_=UTCDateTime()))

_OLDEST_DUE = text(
    f"""
SELECT v.id FROM video_generations v
WHERE v.{_WAITING} AND v.user_id = :user_id AND {_DUE}
ORDER BY v.created_at, v.id
LIMIT 1
"""
).bindparams(bindparam("now", type_=UTCDateTime()))

# Every other waiting tenant, its turn, and its waiting jobs counted up to :cap.
_OTHER_TENANTS = text(
    _WAITING_TENANTS
    + f"""
SELECT w.user_id, t.last_started_at, (
    SELECT count(*) FROM (
        SELECT 1 FROM video_generations v
        WHERE v.{_WAITING} AND v.user_id = w.user_id LIMIT :cap
    ) AS capped
) AS waiting
FROM waiting_tenants w
LEFT JOIN piapi_turns t ON t.user_id = w.user_id
WHERE w.user_id IS NOT NULL AND w.user_id <> :user_id
"""
).columns(user_id=Integer, last_started_at=UTCDateTime(), waiting=Integer)

_AHEAD_IN_OWN_LINE = text(
    f"""
SELECT count(*) FROM video_generations v
WHERE v.{_WAITING} AND v.user_id = :user_id AND (v.created_at, v.id) < (:created_at, :id)
"""
).bindparams(bindparam("created_at", type_=UTCDateTime()))


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
        user_id = session.scalar(_NEXT_TENANT, {"now": now})
        if user_id is None:
            return None
        job_id = session.scalar(_OLDEST_DUE, {"user_id": user_id, "now": now})
        if job_id is not None and jobs.claim_for_submit(session, job_id):
            _note_turn(session, user_id, now)
            return int(job_id)
    return None


def _note_turn(session: Session, user_id: int, now: dt.datetime) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(TenantTurn).values(user_id=user_id, last_started_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[TenantTurn.user_id], set_={"last_started_at": now}
        )
    )


@dataclass(frozen=True, slots=True)
class Place:
    """A waiting job's place in line: position 1 starts at the next free slot."""

    position: int
    slots: int

    def as_dict(self) -> dict[str, Any]:
        """The status body's queue field."""
        return {"waiting": True, "position": self.position, "slots": self.slots}


def place_in_line(session: Session, job: Job, *, slots: int) -> Place:
    """Where a waiting job stands under round-robin, reading only the waiting rows' index.

    Its tenant's older waiting jobs start first (r of them); so does, from every other
    waiting tenant V, one job per round for r rounds, and one more in this job's round
    when V's turn comes before this tenant's: min(waiting(V), r or r + 1). A tenant that
    starts waiting later, or a refused create put back, can move it by a few places.
    """
    ahead = session.scalar(
        _AHEAD_IN_OWN_LINE,
        {"user_id": job.user_id, "created_at": job.created_at, "id": job.id},
    )
    rank = int(ahead or 0)
    mine = session.get(TenantTurn, job.user_id)
    my_turn = _turn_key(job.user_id, mine.last_started_at if mine else None)
    position = 1 + rank
    others: list[Row[Any]] = list(
        session.execute(_OTHER_TENANTS, {"cap": rank + 1, "user_id": job.user_id})
    )
    for row in others:
        before = _turn_key(row.user_id, row.last_started_at) < my_turn
        position += min(int(row.waiting), rank + 1 if before else rank)
    return Place(position, slots)


def _turn_key(user_id: int, last_started_at: dt.datetime | None) -> tuple[bool, dt.datetime, int]:
    # NULLS FIRST, then the oldest turn, then the smaller id: the pick's own order.
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return (last_started_at is not None, last_started_at or never, user_id)
