"""Accepting a generate request: idempotency, the tier's limits, then a priced job row."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import (
    APIError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ProviderNotAllowedError,
)
from api.job_body import stored_url
from models import jobs, uploads
from models.db import utcnow
from models.jobs import InsertedJob, Job
from models.tiers import TIERS
from models.uploads import Upload
from providers.catalogue import OptionsError
from providers.image_probe import ImageFacts
from providers.plans import (
    END_FRAME_OPTION,
    FIRST_FRAME,
    LAST_FRAME,
    ImagesError,
    Plan,
    PromptTooLongError,
    plan_job,
)
from providers.selection import ModeNotSupportedError, cap_refusal
from providers.url_guard import NON_PUBLIC, refusal


class IdempotencyConflictError(ConflictError):
    """The Idempotency-Key was used with another body."""


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
) -> tuple[Job | InsertedJob, bool]:
    """The job for this request and whether it is new. Commits a new job before returning.

    A new job comes back as the row its INSERT wrote (jobs.InsertedJob), a replay as the
    stored Job.
    """
    if key is not None and (existing := _replay(db, user, key, body_hash)) is not None:
        return existing, False

    # Locked until the commit: the sweeper passes over an upload a job is being made from.
    values = new_job_values(req, user, images=request_uploads(db, req, user, lock=True))
    values |= {"idempotency_key": key, "request_hash": body_hash}
    limit = TIERS[user.tier].max_in_flight
    try:
        # The shard stays locked until the job's commit; other requests of this user take
        # other shards, so they do not wait for this one's commit. The insert's trigger
        # counts the job in it. Accepted means durable: the row is committed before we
        # answer.
        row = jobs.insert_counted_committed(db, values, user_id=user.id, limit=limit)
        if row is None:
            db.rollback()
            raise TooManyInFlightError(
                f"The {user.tier} tier may have {limit} jobs in flight; wait for one to finish."
            )
    except IntegrityError:
        # Another request with the same Idempotency-Key committed first; or an upload
        # expired and was swept after it was read: insert_counted's careful way starts
        # with a rollback, which lets go of the uploads' locks. Then it is the 404 a
        # moment's difference would have given.
        db.rollback()
        request_uploads(db, req, user)
        if key is None or (existing := _replay(db, user, key, body_hash)) is None:
            raise
        return existing, False
    return row, True


def _replay(db: Session, user: Principal, key: str, body_hash: str) -> Job | None:
    job = db.scalar(select(Job).where(Job.user_id == user.id, Job.idempotency_key == key))
    if job is not None and job.request_hash != body_hash:
        raise IdempotencyConflictError(
            "This Idempotency-Key was used with a different request body."
        )
    return job


def request_uploads(
    db: Session, req: dict[str, Any], user: Principal, *, lock: bool = False
) -> dict[str, Upload]:
    """The uploads a request names, by field; a 404 naming the field for any it may not use."""
    found: dict[str, Upload] = {}
    for field in (FIRST_FRAME, LAST_FRAME):
        upload_id = req.get(field)
        if upload_id is None:
            continue
        upload = uploads.live(db, upload_id, user.id, lock=lock)
        if upload is None:
            message = f"No upload {upload_id}: unknown, another user's, or expired."
            raise NotFoundError(message, fields={field: [message]})
        found[field] = upload
    return found


def plan_request(
    req: dict[str, Any], tier: str, *, images: dict[str, Upload] | None = None
) -> Plan:
    """How a generate (or quote) request would run, or an APIError naming the failing field.

    images are the request's uploads (request_uploads). The plan may be over the tier's
    price cap: plan.selection.allowed says.
    """
    facts = {
        field: ImageFacts(upload.fmt, upload.size, upload.width, upload.height)
        for field, upload in (images or {}).items()
    }
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
            images=facts,
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
    except ImagesError as exc:
        message = "The uploaded images do not fit the provider."
        raise InvalidRequestError(message, fields=exc.problems) from exc


def new_job_values(
    req: dict[str, Any], user: Principal, *, images: dict[str, Upload] | None = None
) -> dict[str, Any]:
    """The columns of a job ready to insert, or an APIError saying why no provider can run it.

    images are the request's uploads (request_uploads): the job keeps their ids and keys.
    A dict, not a Job: generate inserts it with jobs.insert_counted, and an ORM instance
    only to read it back cost CPU on the API's busiest route.
    """
    mode = req["generation_mode"]
    images = images or {}
    plan = plan_request(req, user.tier, images=images)
    chosen = plan.selection
    if not chosen.allowed:
        message = cap_refusal(chosen, mode=mode, tier=user.tier, forced=req["provider"] is not None)
        raise ProviderNotAllowedError(message, fields={"provider": [message]})
    _check_webhook_url(req.get("webhook_url"))

    model = chosen.model
    now = utcnow()
    deadline_s = req.get("deadline_seconds") or model.deadline_s
    return {
        "user_id": user.id,
        "campaign_id": req["campaign_id"],
        "provider": model.key,
        "model_name": chosen.spec.model_name,
        "task_type": chosen.spec.task_type,
        "generation_mode": mode,
        "prompt": plan.prompt,
        "script": req["script"],
        "style": req["style"],
        "aspect_ratio": plan.aspect_ratio,
        # An upload's URL as of now, so a body rendered without storage URLs (a webhook's)
        # still shows it; the API renders a fresh one (api/job_body.py).
        "image_url": req["image_url"] or stored_url(_upload_part(images, FIRST_FRAME, "key")),
        "requested_duration": req["duration"],
        "actual_duration": chosen.clip_s,
        "cost": chosen.cost,
        "cost_estimated": chosen.cost_estimated,
        "options": _with_end_frame(chosen.options, images),
        "notice": plan.notice,
        "webhook_url": req.get("webhook_url"),
        "webhook_events": list(req.get("webhook_events") or []) if req.get("webhook_url") else None,
        "created_at": now,
        "updated_at": now,
        "deadline_at": now + dt.timedelta(seconds=deadline_s),
        # Without the request's own deadline, the model's counts from the job's start
        # (models/jobs.claim_for_submit): a job waiting for a PiAPI slot keeps it.
        "run_deadline_s": None if req.get("deadline_seconds") else model.deadline_s,
        "image_upload_id": _upload_part(images, FIRST_FRAME, "id"),
        "image_key": _upload_part(images, FIRST_FRAME, "key"),
        "end_image_upload_id": _upload_part(images, LAST_FRAME, "id"),
        "end_image_key": _upload_part(images, LAST_FRAME, "key"),
    }


def _with_end_frame(options: Mapping[str, Any], images: dict[str, Upload]) -> dict[str, Any]:
    # The last frame's URL as of now, like image_url: webhooks' bodies show it.
    recorded = dict(options)
    if (url := stored_url(_upload_part(images, LAST_FRAME, "key"))) is not None:
        recorded[END_FRAME_OPTION] = url
    return recorded


def _upload_part(found: dict[str, Upload], field: str, part: str) -> str | None:
    upload = found.get(field)
    return None if upload is None else str(getattr(upload, part))


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
