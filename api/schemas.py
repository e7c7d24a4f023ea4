"""Request and response bodies, as marshmallow schemas (they also generate the OpenAPI)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from api.catalogue_schemas import OptionsSchema
from api.direct_dump import DirectDump
from api.fields import NO_NUL, NOT_BLANK, DigitsInteger, FullMatch, HttpUrl
from api.job_body import JobSchema, UTCDateTime
from api.library_cursor import PATTERN as CURSOR_PATTERN
from models.jobs import Status
from models.library import COUNT_BOUND
from models.tiers import TIERS
from models.webhooks import DEFAULT_EVENTS, EVENTS, DeliveryState
from providers.catalogue import ASPECT_RATIOS, BY_KEY, IMAGE_TO_VIDEO, MODES
from providers.patterns import INT32_MAX
from providers.prompts import DEFAULT_STYLE, STYLE_PROMPTS

MAX_SCRIPT_CHARS = 4000
MAX_DURATION_S = 600
MAX_UPLOAD_ID_CHARS = 64
MIN_DEADLINE_S = 30
MAX_DEADLINE_S = 24 * 3600


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
    script = fields.String(
        required=True, validate=[validate.Length(min=1, max=MAX_SCRIPT_CHARS), NOT_BLANK]
    )
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
    image_url = HttpUrl(
        load_default=None,
        allow_none=True,
        metadata={"description": "Image to animate; required for image_to_video."},
    )
    image_upload_id = fields.String(
        allow_none=True,
        validate=[validate.Length(max=MAX_UPLOAD_ID_CHARS), NO_NUL],
        metadata={
            "description": "An upload_id from POST /api/uploads, instead of image_url "
            "(image_to_video only)."
        },
    )
    end_image_upload_id = fields.String(
        allow_none=True,
        validate=[validate.Length(max=MAX_UPLOAD_ID_CHARS), NO_NUL],
        metadata={
            "description": "An upload_id for the clip's last frame, on models that take one "
            "(it becomes options.end_image_url); image_to_video only."
        },
    )
    options = fields.Nested(
        OptionsSchema,
        load_default=dict,
        allow_none=True,
        metadata={
            "description": "The provider's own options (GET /api/providers lists each "
            "provider's); only with `provider`."
        },
    )

    webhook_url = HttpUrl(
        load_default=None,
        allow_none=True,
        metadata={"description": "We POST the job's status body here (Standard Webhooks)."},
    )
    webhook_events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        load_default=lambda: list(DEFAULT_EVENTS),
        validate=validate.Length(min=1, max=len(EVENTS)),
        metadata={"description": "Which events to send; default completed, failed, canceled."},
    )
    deadline_seconds = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=MIN_DEADLINE_S, max=MAX_DEADLINE_S),
        metadata={"description": "Fail the job (and cancel it at PiAPI) after this long."},
    )

    @ma.validates_schema
    def _image_matches_mode(self, data: dict[str, Any], **_: Any) -> None:
        given = [name for name in ("image_url", "image_upload_id") if data.get(name)]
        if data.get("generation_mode") == IMAGE_TO_VIDEO:
            if not given:
                raise ma.ValidationError(
                    "Required for image_to_video (or image_upload_id).", field_name="image_url"
                )
            if len(given) > 1:
                raise ma.ValidationError(
                    "Send either image_url or image_upload_id, not both.",
                    field_name="image_upload_id",
                )
            return
        for name in (*given, "end_image_upload_id"):
            if data.get(name):
                raise ma.ValidationError(
                    "Only allowed with generation_mode image_to_video.", field_name=name
                )

    @ma.validates_schema(pass_original=True)
    def _options_need_a_provider(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        # Which provider the automatic choice picks depends on the duration, and each takes
        # its own options: options sent without a provider could not be described, or relied on.
        if isinstance(original, dict) and "options" in original and data.get("provider") is None:
            raise ma.ValidationError(
                "Options need a provider: name one with `provider` (GET /api/providers lists"
                " each one's options), or leave options out.",
                field_name="options",
            )


class LibraryQuery(ma.Schema):
    """GET /api/video/library query string."""

    class Meta:
        unknown = ma.EXCLUDE  # cache-busting parameters are harmless

    page = fields.Integer(
        validate=validate.Range(min=1, max=100_000),
        metadata={
            "description": "Page number (OFFSET paging, as in the spec), default 1. With a"
            " cursor, only the page it reads."
        },
    )
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(
        validate=FullMatch(CURSOR_PATTERN, error="Not a cursor from this API."),
        metadata={
            "description": "A next_cursor from an earlier page: the page after it, at the cost"
            " of page 1. Send the same filters and per_page as that page's request; a cursor"
            " that reads no page of this query is a 404."
        },
    )
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    generation_mode = fields.String(validate=validate.OneOf(MODES))
    provider = fields.String(validate=validate.OneOf(list(BY_KEY)))
    campaign_id = DigitsInteger(strict=True, validate=validate.Range(min=0, max=INT32_MAX))


class LibraryPage(ma.Schema):
    """One page of a user's videos, newest first."""

    videos = fields.List(fields.Nested(JobSchema))
    page = fields.Integer(
        metadata={"description": "This page's number; with a cursor, pages followed from page 1."}
    )
    per_page = fields.Integer()
    total = fields.Integer(
        metadata={
            "description": f"Videos matching the filters: exact up to {COUNT_BOUND:,}; above"
            " that an estimate (see total_is_estimate), never below"
            f" {COUNT_BOUND + 1:,}."
        }
    )
    total_is_estimate = fields.Boolean(
        metadata={
            "description": f"True when more than {COUNT_BOUND:,} match and total is an estimate."
        }
    )
    next_cursor = fields.String(
        allow_none=True,
        metadata={
            "description": "Pass as cursor (with the same filters and per_page) for the next,"
            " older page; null on the last page. Opaque and URL-safe."
        },
    )


class AttemptSchema(DirectDump):
    attempt = fields.Integer()
    at = UTCDateTime()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


class DeliverySchema(DirectDump):
    """One webhook event for a job, with every attempt to deliver it."""

    id = fields.String(metadata={"description": "The webhook-id header, stable across retries"})
    event = fields.String(validate=validate.OneOf(EVENTS))
    state = fields.String(validate=validate.OneOf([s.value for s in DeliveryState]))
    attempts = fields.List(fields.Nested(AttemptSchema), attribute="attempt_list")
    next_attempt_at = UTCDateTime(allow_none=True)
    delivered_at = UTCDateTime(allow_none=True)


class QueueSchema(ma.Schema):
    """A job waiting for one of PiAPI's slots (PIAPI_MAX_CONCURRENT_TASKS)."""

    waiting = fields.Boolean()
    position = fields.Integer(metadata={"description": "1: starts at the next free slot"})
    slots = fields.Integer(metadata={"description": "PiAPI tasks run at once, for everyone"})


class JobDetailSchema(JobSchema):
    """The status body: the job, its place in line while it waits, its webhook deliveries."""

    queue = fields.Nested(
        QueueSchema,
        allow_none=True,
        metadata={"description": "null unless the job waits for a PiAPI slot"},
    )
    webhook_deliveries = fields.List(fields.Nested(DeliverySchema))


class AccountSchema(ma.Schema):
    """Who the key belongs to, what the tier allows, and the webhook signing secret."""

    user_id = fields.Function(lambda body: str(body["user_id"]), metadata={"type": "string"})
    tier = fields.String(validate=validate.OneOf(list(TIERS)))
    price_cap_usd = fields.Float(allow_none=True)
    max_in_flight = fields.Integer()
    in_flight = fields.Integer()
    webhook_secret = fields.String(metadata={"description": "whsec_...: verifies our webhooks"})


class WebhookAck(ma.Schema):
    """What POST /api/webhooks/piapi answers once the secret matched."""

    status = fields.String(
        validate=validate.OneOf(["accepted", "ignored"]),
        metadata={"description": "accepted: the task is polled now; ignored: no task_id in it"},
    )


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # every other header

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        load_default=None,
        # Printable ASCII without spaces at either end, which HTTP would strip anyway.
        validate=[validate.Length(min=1, max=255), FullMatch(r"^[!-~](?:[ -~]*[!-~])?$")],
        metadata={"description": "Retrying with the same key returns the original job."},
    )
