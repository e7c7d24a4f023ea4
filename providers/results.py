"""Reading PiAPI's task object, in every form REFERENCE.md lists, into one plain result."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class RemoteState(enum.StrEnum):
    """PiAPI's status words, folded into what our job can do with them."""

    WAITING = "waiting"  # pending or staged: not started at PiAPI
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


# Compared lower-case: the schema says "Completed", the examples "completed", and one
# integration saw "Success".
_STATES = {
    "pending": RemoteState.WAITING,
    "staged": RemoteState.WAITING,
    "processing": RemoteState.RUNNING,
    "completed": RemoteState.COMPLETED,
    "success": RemoteState.COMPLETED,
    "failed": RemoteState.FAILED,
}


_FINAL = (RemoteState.COMPLETED, RemoteState.FAILED)
# RFC 3339 with up to nine fraction digits (PiAPI writes nanoseconds; Python keeps six).
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


class MalformedTaskError(ValueError):
    """The body is not a PiAPI task object we can read."""


@dataclass(frozen=True, slots=True)
class Media:
    """Where a finished task's files are. Every field may be missing for some model."""

    video_url: str | None = None
    video_raw_url: str | None = None
    thumbnail_url: str | None = None
    last_frame_url: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class TaskResult:
    """One reading of a PiAPI task."""

    task_id: str
    state: RemoteState
    status_word: str  # as PiAPI wrote it, for logs and the stored response
    media: Media
    raw: Mapping[str, Any]  # the task object as PiAPI sent it, for the job's record
    progress: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    ended_at: dt.datetime | None = None  # PiAPI's meta.ended_at, when it gives a real one
    # meta.usage.consume: what PiAPI charged so far (10,000,000 points = 1 USD); 0 until
    # it completes, None when the body does not say.
    usage_points: int | None = None

    @property
    def is_final(self) -> bool:
        """True once PiAPI has given its verdict."""
        return self.state in (RemoteState.COMPLETED, RemoteState.FAILED)


def task_from_envelope(body: Any) -> Mapping[str, Any]:
    """The task object from a GET/POST envelope {code, message, data} or a webhook {data}."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        raise MalformedTaskError("no task object under `data`")
    return data


def parse_task(task: Mapping[str, Any]) -> TaskResult:
    """Read status, progress, result media and error from one PiAPI task object."""
    task_id = task.get("task_id")
    raw_status = task.get("status")
    if not isinstance(task_id, str) or not task_id or not isinstance(raw_status, str):
        raise MalformedTaskError("task object lacks task_id or status")
    raw_output = task.get("output")
    output: Mapping[str, Any] = raw_output if isinstance(raw_output, Mapping) else {}
    media = _media(output)
    state = _STATES.get(raw_status.strip().lower(), RemoteState.RUNNING)
    # A final video URL is the task's real verdict even while status still lags.
    if media.video_url and state in (RemoteState.WAITING, RemoteState.RUNNING):
        state = RemoteState.COMPLETED
    code, message = _error(task.get("error"))
    if state is RemoteState.FAILED and not message:
        message = "PiAPI reported the task failed without a reason."
    return TaskResult(
        task_id=task_id,
        state=state,
        status_word=raw_status,
        media=media,
        raw=task,
        progress=_progress(task, output),
        error_code=code if state is RemoteState.FAILED else None,
        error_message=message if state is RemoteState.FAILED else None,
        ended_at=_ended_at(task.get("meta")) if state in _FINAL else None,
        usage_points=_usage_points(task.get("meta")),
    )


def _media(output: Mapping[str, Any]) -> Media:
    # Luma: objects {url, width, height}. Hunyuan/WanX/Skyreels: output.video_url.
    # Kling 3.0, turbo, Veo, Sora 2: output.video as a string ("" while pending). Older
    # Kling: works[0].video / works[0].cover. Hailuo: video_url, download_url, cover_url
    # and top-level width/height. Anything else reads as no media: the raw body is kept
    # and a completed task without a video fails as provider_output_missing.
    video = output.get("video")
    video_obj = _mapping(video)
    work = _first_work(output)
    work_video, work_cover = _mapping(work.get("video")), _mapping(work.get("cover"))
    video_url = (
        _url(output.get("video_url"))
        or _url(video)
        or _url(video_obj.get("url"))
        or _url(work_video.get("resource_without_watermark"))
        or _url(work_video.get("resource"))
    )
    return Media(
        video_url=video_url,
        video_raw_url=_url_of(output.get("video_raw")) or _url(output.get("download_url")),
        thumbnail_url=_url_of(output.get("thumbnail"))
        or _url(output.get("thumbnail_url"))
        or _url(output.get("cover_url"))
        or _url(work_cover.get("resource")),
        last_frame_url=_url_of(output.get("last_frame")),
        width=_int(video_obj.get("width"))
        or _int(work_video.get("width"))
        or _int(output.get("width")),
        height=_int(video_obj.get("height"))
        or _int(work_video.get("height"))
        or _int(output.get("height")),
    )


def _first_work(output: Mapping[str, Any]) -> Mapping[str, Any]:
    works = output.get("works")
    return _mapping(works[0]) if isinstance(works, list) and works else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value[:8].lower().startswith(("http://", "https://")):
        return value
    return None


def _url_of(value: Any) -> str | None:
    return _url(value) or (_url(value.get("url")) if isinstance(value, Mapping) else None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _progress(task: Mapping[str, Any], output: Mapping[str, Any]) -> int | None:
    # Hailuo says output.percent; others output.progress or a top-level progress.
    for value in (output.get("progress"), output.get("percent"), task.get("progress")):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return max(0, min(100, int(value)))
    return None


def _usage_points(meta: Any) -> int | None:
    usage = meta.get("usage") if isinstance(meta, Mapping) else None
    consume = usage.get("consume") if isinstance(usage, Mapping) else None
    if isinstance(consume, bool) or not isinstance(consume, int | float) or consume < 0:
        return None
    # A float is read only when whole: NaN, infinities and fractions are unreadable.
    if isinstance(consume, float) and not consume.is_integer():
        return None
    return int(consume)


def _error(error: Any) -> tuple[str | None, str | None]:
    if not isinstance(error, Mapping):
        return None, None
    code = error.get("code")
    message = error.get("message") or error.get("raw_message") or None
    has_code = code not in (None, 0, "0", "")
    return (str(code) if has_code else None), (str(message) if message else None)


def _ended_at(meta: Any) -> dt.datetime | None:
    # Newer tasks say meta.ended_at, older ones meta.completed_at. The zero time
    # (0001-01-01) means "not ended"; anything unreadable is simply unknown.
    if not isinstance(meta, Mapping):
        return None
    for key in ("ended_at", "completed_at"):
        when = parse_timestamp(meta.get(key))
        if when is not None:
            return when
    return None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A UTC datetime from PiAPI's RFC 3339 text; None for the zero time or anything else."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    text = whole + "." + (fraction or "0")[:6].ljust(6, "0") + ("+00:00" if zone == "Z" else zone)
    try:
        when = dt.datetime.fromisoformat(text)
        return when.astimezone(dt.UTC) if when.year > 1 else None
    except (ValueError, OverflowError):  # e.g. month 13, or past year 9999 once in UTC
        return None
