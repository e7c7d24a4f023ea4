"""Who starts next under PiAPI's budget: tenants share the plan's slots, oldest job first.

The next job is the oldest due job of the waiting tenant (user) that comes first by:

1. the fewest of the plan's slots last given to it (piapi_slots: each of the `limit`
   slots remembers the tenant of the last job started in it, i.e. the last `limit`
   starts), so a tenant that just began waiting catches up to an equal share at once;
2. then the turn least recently taken (piapi_turns.last_started_at; never comes first);
3. then the smaller user id.

While every tenant keeps jobs waiting, their shares of the slots are equal and this is
plain round-robin: one start each, in turn, whatever the size of anyone's backlog.

Tenants with waiting jobs are found by a loose index scan (a recursive CTE hopping from
one user_id to the next) over a partial index of the waiting rows only, so a pick reads a
few index entries per waiting tenant, never a backlog nor the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Index, Integer, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, UTCDateTime
from models.jobs import Job

WAITING = "phase = 'queued'"

# Only the waiting rows, in the order tenants and their jobs are picked.
WAITING_INDEX = Index(
    "ix_video_generations_waiting",
    Job.user_id,
    Job.created_at,
    Job.id,
    postgresql_where=text(WAITING),
    sqlite_where=text(WAITING),
)


class TenantTurn(Base):
    """When a tenant last had a job started under the budget."""

    __tablename__ = "piapi_turns"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_started_at: Mapped[dt.datetime]


class SlotOwner(Base):
    """The tenant of the last job started in each of the plan's slots (slot = start % limit)."""

    __tablename__ = "piapi_slots"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime]


# Distinct user_ids with waiting jobs, each found by one index probe from the last; with
# each, what orders it: its share of the slots and its last turn.
_TENANTS = f"""
WITH RECURSIVE waiting_tenants(user_id) AS (
    SELECT min(user_id) FROM video_generations WHERE {WAITING}
    UNION ALL
    SELECT (
        SELECT min(v.user_id) FROM video_generations v
        WHERE v.{WAITING} AND v.user_id > w.user_id
    )
    FROM waiting_tenants w WHERE w.user_id IS NOT NULL
),
shares AS (
    SELECT user_id, count(*) AS slots FROM piapi_slots WHERE slot < :limit GROUP BY user_id
)
"""
_ORDER = "coalesce(s.slots, 0), t.last_started_at NULLS FIRST, w.user_id"
_JOINS = """
FROM waiting_tenants w
LEFT JOIN piapi_turns t ON t.user_id = w.user_id
LEFT JOIN shares s ON s.user_id = w.user_id
"""
_DUE = "(v.next_poll_at IS NULL OR v.next_poll_at <= :now)"

_NEXT_TENANT = text(
    _TENANTS
    + f"""
SELECT w.user_id {_JOINS}
WHERE w.user_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM video_generations v
    WHERE v.{WAITING} AND v.user_id = w.user_id AND {_DUE}
)
ORDER BY {_ORDER}
LIMIT 1
"""
).bindparams(bindparam("now", type_=UTCDateTime()))

_OLDEST_DUE = text(
    f"""
SELECT v.id FROM video_generations v
WHERE v.{WAITING} AND v.user_id = :user_id AND {_DUE}
ORDER BY v.created_at, v.id
LIMIT 1
"""
).bindparams(bindparam("now", type_=UTCDateTime()))

# Every waiting tenant in pick order, with its waiting jobs counted up to :cap.
_LINE = text(
    _TENANTS
    + f"""
SELECT w.user_id, (
    SELECT count(*) FROM (
        SELECT 1 FROM video_generations v
        WHERE v.{WAITING} AND v.user_id = w.user_id LIMIT :cap
    ) AS capped
) AS waiting {_JOINS}
WHERE w.user_id IS NOT NULL
ORDER BY {_ORDER}
"""
).columns(user_id=Integer, waiting=Integer)

_AHEAD_IN_OWN_LINE = text(
    f"""
SELECT count(*) FROM video_generations v
WHERE v.{WAITING} AND v.user_id = :user_id AND (v.created_at, v.id) < (:created_at, :id)
"""
).bindparams(bindparam("created_at", type_=UTCDateTime()))


def next_job(session: Session, *, limit: int, now: dt.datetime) -> tuple[int, int] | None:
    """The next job to start and its tenant, (job id, user id); None if none is due."""
    user_id = session.scalar(_NEXT_TENANT, {"now": now, "limit": limit})
    if user_id is None:
        return None
    job_id = session.scalar(_OLDEST_DUE, {"user_id": user_id, "now": now})
    return None if job_id is None else (int(job_id), int(user_id))


def note_start(session: Session, user_id: int, *, slot: int, now: dt.datetime) -> None:
    """Record that user_id's job took this slot now: its turn, and the slot's last tenant."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    turn = insert(TenantTurn).values(user_id=user_id, last_started_at=now)
    session.execute(
        turn.on_conflict_do_update(
            index_elements=[TenantTurn.user_id], set_={"last_started_at": now}
        )
    )
    owner = insert(SlotOwner).values(slot=slot, user_id=user_id, started_at=now)
    session.execute(
        owner.on_conflict_do_update(
            index_elements=[SlotOwner.slot], set_={"user_id": user_id, "started_at": now}
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
    """Where a waiting job stands, reading only the waiting rows' index.

    Tenants take turns in pick order: its tenant's r older waiting jobs start first, and
    from every other waiting tenant V one job per round for r rounds, plus one in this
    job's round when V comes first: min(waiting(V), r or r + 1). It is exact while the
    tenants' shares of the slots are equal; a tenant that just began waiting, or a create
    refused and put back, can move it by a few places.
    """
    ahead = session.scalar(
        _AHEAD_IN_OWN_LINE,
        {"user_id": job.user_id, "created_at": job.created_at, "id": job.id},
    )
    rank = int(ahead or 0)
    position, before = 1 + rank, True
    for row in session.execute(_LINE, {"cap": rank + 1, "limit": slots}):
        if row.user_id == job.user_id:
            before = False
        else:
            position += min(int(row.waiting), rank + 1 if before else rank)
    return Place(position, slots)
