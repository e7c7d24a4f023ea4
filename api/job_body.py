"""How a job looks from outside: one schema for the API's bodies and the webhook payloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from marshmallow import fields, validate

from api.direct_dump import DirectDump
from models.jobs import Status
from providers.catalogue import ASPECT_RATIOS, BY_KEY, MODES
from providers.prompts import STYLE_PROMPTS

# Validators on a dumped field only say, in the OpenAPI document, which values it takes.
_STATUS = validate.OneOf([s.value for s in Status])


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with a Z, as the spec shows it: 2024-01-15T10:30:00Z."""

    def _serialize(self, value: dt.datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Turns a stored file's key into a URL (ours, or a pre-signed one). The API sets it for
# each request from its storage backend (api/app.py); elsewhere job_view passes it in.
# Without one, a stored file has no URL and PiAPI's is shown.
_url_for_key: ContextVar[Callable[[str], str] | None] = ContextVar("url_for_key", default=None)

MEDIA = {
    "video": "video_url",
    "video_raw": "video_raw_url",
    "thumbnail": "thumbnail_url",
    "last_frame": "last_frame_url",
}


def use_storage_urls(url_for_key: Callable[[str], str] | None) -> None:
    """Give stored files' URLs with url_for_key from here on, in this context (a request)."""
    _url_for_key.set(url_for_key)


@contextmanager
def storage_urls(url_for_key: Callable[[str], str] | None) -> Iterator[None]:
    """Give stored files' URLs with url_for_key for the length of a block."""
    token = _url_for_key.set(url_for_key)
    try:
        yield
    finally:
        _url_for_key.reset(token)


def media_url(job: Any, kind: str) -> str | None:
    """Our copy's URL once stored, PiAPI's until then."""
    stored = (job.stored_files or {}).get(kind) if job.storage_state == "stored" else None
    url_for_key = _url_for_key.get()
    if stored and url_for_key is not None:
        return url_for_key(stored["key"])
    return getattr(job, MEDIA[kind])  # type: ignore[no-any-return]


def stored_url(key: str | None) -> str | None:
    """The URL of a stored key in this context, or None (no key, or no storage URLs here)."""
    url_for_key = _url_for_key.get()
    return url_for_key(key) if key and url_for_key is not None else None


def _image_url(job: Any) -> str | None:
    """The image as requested: image_url, or a fresh URL of the upload (ours, or pre-signed).

    Without storage URLs here (a webhook's payload), an upload shows the URL recorded when
    the job was made.
    """
    return stored_url(job.image_key) or job.image_url


def _options(job: Any) -> dict[str, Any]:
    options = dict(job.options or {})
    if job.end_image_key:
        options["end_image_url"] = stored_url(job.end_image_key) or options.get("end_image_url")
    return options


def _storage(job: Any) -> dict[str, Any]:
    files = job.stored_files or {}
    url_for_key = _url_for_key.get()
    return {
        "state": job.storage_state,
        "error": job.storage_error,
        "attempts": job.storage_attempts,
        "files": {
            kind: {
                "url": url_for_key(f["key"]) if url_for_key else None,
                "size": f["size"],
                "sha256": f["sha256"],
                "content_type": f["content_type"],
            }
            for kind, f in files.items()
        },
    }


class JobSchema(DirectDump):
    """A video job as clients see it (status, generate and library bodies)."""

    video_id = fields.Function(lambda job: str(job.id), metadata={"type": "string"})
    status = fields.String(validate=_STATUS)
    progress = fields.Integer(metadata={"description": "0-100"})
    generation_mode = fields.String(validate=validate.OneOf(MODES))
    provider = fields.String(validate=validate.OneOf(list(BY_KEY)))
    model_name = fields.String()
    campaign_id = fields.Function(
        lambda job: None if job.campaign_id is None else str(job.campaign_id),
        metadata={"type": "string", "nullable": True},
    )
    script = fields.String()
    style = fields.String(validate=validate.OneOf(sorted(STYLE_PROMPTS)))
    aspect_ratio = fields.String(validate=validate.OneOf(ASPECT_RATIOS))
    image_url = fields.Function(
        _image_url,
        metadata={"type": "string", "nullable": True, "description": "the upload's, with one"},
    )
    image_upload_id = fields.String(
        allow_none=True, metadata={"description": "The upload the image came from, or null"}
    )
    end_image_upload_id = fields.String(
        allow_none=True,
        metadata={"description": "The upload of the last frame (options.end_image_url), or null"},
    )
    duration = fields.Integer(
        attribute="actual_duration", metadata={"description": "Seconds of video made"}
    )
    requested_duration = fields.Integer()
    cost = fields.Float(
        allow_none=True,
        metadata={"description": "USD quoted; null where PiAPI publishes no price"},
    )
    cost_estimated = fields.Boolean(
        metadata={"description": "true when cost is an estimate, not a published price"}
    )
    charged_usd = fields.Float(
        allow_none=True,
        metadata={"description": "USD PiAPI charged (its usage points), once the task ended"},
    )
    options = fields.Function(
        _options,
        metadata={"type": "object", "description": "The provider's options, defaults filled in"},
    )
    video_url = fields.Function(
        lambda job: media_url(job, "video"),
        metadata={"type": "string", "nullable": True, "description": "ours once stored"},
    )
    video_raw_url = fields.Function(
        lambda job: media_url(job, "video_raw"), metadata={"type": "string", "nullable": True}
    )
    thumbnail_url = fields.Function(
        lambda job: media_url(job, "thumbnail"), metadata={"type": "string", "nullable": True}
    )
    last_frame_url = fields.Function(
        lambda job: media_url(job, "last_frame"), metadata={"type": "string", "nullable": True}
    )
    provider_media = fields.Function(
        lambda job: {column: getattr(job, column) for column in MEDIA.values()},
        metadata={"type": "object", "description": "PiAPI's own URLs (they may expire)"},
    )
    storage = fields.Function(
        _storage,
        metadata={
            "type": "object",
            "description": "Our copy: state (pending, stored, failed), error, files",
        },
    )
    video_width = fields.Integer(allow_none=True)
    video_height = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True, metadata={"description": "PiAPI's task id"})
    notice = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    created_at = UTCDateTime()
    started_at = UTCDateTime(allow_none=True)
    completed_at = UTCDateTime(allow_none=True)


def job_view(job: Any, url_for_key: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The job's status body, as GET /api/video/status/<id> answers it.

    Webhook payloads are rendered when their event happens, before any copy is stored, so
    the workers pass no url_for_key.
    """
    with storage_urls(url_for_key):
        return JobSchema().dump(job)  # type: ignore[no-any-return]
