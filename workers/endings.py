"""Ending a job as failed, with the webhook event that goes with it, in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from models import jobs
from models.jobs import Status
from workers import events


def fail_job(
    sessions: sessionmaker[Session],
    job_id: int,
    code: str,
    message: str,
    *,
    token: uuid.UUID | None = None,
    **fields: Any,
) -> tuple[str, ...] | None:
    """Fail the job once; None if it had already ended, else its webhook deliveries to send.

    fields are further columns to write with the verdict (e.g. doubted_at).
    """
    with sessions.begin() as session:
        if not jobs.finish(
            session,
            job_id,
            status=Status.FAILED,
            token=token,
            error_code=code,
            error_message=message,
            **fields,
        ):
            return None
        delivery = events.record_event(session, job_id, "failed")
        return (delivery,) if delivery else ()
