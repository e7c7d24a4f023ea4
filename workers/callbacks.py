"""Delivering our webhooks: Standard Webhooks signatures, retried for hours, every try recorded."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time

import requests
from sqlalchemy.orm import Session, sessionmaker

from infra import log_context
from infra.metrics import WEBHOOK_DELIVERIES
from models import webhooks
from models.accounts import User
from models.db import utcnow
from models.jobs import Job
from providers.guarded_http import AddressRefusedError

log = logging.getLogger(__name__)

# Waits after each failed attempt: about 6.7 hours in all, each at most an hour so a
# countdown never outlives the broker's visibility timeout (see celeryconfig.py).
RETRY_SCHEDULE_S = (5, 30, 120, 600, 1800, 3600, 3600, 3600, 3600, 3600, 3600)
TIMEOUT = (5, 10)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: v1,base64(HMAC-SHA256(id.timestamp.body))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def delivery_outcome(status_code: int | None, *, refused: bool) -> str:
    """One attempt's outcome for the deliveries counter."""
    if refused:
        return "refused"
    if status_code is None:
        return "error"
    return "delivered" if 200 <= status_code < 300 else "rejected"


def deliver_once(
    sessions: sessionmaker[Session],
    http: requests.Session,
    delivery_id: str,
    attempt: int,
) -> float | None:
    """Make attempt number `attempt` of one delivery; returns the wait before the next, if any.

    `http` is a guarded session (providers/guarded_http.py): it checks, at every attempt, the
    very address it connects to. A refused address fails the delivery at once: it is
    recorded as "refused" and not retried.
    """
    with sessions.begin() as session:
        delivery = webhooks.claim_attempt(session, delivery_id, attempt)
        if delivery is None:
            return None  # delivered, given up, or another worker has this attempt
        job = session.get_one(Job, delivery.job_id)
        log_context.bind(job_id=job.id, task_id=job.task_id)
        secret = session.get_one(User, job.user_id).webhook_secret
        url, payload = delivery.url, delivery.payload

    body = json.dumps(payload, separators=(",", ":")).encode()
    status_code: int | None = None
    error: str | None = None
    started = time.monotonic()
    why: str | None = None
    timestamp = int(time.time())  # fresh per attempt; receivers reject stale ones
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery_id, timestamp, body),
        "user-agent": "videogen-webhooks/1",
    }
    try:
        resp = http.post(url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
        status_code = resp.status_code
    except AddressRefusedError as exc:
        why = str(exc)
    except requests.RequestException as exc:
        error = type(exc).__name__
    if why is not None:
        error = f"refused: {why}"

    delivered = status_code is not None and 200 <= status_code < 300
    WEBHOOK_DELIVERIES.labels(delivery_outcome(status_code, refused=why is not None)).inc()
    wait = None
    if not delivered and why is None and attempt <= len(RETRY_SCHEDULE_S):
        wait = float(RETRY_SCHEDULE_S[attempt - 1])
    with sessions.begin() as session:
        webhooks.record_attempt(
            session,
            delivery_id,
            attempt=attempt,
            status_code=status_code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
            next_attempt_at=utcnow() + dt.timedelta(seconds=wait) if wait is not None else None,
        )
    log.info("webhook %s attempt %d: %s", delivery_id, attempt, status_code or error or "no answer")
    return wait
