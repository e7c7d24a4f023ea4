"""Outgoing webhook deliveries: one row per event, one row per attempt, visible on the job."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, take_rows, utcnow
from models.jobs import Job

EVENTS = ("completed", "failed", "canceled", "progress")
DEFAULT_EVENTS = ("completed", "failed", "canceled")
_JSON = JSON().with_variant(JSONB(), "postgresql")


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the retry schedule, or the URL is refused


class WebhookDelivery(Base):
    """One event for one job. Its id is the `webhook-id` header, the same on every retry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_job_id", "job_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("video_generations.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(_JSON)  # frozen when the event happened
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]


class WebhookAttempt(Base):
    """One POST of a delivery and how the receiver answered."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


def record_event(
    session: Session, job_id: int, event: str, *, render: Callable[[Job], Mapping[str, Any]]
) -> str | None:
    """Queue a delivery if the job asked for this event; returns its id.

    The payload is `render(job)` (the job's status body) as it is now, frozen: a retry sends
    the same bytes.
    """
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or not job.webhook_url or event not in (job.webhook_events or ()):
        return None
    payload = {
        "type": f"video.{event}",
        "timestamp": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": dict(render(job)),
    }
    delivery = WebhookDelivery(
        id=f"msg_{uuid.uuid4().hex}",
        job_id=job_id,
        event=event,
        url=job.webhook_url,
        payload=payload,
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    session.flush()
    return delivery.id


def claim_attempt(session: Session, delivery_id: str, attempt: int) -> WebhookDelivery | None:
    """Take attempt number `attempt` of a pending delivery, once; None if stale or done."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.attempts == attempt - 1,
        )
        .values(attempts=attempt)
        .returning(WebhookDelivery.id)
    ).scalar_one_or_none()
    return session.get(WebhookDelivery, claimed) if claimed else None


def record_attempt(
    session: Session,
    delivery_id: str,
    *,
    attempt: int,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    next_attempt_at: dt.datetime | None,
) -> None:
    """Log one attempt and move the delivery on: delivered, retry at next_attempt_at, or failed."""
    delivered = status_code is not None and 200 <= status_code < 300
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempt=attempt,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    if delivered:
        state, when = DeliveryState.DELIVERED, None
    elif next_attempt_at is None:
        state, when = DeliveryState.FAILED, None
    else:
        state, when = DeliveryState.PENDING, next_attempt_at
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempt)
        .values(
            state=state,
            next_attempt_at=when,
            last_status_code=status_code,
            last_error=error,
            delivered_at=utcnow() if delivered else None,
        )
    )


def take_overdue_deliveries(
    session: Session, *, older_than: dt.datetime, now: dt.datetime, limit: int
) -> list[tuple[str, int]]:
    """Pending deliveries whose attempt is overdue (a lost message): (id, next attempt number).

    Taking them moves next_attempt_at to now, so a concurrent sweep does not take them too.
    """
    rows = take_rows(
        session,
        WebhookDelivery,
        [
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.next_attempt_at < older_than,
        ],
        values={"next_attempt_at": now},
        returning=[WebhookDelivery.id, WebhookDelivery.attempts],
        limit=limit,
    )
    return [(row.id, row.attempts + 1) for row in rows]


def deliveries_for(session: Session, job_id: int) -> list[WebhookDelivery]:
    """A job's deliveries, oldest first, with their attempts loaded."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.job_id == job_id)
            .order_by(WebhookDelivery.created_at)
        )
    )


def attempts_for(session: Session, delivery_ids: list[str]) -> list[WebhookAttempt]:
    """Every attempt of these deliveries, in order."""
    if not delivery_ids:
        return []
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
        )
    )
