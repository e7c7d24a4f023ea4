"""How a job looks from outside: one schema for the API's bodies and the webhook payloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from marshmallow import fields


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with a Z, as the spec shows it: 2024-01-15T10:30:00Z."""

    def _serialize(self, value: dt.datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class JobSchema(ma.Schema):
    """A video job as clients see it (status, generate and library bodies)."""

    video_id = fields.Function(lambda job: str(job.id), metadata={"type": "string"})
    status = fields.String(metadata={"description": "processing, completed, failed or canceled"})
    progress = fields.Integer()
    generation_mode = fields.String()
    provider = fields.String()
    model_name = fields.String()
    campaign_id = fields.Function(
        lambda job: None if job.campaign_id is None else str(job.campaign_id),
        metadata={"type": "string", "nullable": True},
    )
    script = fields.String()
    style = fields.String()
    aspect_ratio = fields.String()
    image_url = fields.String(allow_none=True)
    duration = fields.Integer(
        attribute="actual_duration", metadata={"description": "Seconds of video made"}
    )
    requested_duration = fields.Integer()
    cost = fields.Float(metadata={"description": "USD"})
    video_url = fields.String(allow_none=True)
    video_raw_url = fields.String(allow_none=True)
    thumbnail_url = fields.String(allow_none=True)
    last_frame_url = fields.String(allow_none=True)
    video_width = fields.Integer(allow_none=True)
    video_height = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True, metadata={"description": "PiAPI's task id"})
    notice = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    created_at = UTCDateTime()
    started_at = UTCDateTime(allow_none=True)
    completed_at = UTCDateTime(allow_none=True)


def job_view(job: Any) -> dict[str, Any]:
    """The job's status body, as GET /api/video/status/<id> answers it."""
    return JobSchema().dump(job)  # type: ignore[no-any-return]
