"""Qubico's models (PiAPI's own inference brand): Hunyuan, WanX with and without LoRA, Skyreels.

REFERENCE.md for Hunyuan and WanX; MODELS.md for WanX LoRA and Skyreels. They make fixed
85-frame clips (about 5 s), take no duration, and carry an image in `input.image`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.sandbox.rules.base import (
    I2V,
    T2V,
    RequestRejectedError,
    Verdict,
    choice,
    is_url,
    number,
    points,
    prompt,
    reject_unknown,
    text,
    url,
)

HUNYUAN, WANX, SKYREELS = "Qubico/hunyuan", "Qubico/wanx", "Qubico/skyreels"
LORA_TASK_TYPES = ("txt2video-14b-lora", "img2video-14b-lora")

TASK_TYPES: Mapping[str, Mapping[str, str]] = {
    HUNYUAN: {
        "txt2video": T2V,
        "fast-txt2video": T2V,
        "img2video-concat": I2V,
        "img2video-replace": I2V,
    },
    WANX: {
        "txt2video-1.3b": T2V,
        "txt2video-14b": T2V,
        "img2video-14b": I2V,
        "txt2video-14b-lora": T2V,
        "img2video-14b-lora": I2V,
    },
    SKYREELS: {"img2video": I2V},
}

# Creation-to-end seconds on PiAPI (REFERENCE.md "Timing"; MODELS.md for LoRA).
RUNTIME_S: Mapping[tuple[str, str], float] = {
    (HUNYUAN, "fast-txt2video"): 60,
    (HUNYUAN, "txt2video"): 120,
    (HUNYUAN, "img2video-concat"): 120,
    (HUNYUAN, "img2video-replace"): 120,
    (WANX, "txt2video-1.3b"): 150,
    (WANX, "txt2video-14b"): 480,
    (WANX, "img2video-14b"): 480,
    (WANX, "txt2video-14b-lora"): 480,  # as WanX 14b: the LoRA rides on the same model
    (WANX, "img2video-14b-lora"): 480,
    # An estimate: PiAPI publishes no Skyreels runtime; a 14b-class image-to-video model.
    (SKYREELS, "img2video"): 300,
}

# Points per task (10,000,000 = 1 USD): the spec's and PiAPI's prices, else the
# third-party quote REFERENCE.md gives for standard Hunyuan ($0.09).
POINTS: Mapping[tuple[str, str], int] = {
    (HUNYUAN, "fast-txt2video"): points("0.03"),
    (WANX, "txt2video-1.3b"): points("0.12"),
    (WANX, "txt2video-14b"): points("0.28"),
    (WANX, "img2video-14b"): points("0.28"),
    (WANX, "txt2video-14b-lora"): points("0.28"),  # MODELS.md [3p]
    (WANX, "img2video-14b-lora"): points("0.28"),
    # The sandbox's own stand-in, NOT a published price: PiAPI publishes none for Skyreels,
    # but always reports some usage.
    (SKYREELS, "img2video"): points("0.15"),
}
DEFAULT_POINTS = points("0.09")

WANX_RATIOS = ("16:9", "9:16")
SKYREELS_RATIOS = ("16:9", "9:16", "1:1")
SKYREELS_FIELDS = ("prompt", "negative_prompt", "image", "aspect_ratio", "guidance_scale")


def check(model: str, task_type: str, task_input: Mapping[str, Any]) -> Verdict:
    """Hunyuan, WanX (LoRA too) and Skyreels inputs as PiAPI documents them."""
    if model == SKYREELS:
        return _skyreels(task_input)
    kind = TASK_TYPES[model][task_type]
    prompt(task_input)
    text(task_input, "negative_prompt")
    if "duration" in task_input:
        raise RequestRejectedError(f"{model} makes fixed-length clips; duration is not an input")
    ratio = task_input.get("aspect_ratio")
    if model == WANX and ratio is not None and ratio not in WANX_RATIOS:
        raise RequestRejectedError("wanx accepts aspect_ratio 16:9 or 9:16")
    if task_type in LORA_TASK_TYPES:
        _lora_settings(task_input.get("lora_settings"))
    elif "lora_settings" in task_input:
        raise RequestRejectedError(
            f"input.lora_settings is only for the LoRA task types {', '.join(LORA_TASK_TYPES)}"
        )
    image = task_input.get("image")
    images: dict[str, str] = {}
    if kind == I2V:
        if not is_url(image):
            raise RequestRejectedError("input.image must be an image URL for img2video")
        images["image"] = str(image)
    elif image is not None:
        raise RequestRejectedError("input.image is only for img2video task types")
    key = (model, task_type)
    return Verdict(kind, POINTS.get(key, DEFAULT_POINTS), RUNTIME_S[key], images)


def _lora_settings(settings: Any) -> None:
    # MODELS.md: [{lora_type, lora_strength 0.0-1.0}]; the img2video example omits strength.
    if not isinstance(settings, list) or not settings:
        raise RequestRejectedError(
            "input.lora_settings must be a non-empty list of {lora_type, lora_strength}"
        )
    for i, entry in enumerate(settings):
        where = f"input.lora_settings[{i}]"
        if not isinstance(entry, Mapping):
            raise RequestRejectedError(f"{where} must be an object")
        unknown = sorted(set(entry) - {"lora_type", "lora_strength"})
        if unknown:
            raise RequestRejectedError(f"{where}.{unknown[0]} is not a LoRA setting")
        lora_type = entry.get("lora_type")
        if not isinstance(lora_type, str) or not lora_type.strip():
            raise RequestRejectedError(f"{where}.lora_type is required (a LoRA name)")
        strength = entry.get("lora_strength", 1.0)
        if isinstance(strength, bool) or not isinstance(strength, int | float):
            raise RequestRejectedError(f"{where}.lora_strength must be a number from 0 to 1")
        if not 0 <= strength <= 1:
            raise RequestRejectedError(f"{where}.lora_strength must be a number from 0 to 1")


def _skyreels(task_input: Mapping[str, Any]) -> Verdict:
    reject_unknown(task_input, SKYREELS_FIELDS, SKYREELS)
    prompt(task_input)
    text(task_input, "negative_prompt")
    image = url(task_input, "image", required=True)
    choice(task_input, "aspect_ratio", SKYREELS_RATIOS, "16:9")
    number(task_input, "guidance_scale", 0, 10, 3.5)
    key = (SKYREELS, "img2video")
    return Verdict(I2V, POINTS[key], RUNTIME_S[key], {"image": str(image)})
