"""The API's side of PiAPI's budget (PIAPI_MAX_CONCURRENT_TASKS): nudges and a job's place.

Without the setting, generate sends the job's own submit message, as it always did, and
no job is ever shown waiting.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from models import budget, fair_share
from models.jobs import Job, Phase


def _limit() -> int | None:
    limit: int | None = current_app.extensions["settings"].piapi_max_concurrent_tasks
    return limit


def enqueue(job_id: int) -> None:
    """After generate's commit: start the job (no budget) or nudge the line if a slot is free."""
    messages = current_app.extensions["messages"]
    limit = _limit()
    if limit is None:
        messages.submit(job_id)
    # Under the budget the job waits its turn: a burst sends no message while every slot
    # is taken. Counted after the commit, so either this count sees the slot a task just
    # freed, or that task's nudge (sent after its commit) finds this job waiting.
    elif budget.slots_held(g.db, limit=limit) < limit:
        messages.start_waiting()


def holds_slot(job: Job) -> bool:
    """Whether the job, as loaded, holds one of PiAPI's slots (read it before ending it)."""
    return job.phase not in (Phase.QUEUED, Phase.DONE)


def slot_freed() -> None:
    """After a commit that ended a job holding a slot: the next job in line may start."""
    if _limit() is not None:
        current_app.extensions["messages"].start_waiting()


def place(job: Job) -> dict[str, Any] | None:
    """The status body's queue field: None unless the job waits for a PiAPI slot.

    Only a waiting job costs a query: any other status stays one primary-key read.
    """
    slots = _limit()
    if slots is None or job.phase != Phase.QUEUED:
        return None
    return fair_share.place_in_line(g.db, job, slots=slots).as_dict()
