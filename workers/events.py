"""A job's webhook events as the workers record them: the payload is the job's status body."""

from __future__ import annotations

from sqlalchemy.orm import Session

# The one import of the API package by the workers (an import-linter exception): a webhook's
# payload is exactly what GET /api/video/status/<id> answers, so one schema renders both.
from api.job_body import job_view
from models import webhooks


def record_event(session: Session, job_id: int, event: str) -> str | None:
    """Queue the event's delivery if the job asked for it; its id, to send after the commit."""
    return webhooks.record_event(session, job_id, event, render=job_view)
