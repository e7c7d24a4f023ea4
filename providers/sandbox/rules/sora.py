"""Sora 2 and Sora 2 pro (model sora2), text-to-video, as MODELS.md documents them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.sandbox.rules.base import (
    T2V,
    Verdict,
    choice,
    integer,
    points,
    prompt,
    reject_unknown,
)

SORA2 = "sora2"
TASK_TYPES: Mapping[str, Mapping[str, str]] = {SORA2: {"sora2-video": T2V, "sora2-pro-video": T2V}}

# Per 4 s clip: Sora 2 took about 1.5 minutes (MODELS.md [ex]); Sora 2 pro is an
# estimate (twice that: PiAPI publishes none). Longer clips take proportionally longer.
RUNTIME_S: Mapping[tuple[str, str], float] = {
    (SORA2, "sora2-video"): 90,
    (SORA2, "sora2-pro-video"): 180,
}
BASE_CLIP_S = 4

PER_SECOND: Mapping[str, str] = {
    "sora2-video": "0.08",  # 3,200,000 points for 4 s [ex]
    # The sandbox's own stand-in, NOT a published price: PiAPI's pro price was not
    # captured; this is OpenAI's list price for sora-2-pro at 720p.
    "sora2-pro-video": "0.30",
}
FIELDS = ("prompt", "aspect_ratio", "duration")


def check(model: str, task_type: str, task_input: Mapping[str, Any]) -> Verdict:
    """A Sora 2 input: prompt, aspect ratio and a whole number of seconds (4, 8 or 12)."""
    reject_unknown(task_input, FIELDS, f"{model} {task_type}")
    prompt(task_input)
    choice(task_input, "aspect_ratio", ("16:9", "9:16"), "16:9")
    duration = integer(task_input, "duration", (4, 8, 12), 4)
    usage = points(PER_SECOND[task_type], duration)
    return Verdict(T2V, usage, RUNTIME_S[(model, task_type)] * duration / BASE_CLIP_S)
