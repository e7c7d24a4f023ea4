"""The spec's three endpoints: generate, status, library."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api.errors import APIError
from api.identity import current_user
from api.schemas import GenerateRequest, JobSchema, LibraryPage, LibraryQuery
from api.submissions import new_job
from models.jobs import Job

log = logging.getLogger(__name__)

blp = Blueprint("videos", __name__, url_prefix="/api/video", description="Video generation jobs")


class JobNotFoundError(APIError):
    status, code = 404, "not_found"


@blp.route("/generate", methods=["POST"])
@blp.arguments(GenerateRequest)
@blp.response(202, JobSchema)
@blp.alt_response(403, description="The user's tier may not use that provider")
def generate(req: dict[str, Any]) -> Job:
    """Accept a video request; the job is stored before this answers."""
    job = new_job(req, current_user())
    g.db.add(job)
    g.db.commit()  # accepted means durable: the row exists before we answer
    try:
        current_app.extensions["enqueue_submit"](job.id)
    except Exception:
        log.exception("job %s: enqueue failed; left for the sweeper", job.id)
    return job


@blp.route("/status/<int:video_id>", methods=["GET"])
@blp.response(200, JobSchema)
def status(video_id: int) -> Job:
    """One job's status, progress and, once done, its result or error."""
    job = g.db.get(Job, video_id)
    if job is None or job.user_id != current_user().id:
        raise JobNotFoundError(f"No video {video_id}.")
    return job


@blp.route("/library", methods=["GET"])
@blp.arguments(LibraryQuery, location="query")
@blp.response(200, LibraryPage)
def library(query: dict[str, Any]) -> dict[str, Any]:
    """The user's videos, newest first, a page at a time."""
    page, per_page = query["page"], query["per_page"]
    mine = Job.user_id == current_user().id
    total = g.db.scalar(select(func.count()).select_from(Job).where(mine))
    videos = g.db.scalars(
        select(Job)
        .where(mine)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return {"videos": videos, "page": page, "per_page": per_page, "total": total}
