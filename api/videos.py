"""The spec's three endpoints (generate, status, library), and cancel."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import Row, bindparam, select
from sqlalchemy import delete as sa_delete

from api import waiting
from api.auth import current_user
from api.catalogue_schemas import QuoteSchema
from api.errors import ConflictError, NotFoundError, documented_errors
from api.job_body import JobSchema, job_view
from api.library_cursor import Cursor, CursorError
from api.library_cursor import encode as encode_cursor
from api.library_cursor import fingerprint as cursor_fingerprint
from api.library_cursor import resume as resume_cursor
from api.request_db import request_bind
from api.schemas import (
    GenerateRequest,
    IdempotencyHeader,
    JobDetailSchema,
    LibraryPage,
    LibraryQuery,
)
from api.submissions import accept, plan_request, request_hash, request_uploads
from infra import log_context
from infra.metrics import JOBS_CREATED
from models import jobs, uploads, webhooks
from models import library as library_reads
from models.db import read_connection
from models.jobs import Job
from models.tiers import TIERS
from models.webhooks import WebhookAttempt, WebhookDelivery
from providers.patterns import INT32_MAX
from providers.selection import cap_refusal

log = logging.getLogger(__name__)

blp = Blueprint("videos", __name__, url_prefix="/api/video", description="Video generation jobs")


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    """A webhook delivery with its attempts, as the status body shows it."""

    delivery: WebhookDelivery
    attempt_list: list[WebhookAttempt]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.delivery, name)


class JobDetail(SimpleNamespace):
    """A job's row with its place in line and webhook deliveries: what JobDetailSchema dumps.

    The row's columns are copied in, not reached through a __getattr__ that delegates:
    the body's forty reads through that fallback cost 50 us of a status request.
    """

    @classmethod
    def of(
        cls, job: Row[Any], queue: dict[str, Any] | None, deliveries: list[DeliveryDetail]
    ) -> JobDetail:
        return cls(**job._asdict(), queue=queue, webhook_deliveries=deliveries)


# Status reads the row as a plain row, not an ORM object, on a pooled connection rather
# than through the session: the same single primary-key read with a third less CPU (no
# identity map, instance or session transaction), on the API's busiest route.
_JOB_ROW = select(Job.__table__).where(Job.__table__.c.id == bindparam("id"))


def _owned_job(video_id: int) -> Job:
    # Ids are 32-bit; a larger one names no job (and SQLite cannot even bind past 64 bits).
    job: Job | None = g.db.get(Job, video_id) if video_id <= INT32_MAX else None
    if job is None or job.user_id != current_user().id:
        # Another user's job looks exactly like one that does not exist.
        raise NotFoundError(f"No video {video_id}.")
    log_context.bind(task_id=job.task_id)
    return job


@blp.route("/generate", methods=["POST"])
@blp.arguments(IdempotencyHeader(), location="headers")
@blp.arguments(GenerateRequest())
@blp.response(202, JobSchema, description="Accepted: the job is stored")
@blp.alt_response(200, schema=JobSchema, description="A retry with the same Idempotency-Key")
@documented_errors(blp, 400, 403, 404, 409, 413, 415, 422, 429)
def generate(headers: dict[str, Any], req: dict[str, Any]) -> Any:
    """Accept a video request; the job is stored before this answers."""
    key = headers.get("idempotency_key")
    job, created = accept(
        g.db, req, current_user(), key=key, body_hash=request_hash(request.get_json())
    )
    log_context.bind(job_id=job.id, task_id=job.task_id)
    if not created:
        return job, 200  # a replay: the original job, as it is now
    JOBS_CREATED.labels(job.generation_mode, job.provider).inc()
    try:
        waiting.enqueue(job.id)
    except Exception:
        log.exception("job %s: enqueue failed; left for the sweeper", job.id)
    return job


@blp.route("/quote", methods=["POST"])
@blp.arguments(GenerateRequest)
@blp.response(200, QuoteSchema, description="What the request would run and cost")
@documented_errors(blp, 400, 404, 413, 415, 422)
def quote(req: dict[str, Any]) -> dict[str, Any]:
    """Price a generate request (same body) and say whether your tier may run it; no job is made."""
    tier = current_user().tier
    plan = plan_request(req, tier, images=request_uploads(g.db, req, current_user()))
    chosen = plan.selection
    forced = req["provider"] is not None
    return {
        "provider": chosen.model.key,
        "model_name": chosen.spec.model_name,
        "task_type": chosen.spec.task_type,
        "generation_mode": req["generation_mode"],
        "requested_duration": req["duration"],
        "duration": chosen.clip_s,
        "aspect_ratio": plan.aspect_ratio,
        "options": dict(chosen.options),
        "cost": chosen.cost,
        "cost_estimated": chosen.cost_estimated,
        "price_source": chosen.spec.price.source.value,
        "notice": plan.notice,
        "allowed": chosen.allowed,
        "not_allowed_reason": None
        if chosen.allowed
        else cap_refusal(chosen, mode=req["generation_mode"], tier=tier, forced=forced),
        "tier": tier,
        "price_cap_usd": TIERS[tier].price_cap_usd,
    }


@blp.route("/status/<digits:video_id>", methods=["GET"])
@blp.response(200, JobDetailSchema)
@documented_errors(blp, 404)
def status(video_id: int) -> JobDetail:
    """One job's status, progress and, once done, its result or error and webhook deliveries."""
    job: Any = None  # a Row of Job's columns, read as a Job is
    if video_id <= INT32_MAX:  # ids are 32-bit: a larger one names no job
        with read_connection(request_bind()) as conn:
            job = conn.execute(_JOB_ROW, {"id": video_id}).one_or_none()
    if job is None or job.user_id != current_user().id:
        raise NotFoundError(f"No video {video_id}.")  # another's looks like none at all
    log_context.bind(task_id=job.task_id)
    # Deliveries exist only for jobs that asked for webhooks: most jobs need no query.
    deliveries = webhooks.deliveries_for(g.db, job.id) if job.webhook_url else []
    attempts = webhooks.attempts_for(g.db, [d.id for d in deliveries]) if deliveries else []
    return JobDetail.of(
        job,
        waiting.place(job),
        [DeliveryDetail(d, [a for a in attempts if a.delivery_id == d.id]) for d in deliveries],
    )


@blp.route("/<digits:video_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@documented_errors(blp, 404, 409)
def cancel(video_id: int) -> Job:
    """Stop following the job and mark it canceled; PiAPI is asked to cancel if it can."""
    job = _owned_job(video_id)
    had_task = job.task_id is not None
    held_slot = waiting.holds_slot(job)
    if not jobs.cancel(g.db, job.id):
        raise ConflictError(f"Video {video_id} has already finished as {job.status}.")
    delivery = webhooks.record_event(g.db, job.id, "canceled", render=job_view)
    g.db.commit()
    messages = current_app.extensions["messages"]
    try:
        if had_task:
            messages.cancel_remote(job.id)
        if delivery:
            messages.deliver(delivery)
        if held_slot:
            waiting.slot_freed()
    except Exception:
        log.exception("job %s: enqueue after cancel failed", job.id)
    g.db.refresh(job)
    return job


@blp.route("/<digits:video_id>", methods=["DELETE"])
@blp.response(204, description="Deleted, with its stored files")
@documented_errors(blp, 404, 409)
def delete(video_id: int) -> tuple[str, int]:
    """Delete a finished job and every file we stored for it."""
    job = _owned_job(video_id)
    if job.status == "processing":
        raise ConflictError(f"Video {video_id} is still processing; cancel it first.")
    storage = current_app.extensions["storage"]
    for stored in (job.stored_files or {}).values():
        storage.delete(stored["key"])
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.job_id == job.id)
    g.db.execute(sa_delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    g.db.execute(sa_delete(WebhookDelivery).where(WebhookDelivery.job_id == job.id))
    g.db.delete(job)
    # Its uploads, if expired and now unused, go on the sweeper's next pass.
    uploads.look_again(g.db, [job.image_upload_id, job.end_image_upload_id])
    g.db.commit()
    return "", 204


@blp.route("/library", methods=["GET"])
@blp.arguments(LibraryQuery, location="query")
@blp.response(200, LibraryPage)
@documented_errors(blp, 404, 422)
def library(query: dict[str, Any]) -> dict[str, Any]:
    """The user's videos, newest first, a page at a time (by page or cursor), optionally filtered.

    At most three statements whatever the history: the page, a count capped at COUNT_BOUND,
    and past the cap the planner's estimate.
    """
    per_page, cursor = query["per_page"], _cursor(query)
    where = library_reads.conditions(current_user().id, query)
    if cursor is not None:
        page, offset = cursor.page, 0
        after = library_reads.Position(cursor.created_at, cursor.id)
    else:
        page = query.get("page", 1)
        offset, after = (page - 1) * per_page, None
    # One row more than the page says whether there is a next page, without counting.
    rows = library_reads.read_page(g.db, where, after=after, offset=offset, limit=per_page + 1)
    videos, more = rows[:per_page], len(rows) > per_page
    if cursor is None and not more and (videos or not offset):
        total = library_reads.Total(offset + len(videos), is_estimate=False)  # the last page
    else:
        total = library_reads.total(g.db, where)
    next_cursor = None
    if more:
        last = videos[-1]
        next_cursor = encode_cursor(
            Cursor(last.created_at, last.id, page + 1, cursor_fingerprint(query))
        )
    return {
        "videos": videos,
        "page": page,
        "per_page": per_page,
        "total": total.count,
        "total_is_estimate": total.is_estimate,
        "next_cursor": next_cursor,
    }


def _cursor(query: dict[str, Any]) -> Cursor | None:
    # A cursor in the documented form that reads no page of this query names nothing: a 404,
    # like a video id that names no video (the document cannot say which texts are cursors).
    if (text := query.get("cursor")) is None:
        return None
    try:
        return resume_cursor(text, query, query.get("page"))
    except CursorError as exc:
        raise NotFoundError(str(exc), fields={"cursor": [str(exc)]}) from None
