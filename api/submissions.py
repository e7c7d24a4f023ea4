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
from models import in_flight
from models.db import utcnow
from models.jobs import Job
from models.tiers import TIERS
from providers.prompts import build_prompt
from providers.selection import ModeNotSupportedError, TierNotAllowedError, select_provider
from providers.url_guard import refusal


class IdempotencyConflictError(APIError):
    status, code = 409, "conflict"


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
    # The shard stays locked until the commit below; other requests of this user take
    # other shards, so they do not wait for this one's commit.
    shard = in_flight.reserve(db, user.id, limit)
    if shard is None:
        db.rollback()
        raise TooManyInFlightError(
            f"The {user.tier} tier may have {limit} jobs in flight; wait for one to finish."
        )
    job.in_flight_shard = shard  # the insert's trigger counts the job in this shard
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


def new_job(req: dict[str, Any], user: Principal) -> Job:
    """A job ready to commit, or an APIError saying why no provider can run it."""
    mode = req["generation_mode"]
    try:
        chosen = select_provider(
            duration_s=req["duration"], mode=mode, tier=user.tier, forced=req["provider"]
        )
    except ModeNotSupportedError as exc:
        raise InvalidRequestError(str(exc), fields={"provider": [str(exc)]}) from exc
    except TierNotAllowedError as exc:
        raise ProviderNotAllowedError(str(exc), fields={"provider": [str(exc)]}) from exc
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
        prompt=build_prompt(model, style=req["style"], clip_s=chosen.clip_s, script=req["script"]),
        script=req["script"],
        style=req["style"],
        aspect_ratio=model.aspect_ratio_for(req["aspect_ratio"]),
        image_url=req["image_url"],
        requested_duration=req["duration"],
        actual_duration=chosen.clip_s,
        cost=chosen.cost,
        notice=chosen.spec.notice,
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
        raise InvalidRequestError(message, fields={"webhook_url": [message]})
