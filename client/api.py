"""The HTTP API as the CLI sees it: one session that carries the key, and errors as values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from client.uploads import MultipartFile

TIMEOUT_S = 30.0
CHUNK_BYTES = 64 * 1024


class ClientError(Exception):
    """Base of the CLI's errors; the message is safe to show (it never holds the key)."""


@dataclass
class APIError(ClientError):
    """The API answered with its error body (or something that is not ours)."""

    status: int
    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    retry_after: str | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    @property
    def transient(self) -> bool:
        """Worth asking again later: rate limited, or the server is having trouble."""
        return self.status == 429 or self.status >= 500


class UnreachableError(ClientError):
    """No HTTP answer at all: refused, timed out, DNS."""


class LocalFileError(ClientError):
    """A file on this side cannot be read or written."""


class VideoClient:
    """Talks to /api/video/* with Authorization: Bearer <key>, like any other client."""

    def __init__(self, base_url: str, key: str, *, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {key}"
        self._http.headers["Accept"] = "application/json"

    def generate(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
        """Ask for a video; the job body as the API answered it."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/api/video/generate", json=body, headers=headers)

    def quote(self, body: dict[str, Any]) -> Any:
        """What a generate body would run and cost, without making a job."""
        return self._call("POST", "/api/video/quote", json=body)

    def providers(self) -> Any:
        """The catalogue as this key's tier sees it."""
        return self._call("GET", "/api/providers")

    def upload(self, path: Path, *, on_chunk: Callable[[int], None] = lambda _n: None) -> Any:
        """Send one image file (streamed from disk) to POST /api/uploads; the upload body."""
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise LocalFileError(f"cannot read {path}: {exc.strerror}") from None
        with handle:
            body = MultipartFile(path, handle, on_chunk=on_chunk)
            headers = {"Content-Type": body.content_type}
            return self._call("POST", "/api/uploads", data=body, headers=headers)

    def status(self, video_id: str) -> Any:
        """One job, with its webhook deliveries."""
        return self._call("GET", f"/api/video/status/{video_id}")

    def library(self, **filters: Any) -> Any:
        """One page of the user's videos, newest first."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/api/video/library", params=params)

    def cancel(self, video_id: str) -> Any:
        """Mark the job canceled (a 409 if it has already finished)."""
        return self._call("POST", f"/api/video/{video_id}/cancel")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(
                method, self.base_url + path, timeout=self._timeout_s, **kwargs
            )
        except requests.RequestException as exc:
            # The exception's text names the URL, never the headers, but a class name is
            # all a user needs to tell a refused connection from a timeout.
            raise UnreachableError(f"cannot reach {self.base_url} ({type(exc).__name__})") from None
        if resp.status_code >= 400:
            raise _api_error(resp)
        try:
            return resp.json()
        except ValueError:
            raise APIError(resp.status_code, "bad_response", "The answer is not JSON.") from None


def _api_error(resp: requests.Response) -> APIError:
    try:
        error = resp.json()["error"]
        return APIError(
            resp.status_code,
            str(error.get("code", "error")),
            str(error.get("message", "")),
            error.get("fields") or {},
            resp.headers.get("Retry-After"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        # A proxy's page, not our error body: say what came back, not what it said.
        return APIError(
            resp.status_code,
            "http_error",
            resp.reason or "unexpected answer",
            {},
            resp.headers.get("Retry-After"),
        )


def download(
    url: str,
    dest: Path,
    *,
    on_start: Callable[[int | None], None] = lambda _total: None,
    on_chunk: Callable[[int], None] = lambda _n: None,
    timeout_s: float = TIMEOUT_S,
) -> int:
    """Stream url into dest (through a temporary file beside it); the byte count.

    The video URL is a capability (our /media/ path, PiAPI's CDN or a pre-signed S3 URL),
    so it is fetched WITHOUT the API key: the key must never reach another host.
    """
    if urlsplit(url).scheme not in {"http", "https"}:
        raise ClientError(f"the video URL is not http(s): {_redact(url)}")
    partial = dest.with_name(dest.name + ".part")
    written = 0
    try:
        with requests.get(url, stream=True, timeout=timeout_s) as resp:
            if resp.status_code >= 400:
                raise APIError(resp.status_code, "download_failed", f"GET {_redact(url)}")
            length = resp.headers.get("Content-Length")
            on_start(int(length) if length and length.isdigit() else None)
            with partial.open("wb") as out:
                for chunk in _chunks(resp):
                    out.write(chunk)
                    written += len(chunk)
                    on_chunk(len(chunk))
        partial.replace(dest)
    except requests.RequestException as exc:
        raise UnreachableError(f"download failed ({type(exc).__name__})") from None
    except OSError as exc:
        raise LocalFileError(f"cannot write {dest}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return written


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    yield from (c for c in resp.iter_content(CHUNK_BYTES) if c)


def _redact(url: str) -> str:
    """A URL without its query: a pre-signed URL's token is a secret too."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
