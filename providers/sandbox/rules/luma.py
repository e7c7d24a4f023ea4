"""Luma Dream Machine (model luma), in both the newer and the older input schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.sandbox.rules.base import (
    EXTEND,
    T2V,
    RequestRejectedError,
    Verdict,
    boolean,
    is_url,
    points,
    prompt,
)

LUMA = "luma"
TASK_TYPES: Mapping[str, Mapping[str, str]] = {
    # Both modes are video_generation: a start_image makes it image-to-video.
    LUMA: {"video_generation": T2V, "extend_video": EXTEND},
}
# A documented ray-v2 task took 3 min 11 s from creation to end (REFERENCE.md).
RUNTIME_S: Mapping[tuple[str, str], float] = {
    (LUMA, "video_generation"): 191,
    (LUMA, "extend_video"): 191,
}
DURATIONS = (5, 10)
PER_CLIP = "0.20"  # per 5 s: the documented task froze and consumed 2,000,000 points


def check(model: str, task_type: str, task_input: Mapping[str, Any]) -> Verdict:
    """Newer docs: input.model, start_image, end_image, loop. Older: model_name, key_frames."""
    prompt(task_input)
    duration = task_input.get("duration", 5)
    if isinstance(duration, bool) or duration not in DURATIONS:
        raise RequestRejectedError("luma duration must be 5 or 10")
    if task_input.get("model", task_input.get("model_name", "ray-v2")) not in (
        "ray-v1",
        "ray-v2",
    ):
        raise RequestRejectedError("luma model must be ray-v1 or ray-v2")
    boolean(task_input, "loop")
    boolean(task_input, "expand_prompt")
    images = _frames(task_input)
    usage = points(PER_CLIP, duration / DURATIONS[0])
    return Verdict(TASK_TYPES[model][task_type], usage, RUNTIME_S[(model, task_type)], images)


def first_frame(images: Mapping[str, str]) -> str | None:
    """The image a Luma task starts from, in either schema."""
    return images.get("start_image") or images.get("key_frames.frame0.url")


def _frames(task_input: Mapping[str, Any]) -> dict[str, str]:
    images: dict[str, str] = {}
    for name in ("start_image", "end_image"):
        value = task_input.get(name)
        if value is None:
            continue
        if not is_url(value):
            raise RequestRejectedError(f"luma {name} must be a URL")
        images[name] = value
    key_frames = task_input.get("key_frames")
    if key_frames is None:
        return images
    if not isinstance(key_frames, Mapping):
        raise RequestRejectedError("luma key_frames must be an object of frames")
    for name in ("frame0", "frame1"):
        frame = key_frames.get(name)
        if frame is None or (isinstance(frame, Mapping) and frame.get("type") == "generation"):
            continue  # no frame, or an earlier generation to extend (by id, no image)
        frame_url = frame.get("url") if isinstance(frame, Mapping) else None
        if not is_url(frame_url):
            raise RequestRejectedError(f"luma key_frames.{name}.url must be a URL")
        images[f"key_frames.{name}.url"] = str(frame_url)
    return images
