"""Request and response bodies, as marshmallow schemas (they also generate the OpenAPI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from providers.catalogue import ASPECT_RATIOS, BY_KEY, IMAGE_TO_VIDEO, MODES
from providers.prompts import DEFAULT_STYLE, STYLE_PROMPTS

MAX_SCRIPT_CHARS = 4000
MAX_DURATION_S = 600
MAX_URL_CHARS = 2048
INT32_MAX = 2**31 - 1


class DigitsInteger(fields.Integer):
    """An integer sent as a JSON number or as a string of digits ("123", as in the spec)."""

    default_error_messages = {"invalid": "Must be an integer or a string of digits."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not value.isascii() or not value.isdigit() or len(value) > 10:
                raise self.make_error("invalid")
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-any-return]


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with a Z, as the spec shows it: 2024-01-15T10:30:00Z."""

    def _serialize(self, value: dt.datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class GenerateRequest(ma.Schema):
    """POST /api/video/generate."""

    class Meta:
        unknown = ma.RAISE  # a misspelt field is a 422, not silently ignored

    campaign_id = DigitsInteger(
        strict=True,  # 12.5 is not campaign 12
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=INT32_MAX),
        metadata={"description": "Campaign this video belongs to; digits or integer."},
    )
    generation_mode = fields.String(required=True, validate=validate.OneOf(MODES))
    script = fields.String(required=True, validate=validate.Length(min=1, max=MAX_SCRIPT_CHARS))
    style = fields.String(
        load_default=DEFAULT_STYLE, validate=validate.OneOf(sorted(STYLE_PROMPTS))
    )
    duration = fields.Integer(
        strict=True,
        load_default=5,
        validate=validate.Range(min=1, max=MAX_DURATION_S),
        metadata={"description": "Requested seconds; picks the provider (see README)."},
    )
    aspect_ratio = fields.String(load_default="16:9", validate=validate.OneOf(ASPECT_RATIOS))
    provider = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(BY_KEY)),
        metadata={"description": "Force a provider instead of the automatic choice."},
    )
    image_url = fields.Url(
        load_default=None,
        allow_none=True,
        schemes={"http", "https"},
        validate=validate.Length(max=MAX_URL_CHARS),
        metadata={"description": "Image to animate; required for image_to_video."},
    )

    @ma.validates_schema
    def _image_matches_mode(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("script", "x").strip():
            raise ma.ValidationError("Must not be blank.", field_name="script")
        image = data.get("image_url")
        if data.get("generation_mode") == IMAGE_TO_VIDEO and not image:
            raise ma.ValidationError("Required for image_to_video.", field_name="image_url")
        if data.get("generation_mode") != IMAGE_TO_VIDEO and image:
            raise ma.ValidationError(
                "Only allowed with generation_mode image_to_video.",
                field_name="image_url",
            )


class LibraryQuery(ma.Schema):
    """GET /api/video/library query string."""

    class Meta:
        unknown = ma.EXCLUDE  # cache-busting parameters are harmless

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


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


class LibraryPage(ma.Schema):
    """One page of a user's videos, newest first."""

    videos = fields.List(fields.Nested(JobSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
