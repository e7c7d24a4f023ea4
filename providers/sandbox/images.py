"""Downloading a task's input images, as PiAPI does, and judging them by their bytes.

Optional in the sandbox (Sandbox.fetch_images): with it, a URL PiAPI could not fetch, or
one that does not serve a JPEG, PNG or WebP image, fails the task as it would on PiAPI,
and each fetch is recorded so a test can prove the URL served the bytes it uploaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import requests

# Kling and Hailuo document 10 MB as their limit (MODELS.md); the sandbox applies it to all.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchedImage:
    """One input image as the sandbox downloaded it; error is None when it is usable."""

    field: str  # the input field the URL came from, e.g. "image_url"
    url: str
    status: int | None  # HTTP status, None if no answer came
    content_type: str | None
    size: int  # bytes read
    sha256: str | None  # of the bytes read, None if nothing was read
    image_type: str | None  # "jpeg", "png" or "webp" by the bytes, None otherwise
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready fields, for GET /sandbox/tasks."""
        return asdict(self)


def image_type(data: bytes) -> str | None:
    """JPEG, PNG or WebP by magic bytes; None for anything else (HTML, text, GIF...)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def fetch_image(field: str, url: str, *, timeout_s: float) -> FetchedImage:
    """GET url with a short timeout and judge what came back; never raises."""
    try:
        with requests.get(url, timeout=timeout_s, stream=True) as resp:
            content_type = resp.headers.get("Content-Type")
            data = bytearray()
            for chunk in resp.iter_content(_CHUNK):
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    break
            status = resp.status_code
    except requests.RequestException as exc:
        reason = f"could not download input.{field} from {url}: {type(exc).__name__}"
        return FetchedImage(field, url, None, None, 0, None, None, reason)
    body = bytes(data)
    kind = image_type(body)
    error = None
    if status != 200:
        error = f"could not download input.{field} from {url}: HTTP {status}"
    elif len(body) > MAX_IMAGE_BYTES:
        error = f"input.{field} at {url} is larger than {MAX_IMAGE_BYTES} bytes"
    elif kind is None:
        error = (
            f"input.{field} at {url} is not a JPEG, PNG or WebP image "
            f"(content type {content_type or 'none'})"
        )
    digest = hashlib.sha256(body).hexdigest() if body else None
    return FetchedImage(field, url, status, content_type, len(body), digest, kind, error)
