"""Veo 3 and Veo 3.1 (models veo3 and veo3.1), full and fast, as MODELS.md documents them."""

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
    points,
    prompt,
    reject_unknown,
    text,
    url,
)

VEO3, VEO31 = "veo3", "veo3.1"
TASK_TYPES: Mapping[str, Mapping[str, str]] = {
    # The nominal kind; an image_url makes the task image-to-video.
    VEO3: {"veo3-video": T2V, "veo3-video-fast": T2V},
    VEO31: {"veo3.1-video": T2V, "veo3.1-video-fast": T2V},
}

# Estimates: PiAPI publishes no Veo runtime. Fast about 1.5 minutes, full 2.5 minutes,
# whatever the clip's length (Google renders the whole clip at once).
RUNTIME_S: Mapping[tuple[str, str], float] = {
    (VEO3, "veo3-video"): 150,
    (VEO3, "veo3-video-fast"): 90,
    (VEO31, "veo3.1-video"): 150,
    (VEO31, "veo3.1-video-fast"): 90,
}

# USD per second of the requested duration by (fast, generate_audio) [doc]; 3.1 as 3.
PER_SECOND = {
    (False, True): "0.24",
    (False, False): "0.12",
    (True, True): "0.09",
    (True, False): "0.06",
}
DURATIONS = {"4s": 4, "6s": 6, "8s": 8}
RATIOS = ("16:9", "9:16", "auto")
RESOLUTIONS = ("720p", "1080p")
FIELDS = (
    "prompt",
    "negative_prompt",
    "image_url",
    "aspect_ratio",
    "duration",
    "resolution",
    "generate_audio",
)


def check(model: str, task_type: str, task_input: Mapping[str, Any]) -> Verdict:
    """A Veo input; duration is a string such as "8s", never a number."""
    reject_unknown(task_input, FIELDS, model)
    prompt(task_input)
    text(task_input, "negative_prompt")
    duration = task_input.get("duration", "8s")
    if not isinstance(duration, str) or duration not in DURATIONS:
        raise RequestRejectedError(
            f"input.duration must be a string, one of {', '.join(DURATIONS)} (got {duration!r})"
        )
    choice(task_input, "aspect_ratio", RATIOS, "16:9")
    choice(task_input, "resolution", RESOLUTIONS, "720p")
    # Unpublished default: off. A catalogue should always send it, as the examples do.
    audio = boolean(task_input, "generate_audio")
    image = url(task_input, "image_url")
    seconds = DURATIONS[duration]
    usage = points(PER_SECOND[(task_type.endswith("-fast"), audio)], seconds)
    images = {"image_url": image} if image else {}
    return Verdict(I2V if image else T2V, usage, RUNTIME_S[(model, task_type)], images)
