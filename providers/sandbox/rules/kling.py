"""Kling 3.0 (and older versions) and Kling turbo, as MODELS.md documents them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.sandbox.rules.base import (
    I2V,
    T2V,
    RequestRejectedError,
    Verdict,
    boolean,
    choice,
    integer,
    number,
    points,
    prompt,
    reject_unknown,
    text,
    url,
)

KLING, TURBO = "kling", "kling-turbo"
CURRENT_VERSION, TURBO_VERSION = "3.0", "2.5-turbo"
# Older versions still run on PiAPI and answer the older `works` output (MODELS.md).
OLDER_VERSIONS = ("1.0", "1.5", "1.6", "2.0", "2.1", "2.1-master", "2.5", "2.6")

TASK_TYPES: Mapping[str, Mapping[str, str]] = {
    # The nominal kind; an image_url makes the task image-to-video.
    KLING: {"video_generation": T2V, "omni_video_generation": T2V},
    TURBO: {"video_generation": T2V},
}

# Observed on PiAPI for a 5 s clip (MODELS.md): Kling 3.0 std 1 min 51 s, turbo 2 min 17 s.
# Longer clips take proportionally longer (an assumption: only 5 s was observed).
RUNTIME_S: Mapping[tuple[str, str], float] = {
    (KLING, "video_generation"): 111,
    (KLING, "omni_video_generation"): 111,
    (TURBO, "video_generation"): 137,
}
BASE_CLIP_S = 5

RATIOS = ("16:9", "9:16", "1:1")
MODES = ("std", "pro")
RESOLUTION_OF_MODE = {"std": "720p", "pro": "1080p"}
# USD per second by (resolution, enable_audio), PiAPI's prices after 2026-02-13.
PER_SECOND = {
    ("720p", False): "0.10",
    ("720p", True): "0.15",
    ("1080p", False): "0.15",
    ("1080p", True): "0.20",
}
TURBO_PER_CLIP = "0.28"  # per 5 s, inferred from usage points (MODELS.md)

FIELDS = (
    "prompt",
    "negative_prompt",
    "duration",
    "aspect_ratio",
    "mode",
    "resolution",  # the omni example says resolution "720p" instead of a mode
    "image_url",
    "image_tail_url",
    "enable_audio",
    "prefer_multi_shots",
    "cfg_scale",
    "version",
)
TURBO_FIELDS = (
    "prompt",
    "negative_prompt",
    "image_url",
    "duration",
    "aspect_ratio",
    "mode",
    "cfg_scale",
    "version",
)


def check(model: str, task_type: str, task_input: Mapping[str, Any]) -> Verdict:
    """Kling 3.0 (video_generation, omni_video_generation) or Kling turbo inputs."""
    if model == TURBO:
        return _turbo(task_input)
    reject_unknown(task_input, FIELDS, KLING)
    version = task_input.get("version")
    versions: tuple[str, ...] = (CURRENT_VERSION,)
    if task_type == "video_generation":
        versions += OLDER_VERSIONS
    if version not in versions:
        raise RequestRejectedError(
            f"input.version must be one of {', '.join(versions)} for {task_type}, not {version!r}"
        )
    prompt(task_input)
    text(task_input, "negative_prompt")
    durations = range(3, 16) if version == CURRENT_VERSION else (5, 10)
    duration = integer(task_input, "duration", durations, 5)
    choice(task_input, "aspect_ratio", RATIOS, "16:9")
    resolution = _resolution(task_input)
    audio = boolean(task_input, "enable_audio")
    boolean(task_input, "prefer_multi_shots")
    number(task_input, "cfg_scale", 0, 1, 0.5)
    images = _frames(task_input, empty_ok=False)
    # Older versions are priced like 3.0 here: the sandbox's stand-in, none is published.
    usage = points(PER_SECOND[(resolution, audio)], duration)
    runtime = RUNTIME_S[(KLING, task_type)] * duration / BASE_CLIP_S
    return Verdict(I2V if images else T2V, usage, runtime, images)


def _resolution(task_input: Mapping[str, Any]) -> str:
    mode = choice(task_input, "mode", MODES, "std")
    resolution = choice(task_input, "resolution", ("720p", "1080p"), RESOLUTION_OF_MODE[mode])
    if "mode" in task_input and resolution != RESOLUTION_OF_MODE[mode]:
        raise RequestRejectedError(
            f"input.resolution {resolution} contradicts input.mode {mode} "
            "(std is 720p, pro is 1080p)"
        )
    return resolution


def _frames(task_input: Mapping[str, Any], *, empty_ok: bool) -> dict[str, str]:
    first = url(task_input, "image_url", empty_ok=empty_ok)
    images = {"image_url": first} if first else {}
    last = url(task_input, "image_tail_url", empty_ok=empty_ok)
    if last:
        if not first:
            raise RequestRejectedError("input.image_tail_url needs input.image_url (first frame)")
        images["image_tail_url"] = last
    return images


def _turbo(task_input: Mapping[str, Any]) -> Verdict:
    reject_unknown(task_input, TURBO_FIELDS, TURBO)
    choice(task_input, "version", (TURBO_VERSION,), TURBO_VERSION)
    prompt(task_input)
    text(task_input, "negative_prompt")
    duration = integer(task_input, "duration", (5, 10), 5)
    choice(task_input, "aspect_ratio", RATIOS, "16:9")
    choice(task_input, "mode", ("pro",), "pro")
    number(task_input, "cfg_scale", 0, 1, 0.5)
    # The documented example sends image_url "" for text-to-video.
    images = _frames(task_input, empty_ok=True)
    usage = points(TURBO_PER_CLIP, duration / BASE_CLIP_S)
    runtime = RUNTIME_S[(TURBO, "video_generation")] * duration / BASE_CLIP_S
    return Verdict(I2V if images else T2V, usage, runtime, images)
