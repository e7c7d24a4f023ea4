"""Copying a completed job's files into our storage: streamed, checked, all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session, sessionmaker

from models import jobs
from models.db import utcnow
from models.jobs import Job, StorageState
from providers.guarded_http import AddressRefusedError
from providers.storage import Storage

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
TIMEOUT = (5, 60)
# The first wait after a failed store, doubling with each attempt (10, 20, 40, 80 s).
STORE_RETRY_BASE_S = 10.0


@dataclass(frozen=True, slots=True)
class Kind:
    """One of a job's files: the column holding PiAPI's URL, and what it must contain."""

    name: str
    column: str
    media: str  # "video" or "image"
    extension: str


KINDS = (
    Kind("video", "video_url", "video", "mp4"),
    Kind("video_raw", "video_raw_url", "video", "mp4"),
    Kind("thumbnail", "thumbnail_url", "image", "jpg"),
    Kind("last_frame", "last_frame_url", "image", "jpg"),
)


class StoreError(Exception):
    """This attempt failed; the message is the reason shown on the job."""


@dataclass(frozen=True, slots=True)
class Fetched:
    path: Path
    size: int
    sha256: str
    content_type: str


def sniff(head: bytes) -> str | None:
    """ "video" or "image" from the first bytes, or None (an HTML error page, say)."""
    if head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video"  # MP4/MOV, or Matroska/WebM
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8")) or (
        head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    ):
        return "image"
    return None


def fetch(http: requests.Session, url: str, kind: Kind, *, into: Path, max_bytes: int) -> Fetched:
    """Stream url to a file in `into`, checking status, type, size and content on the way.

    Redirects are followed as `http` allows: a guarded_session checks and pins every hop.
    """
    host = urlsplit(url).hostname or "?"  # never the whole URL: it may carry a signed token
    try:
        with http.get(url, stream=True, timeout=TIMEOUT, allow_redirects=True) as resp:
            if resp.status_code != 200:
                raise StoreError(f"{kind.name}: {host} answered {resp.status_code}")
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if not ctype.startswith(f"{kind.media}/"):
                raise StoreError(
                    f"{kind.name}: content type {ctype or 'missing'} is not {kind.media}"
                )
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise StoreError(f"{kind.name}: {declared} bytes is over the {max_bytes} limit")
            digest, size = hashlib.sha256(), 0
            path = into / kind.name
            with path.open("wb") as out:
                for chunk in resp.iter_content(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise StoreError(f"{kind.name}: more than the {max_bytes} byte limit")
                    digest.update(chunk)
                    out.write(chunk)
    except AddressRefusedError as exc:  # the URL, or a redirect on the way, points inside
        raise StoreError(f"{kind.name}: download refused: {exc}") from exc
    except requests.RequestException as exc:
        raise StoreError(f"{kind.name}: {host} unreachable ({type(exc).__name__})") from exc
    with path.open("rb") as f:
        if sniff(f.read(16)) != kind.media:
            raise StoreError(f"{kind.name}: the content is not a {kind.media} (an error page?)")
    return Fetched(path, size, digest.hexdigest(), ctype)


def first_frame(video: Path, out: Path) -> Fetched | None:
    """A JPEG of the video's first frame, if ffmpeg is installed; None otherwise."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    # -nostdin and no stdin: ffmpeg otherwise reads the worker's stdin for its keyboard
    # commands, and a worker started from a terminal shares that terminal.
    command = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(video)]
    done = subprocess.run(
        [*command, "-frames:v", "1", str(out)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        return None
    data = out.read_bytes()
    return Fetched(out, len(data), hashlib.sha256(data).hexdigest(), "image/jpeg")


def store_once(
    sessions: sessionmaker[Session],
    storage: Storage,
    http: requests.Session,
    job_id: int,
    *,
    max_bytes: int,
) -> dict[str, Any] | None:
    """Copy the job's files into storage and record where. None if there is nothing to do.

    Raises StoreError for this attempt; nothing it put into storage is left behind.
    """
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.storage_state != StorageState.PENDING:
            return None
        sources = {k: getattr(job, k.column) for k in KINDS if getattr(job, k.column)}
    if not any(k.name == "video" for k in sources):
        raise StoreError("video: PiAPI gave no video URL")

    files: dict[str, Any] = {}
    folder = f"videos/{job_id}-{secrets.token_hex(12)}"  # unguessable: URLs are capabilities
    put: list[str] = []
    with tempfile.TemporaryDirectory(prefix="store-") as tmp:
        fetched = {
            k.name: fetch(http, url, k, into=Path(tmp), max_bytes=max_bytes)
            for k, url in sources.items()
        }
        if "thumbnail" not in fetched:
            thumb = first_frame(fetched["video"].path, Path(tmp) / "thumbnail.jpg")
            if thumb is not None:
                fetched["thumbnail"] = thumb
        try:
            for kind in KINDS:
                if (got := fetched.get(kind.name)) is None:
                    continue
                key = f"{folder}/{kind.name}.{kind.extension}"
                with got.path.open("rb") as source:
                    storage.put(key, source, content_type=got.content_type)
                put.append(key)
                files[kind.name] = {
                    "key": key,
                    "size": got.size,
                    "sha256": got.sha256,
                    "content_type": got.content_type,
                    "made_by_us": kind.name not in {k.name for k in sources},
                }
        except Exception as exc:
            _remove(storage, put)
            raise StoreError(f"storage refused the file ({type(exc).__name__})") from exc

    with sessions.begin() as session:
        if not jobs.record_stored(session, job_id, files):
            _remove(storage, put)  # the job was deleted (or stored) meanwhile
            return None
    log.info("job %s: stored %s", job_id, ", ".join(files))
    return files


def _remove(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:
            log.exception("could not remove %s after a failed store", key)


def fail_or_retry(
    sessions: sessionmaker[Session],
    job_id: int,
    reason: str,
    *,
    max_attempts: int,
    wait_s: Callable[[int], float],
) -> float | None:
    """Record a failed attempt; returns the wait before the next, or None when giving up."""
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        attempt = job.storage_attempts + 1
        wait = wait_s(attempt) if attempt < max_attempts else None
        retry_at = utcnow() + dt.timedelta(seconds=wait) if wait is not None else None
        jobs.record_store_failure(session, job_id, reason=reason, retry_at=retry_at)
    log.warning("job %s: store attempt %d failed: %s", job_id, attempt, reason)
    return wait
