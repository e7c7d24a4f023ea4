"""POST /api/uploads and its resources: an image from a file, for image-to-video jobs.

The body (a multipart field `file`, or the raw bytes with an image content type) is read
in chunks into a temporary file with a running SHA-256, never whole into memory, and
refused as soon as it passes UPLOAD_MAX_BYTES. Its type comes from its bytes alone.
Nothing is written (no row, no file) until the image has passed every check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import tempfile
from typing import IO

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import current_user
from api.errors import (
    APIError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    documented_errors,
)
from api.job_body import UTCDateTime, stored_url
from models import uploads
from models.db import utcnow
from models.uploads import Upload
from providers.image_probe import EXTENSIONS, ImageTooLargeError, NotAnImageError, probe
from providers.upload_urls import UploadURLs

log = logging.getLogger(__name__)

blp = Blueprint("uploads", __name__, url_prefix="/api", description="Images from a file")

FIELD = "file"
RAW_TYPES = ("image/jpeg", "image/png", "image/webp")
CHUNK = 256 * 1024
# Room for multipart's boundaries and part headers around a file of the largest size.
MULTIPART_SLACK = 64 * 1024


class UnsupportedImageError(APIError):
    status, code = 415, "unsupported_media_type"


class UploadTooLargeError(APIError):
    status, code = 413, "payload_too_large"


class UploadsUnreachableError(APIError):
    """Uploads would be stored where PiAPI cannot fetch them (see UploadURLs.refusal)."""

    status, code = 409, "conflict"


class StorageUnavailableError(APIError):
    status, code = 503, "unavailable"
    retry_after_s = 5


class UploadSchema(ma.Schema):
    """An uploaded image: where you can see it, what it is, and until when it may be used."""

    upload_id = fields.String(attribute="id", metadata={"description": "upl_ and 24 hex digits"})
    url = fields.Function(
        lambda upload: stored_url(upload.key),
        metadata={"type": "string", "description": "Ours (/media/...) or a pre-signed S3 GET"},
    )
    content_type = fields.String(metadata={"description": "From the file's bytes"})
    size = fields.Integer(metadata={"description": "Bytes"})
    sha256 = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    created_at = UTCDateTime()
    expires_at = UTCDateTime(
        metadata={"description": "No new job may use it after this; a job that does keeps it"}
    )


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_REQUEST_BODY = {
    "required": True,
    "description": "One JPEG, PNG or WebP image, told apart by its bytes.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {FIELD: {"type": "string", "format": "binary"}},
                "required": [FIELD],
            }
        },
        **dict.fromkeys(RAW_TYPES, _BINARY),
    },
}


@blp.route("/uploads", methods=["POST"])
@blp.doc(requestBody=_REQUEST_BODY)
@blp.response(201, UploadSchema, description="Stored; use upload_id in generate")
@documented_errors(blp, 409, 413, 415, 422)
def create() -> Upload:
    """Store one image (multipart field `file`, or a raw image body) for image-to-video jobs."""
    settings = current_app.extensions["settings"]
    storage = current_app.extensions["storage"]
    urls = UploadURLs(
        storage, public_base_url=settings.public_base_url, uses_sandbox=settings.uses_sandbox
    )
    if (why := urls.refusal) is not None:
        raise UploadsUnreachableError(why)
    limit = settings.upload_max_bytes
    # Flask 3.1: this route alone takes more than MAX_REQUEST_BYTES.
    request.max_content_length = limit + MULTIPART_SLACK
    with tempfile.TemporaryFile() as spool:
        size, sha256 = _receive(spool, limit)
        if size == 0:
            raise InvalidRequestError("The file is empty.", fields={FIELD: ["The file is empty."]})
        try:
            facts = probe(spool, size)
        except NotAnImageError as exc:
            raise UnsupportedImageError(str(exc), fields={FIELD: [str(exc)]}) from exc
        except ImageTooLargeError as exc:
            raise InvalidRequestError(str(exc), fields={FIELD: [str(exc)]}) from exc
        now = utcnow()
        expires_at = now + dt.timedelta(seconds=settings.upload_ttl_s)
        upload = Upload(
            id=uploads.new_id(),
            user_id=current_user().id,
            key=f"uploads/{secrets.token_hex(16)}.{EXTENSIONS[facts.fmt]}",
            content_type=facts.content_type,
            size=size,
            sha256=sha256,
            width=facts.width,
            height=facts.height,
            created_at=now,
            expires_at=expires_at,
            sweep_at=expires_at,
        )
        # The row first: a file is never left in storage without one (the sweeper removes
        # a row whose file never arrived, once it expires; no one was told its id).
        g.db.add(upload)
        g.db.commit()
        try:
            storage.put(upload.key, spool, content_type=facts.content_type)
        except Exception as exc:
            log.exception("upload %s: storing the file failed", upload.id)
            g.db.delete(upload)
            g.db.commit()
            raise StorageUnavailableError("Storage is unavailable; retry shortly.") from exc
    log.info("upload %s stored: %s, %d bytes", upload.id, facts.content_type, size)
    return upload


@blp.route("/uploads/<upload_id>", methods=["GET"])
@blp.response(200, UploadSchema)
@documented_errors(blp, 404)
def show(upload_id: str) -> Upload:
    """One of your uploads, with a fresh URL; expired ones are gone (404)."""
    return _owned(upload_id)


@blp.route("/uploads/<upload_id>", methods=["DELETE"])
@blp.response(204, description="Removed, with its file")
@documented_errors(blp, 404, 409)
def delete(upload_id: str) -> tuple[str, int]:
    """Remove an upload no job uses, and its file."""
    upload = _owned(upload_id)
    in_use = f"Upload {upload_id} is used by a job; it is removed after that job is deleted."
    if uploads.in_use(g.db, upload.id):
        raise ConflictError(in_use)
    key = upload.key
    g.db.delete(upload)
    try:
        g.db.commit()
    except IntegrityError:
        # A job using it was committed in between (the foreign key on Postgres says so).
        g.db.rollback()
        raise ConflictError(in_use) from None
    current_app.extensions["storage"].delete(key)
    return "", 204


def _owned(upload_id: str) -> Upload:
    upload = uploads.live(g.db, upload_id, current_user().id)
    if upload is None:
        # Another user's upload looks exactly like one that does not exist.
        raise NotFoundError(f"No upload {upload_id}.")
    return upload


def _receive(spool: IO[bytes], limit: int) -> tuple[int, str]:
    """Copy the request's file into spool; its size and SHA-256. 413 past limit bytes."""
    too_large = f"The file is larger than UPLOAD_MAX_BYTES ({limit} bytes)."
    try:
        source = _source()
        digest, size = hashlib.sha256(), 0
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise UploadTooLargeError(too_large, fields={FIELD: [too_large]})
            digest.update(chunk)
            spool.write(chunk)
    except RequestEntityTooLarge:
        raise UploadTooLargeError(too_large, fields={FIELD: [too_large]}) from None
    spool.seek(0)
    return size, digest.hexdigest()


def _source() -> IO[bytes]:
    if request.mimetype == "multipart/form-data":
        files = request.files.getlist(FIELD)
        if len(files) != 1:
            message = f"Send exactly one file, in the multipart field {FIELD!r}."
            raise InvalidRequestError(message, fields={FIELD: [message]})
        return files[0].stream
    if request.mimetype in RAW_TYPES:
        return request.stream
    message = (
        f"Send the image as multipart/form-data (field {FIELD!r}) or as the raw body with "
        f"Content-Type {', '.join(RAW_TYPES)}."
    )
    raise UnsupportedImageError(message, fields={FIELD: [message]})
