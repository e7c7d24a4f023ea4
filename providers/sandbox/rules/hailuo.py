"""Hailuo (MiniMax): one PiAPI model whose sub-model goes in input.model (MODELS.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.sandbox.rules.base import (
    I2V,
    T2V,
    RequestRejectedError,
    Verdict,
    boolean,
    integer,
    points,
    prompt,
    reject_unknown,
    url,
)

HAILUO = "hailuo"
TASK_TYPES: Mapping[str, Mapping[str, str]] = {HAILUO: {"video_generation": T2V}}

TEXT_MODELS = ("t2v-01", "t2v-01-director", "t2v-02")
IMAGE_MODELS = ("i2v-01", "i2v-01-live", "i2v-01-director", "i2v-02", "s2v-01")
SECOND_GENERATION = ("t2v-02", "i2v-02")  # the only ones taking duration and resolution
FIELDS = ("model", "prompt", "image_url", "expand_prompt", "duration", "resolution")
MAX_PROMPT = 2000

# PiAPI's prices per clip (a ~6 s clip) [doc].
PRICE: Mapping[str, str] = {
    "t2v-01": "0.20",
    "i2v-01": "0.20",
    "i2v-01-live": "0.20",
    "s2v-01": "0.30",
    # The sandbox's own stand-ins, NOT published prices: PiAPI lists none for the
    # director variants, so they are priced like their 01 siblings.
    "t2v-01-director": "0.20",
    "i2v-01-director": "0.20",
}
# The sandbox's own stand-in for Hailuo 02, NOT a published price (PiAPI lists none):
# USD per second by resolution, near what other resellers charge for MiniMax's 02 model.
SECOND_GENERATION_PER_SECOND = {768: "0.045", 1080: "0.08"}

# Estimates: PiAPI publishes no Hailuo runtime. A 01 clip about 3 minutes; a 02 clip
# 40 s per second of video at 768p, half again at 1080p.
RUNTIME_01_S = 180
RUNTIME_02_PER_SECOND = {768: 40, 1080: 60}


def check(model: str, task_type: str, task_input: Mapping[str, Any]) -> Verdict:
    """A Hailuo input: the sub-model, and what that sub-model requires."""
    del model, task_type  # one model, one task type
    reject_unknown(task_input, FIELDS, HAILUO)
    sub_model = task_input.get("model")
    if sub_model not in TEXT_MODELS + IMAGE_MODELS:
        raise RequestRejectedError(
            "input.model is required for hailuo: one of "
            f"{', '.join(TEXT_MODELS + IMAGE_MODELS)} (got {sub_model!r})"
        )
    is_text = sub_model in TEXT_MODELS
    prompt(task_input, required=is_text, max_len=MAX_PROMPT)
    boolean(task_input, "expand_prompt")
    images: dict[str, str] = {}
    if is_text:
        if "image_url" in task_input:
            raise RequestRejectedError(f"input.image_url is not an input of {sub_model}")
    else:
        images["image_url"] = str(url(task_input, "image_url", required=True))
    kind = T2V if is_text else I2V
    if sub_model not in SECOND_GENERATION:
        for name in ("duration", "resolution"):
            if name in task_input:
                raise RequestRejectedError(
                    f"input.{name} is only for {' and '.join(SECOND_GENERATION)}"
                )
        return Verdict(kind, points(PRICE[sub_model]), RUNTIME_01_S, images)
    duration = integer(task_input, "duration", (6, 10), 6)
    resolution = integer(task_input, "resolution", (768, 1080), 768)
    if resolution == 1080 and duration == 10:
        raise RequestRejectedError("input.resolution 1080 is not available with duration 10")
    usage = points(SECOND_GENERATION_PER_SECOND[resolution], duration)
    return Verdict(kind, usage, RUNTIME_02_PER_SECOND[resolution] * duration, images)


def check_config(config: Mapping[str, Any]) -> None:
    """Hailuo runs only on PiAPI's public pool (MODELS.md [doc])."""
    mode = config.get("service_mode")
    if mode not in (None, "", "public"):
        raise RequestRejectedError(f"config.service_mode must be public for hailuo, not {mode!r}")
