"""Starting waiting jobs within PiAPI's plan limit (PIAPI_MAX_CONCURRENT_TASKS).

With a limit, a submit or start_waiting message no longer names the job it starts: it
asks for the next job in line (models/budget.py: a free slot, then round-robin across
tenants), and whatever ends a job's hold on a slot sends one start_waiting after its
commit. Without a limit none of this runs: each submit message claims its own job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from infra.messages import Messages
from models import budget
from models.db import utcnow

# A claim: given the open transaction, claim a job and return its id, or None.
Claim = Callable[[Session], int | None]

# A create PiAPI refused without a Retry-After is due again this soon: the job goes back
# in line, and a free slot (not a growing backoff) decides when it starts.
REFUSED_WAIT_S = 3.0


def next_in_line(limit: int) -> Claim:
    """A claim of the next job in line, if fewer than limit jobs hold a PiAPI slot."""

    def claim(session: Session) -> int | None:
        return budget.claim_next(session, limit=limit, now=utcnow())

    return claim


def refused_wait_s(retry_after: float | None) -> float:
    """How long a job whose create PiAPI refused stays out of line: Retry-After, or a few s."""
    return REFUSED_WAIT_S if retry_after is None else max(retry_after, 0.0)


def slot_freed(messages: Messages, limit: int | None, *, countdown: float | None = None) -> None:
    """Nudge the next waiting job after a commit that ended a job's hold on a slot."""
    if limit is not None:
        messages.start_waiting(countdown=countdown)


def starts_for_free_slots(
    sessions: sessionmaker[Session], *, limit: int, now: dt.datetime | None = None
) -> int:
    """How many start messages would fill the free slots with due waiting jobs (a lost nudge).

    Read without the lock: a start message that finds no free slot does nothing.
    """
    with sessions() as session:
        free = limit - budget.slots_held(session, limit=limit)
        if free <= 0:
            return 0
        return budget.waiting_due(session, now=now or utcnow(), cap=free)
