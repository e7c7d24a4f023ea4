"""Accepting a generate request: idempotency, the tier's limits, then a priced job row."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import APIError, InvalidRequestError, ProviderNotAllowedError
from models.accounts import User
from models.db import utcnow
from models.jobs import Job
from models.tiers import TIERS
from providers.catalogue import OptionsError
from providers.plans import Plan, PromptTooLongError, plan_job
from providers.selection import ModeNotSupportedError, cap_refusal
from providers.url_guard import NON_PUBLIC, refusal


class IdempotencyConflictError(APIError):
    status, code = 409, "conflict"


class WebhookUrlRefusedError(APIError):
    """A well-formed webhook_url we will not call: it does not resolve to a public address."""

    status, code = 403, "webhook_url_refused"


class TooManyInFlightError(APIError):
    status, code = 429, "rate_limited"
    retry_after_s = 30


def request_hash(raw: Any) -> str:
    """A stable digest of a request body, to tell a retry from a different request."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def accept(
    db: Session, req: dict[str, Any], user: Principal, *, key: str | None, body_hash: str
) -> tuple[Job, bool]:
    """The job for this request and whether it is new. Commits a new job before returning."""
    if key is not None and (existing := _replay(db, user, key, body_hash)) is not None:
        return existing, False

    job = new_job(req, user)
    job.idempotency_key, job.request_hash = key, body_hash
    limit = TIERS[user.tier].max_in_flight
    if _lock_and_count_in_flight(db, user.id) >= limit:
        db.rollback()
        raise TooManyInFlightError(
            f"The {user.tier} tier may have {limit} jobs in flight; wait for one to finish."
        )
    db.add(job)
    try:
        db.commit()  # accepted means durable: the row exists before we answer
    except IntegrityError:
        # Another request with the same Idempotency-Key committed first.
        db.rollback()
        if key is None or (existing := _replay(db, user, key, body_hash)) is None:
            raise
        return existing, False
    return job, True


def _replay(db: Session, user: Principal, key: str, body_hash: str) -> Job | None:
    job = db.scalar(select(Job).where(Job.user_id == user.id, Job.idempotency_key == key))
    if job is not None and job.request_hash != body_hash:
        raise IdempotencyConflictError(
            "This Idempotency-Key was used with a different request body."
        )
    return job


def _lock_and_count_in_flight(db: Session, user_id: int) -> int:
    """The user's jobs in flight, read under a lock on the user's row.

    The lock serialises one user's concurrent requests, so two cannot both pass the
    limit. The count is kept on the row by triggers: reading it costs the same at 2 or
    100,000 jobs in flight.
    """
    return db.scalar(select(User.in_flight).where(User.id == user_id).with_for_update()) or 0


def plan_request(req: dict[str, Any], tier: str) -> Plan:
    """How a generate (or quote) request would run, or an APIError naming the failing field.

    The plan may be over the tier's price cap: plan.selection.allowed says.
    """
    try:
        return plan_job(
            mode=req["generation_mode"],
            duration_s=req["duration"],
            tier=tier,
            style=req["style"],
            script=req["script"],
            aspect_ratio=req["aspect_ratio"],
            forced=req["provider"],
            options=req.get("options"),
        )
    except ModeNotSupportedError as exc:
        raise InvalidRequestError(str(exc), fields={"provider": [str(exc)]}) from exc
    except OptionsError as exc:
        names = ", ".join(exc.problems)
        raise InvalidRequestError(
            f"These options do not fit the provider: {names}.", fields={"options": exc.problems}
        ) from exc
    except PromptTooLongError as exc:
        raise InvalidRequestError(str(exc), fields={"script": [str(exc)]}) from exc


def new_job(req: dict[str, Any], user: Principal) -> Job:
    """A job ready to commit, or an APIError saying why no provider can run it."""
    mode = req["generation_mode"]
    plan = plan_request(req, user.tier)
    chosen = plan.selection
    if not chosen.allowed:
        message = cap_refusal(chosen, mode=mode, tier=user.tier, forced=req["provider"] is not None)
        raise ProviderNotAllowedError(message, fields={"provider": [message]})
    _check_webhook_url(req.get("webhook_url"))

    model = chosen.model
    now = utcnow()
    deadline_s = req.get("deadline_seconds") or model.deadline_s
    return Job(
        user_id=user.id,
        campaign_id=req["campaign_id"],
        provider=model.key,
        model_name=chosen.spec.model_name,
        task_type=chosen.spec.task_type,
        generation_mode=mode,
        prompt=plan.prompt,
        script=req["script"],
        style=req["style"],
        aspect_ratio=plan.aspect_ratio,
        image_url=req["image_url"],
        requested_duration=req["duration"],
        actual_duration=chosen.clip_s,
        cost=chosen.cost,
        cost_estimated=chosen.cost_estimated,
        options=dict(chosen.options),
        notice=plan.notice,
        webhook_url=req.get("webhook_url"),
        webhook_events=list(req.get("webhook_events") or []) if req.get("webhook_url") else None,
        created_at=now,
        updated_at=now,
        deadline_at=now + dt.timedelta(seconds=deadline_s),
    )


def _check_webhook_url(url: str | None) -> None:
    if url is None:
        return
    allow_private = current_app.extensions["settings"].webhook_allow_private
    if (why := refusal(url, allow_private=allow_private)) is not None:
        message = f"webhook_url is refused: {why}."
        if why == NON_PUBLIC:
            # The one refusal a developer meets with a receiver next to `make up`.
            message += " For a receiver on this machine, in development: WEBHOOK_ALLOW_PRIVATE=1."
        raise WebhookUrlRefusedError(message, fields={"webhook_url": [message]})
