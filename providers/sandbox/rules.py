"""What PiAPI accepts, as REFERENCE.md documents it, kept apart from our catalogue.

The sandbox checks requests against these rules rather than against providers/catalogue.py,
so a mistake in the catalogue shows up as a 400 from the sandbox, as it would from PiAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

T2V, I2V, EXTEND = "t2v", "i2v", "extend"

TASK_TYPES: Mapping[str, Mapping[str, str]] = {
    "Qubico/hunyuan": {
        "txt2video": T2V,
        "fast-txt2video": T2V,
        "img2video-concat": I2V,
        "img2video-replace": I2V,
    },
    "Qubico/wanx": {"txt2video-1.3b": T2V, "txt2video-14b": T2V, "img2video-14b": I2V},
    "luma": {"video_generation": T2V, "extend_video": EXTEND},
}

# Observed creation-to-end seconds on PiAPI (REFERENCE.md, "Timing"), before scaling.
RUNTIME_S: Mapping[tuple[str, str], float] = {
    ("Qubico/hunyuan", "fast-txt2video"): 60,
    ("Qubico/hunyuan", "txt2video"): 120,
    ("Qubico/hunyuan", "img2video-concat"): 120,
    ("Qubico/hunyuan", "img2video-replace"): 120,
    ("Qubico/wanx", "txt2video-1.3b"): 150,
    ("Qubico/wanx", "txt2video-14b"): 480,
    ("Qubico/wanx", "img2video-14b"): 480,
    ("luma", "video_generation"): 191,
    ("luma", "extend_video"): 191,
}

# Points frozen per task (10,000,000 points = 1 USD).
POINTS: Mapping[tuple[str, str], int] = {
    ("Qubico/hunyuan", "fast-txt2video"): 300_000,
    ("Qubico/wanx", "txt2video-1.3b"): 1_200_000,
    ("Qubico/wanx", "txt2video-14b"): 2_800_000,
    ("Qubico/wanx", "img2video-14b"): 2_800_000,
    ("luma", "video_generation"): 2_000_000,
}
DEFAULT_POINTS = 900_000

WANX_RATIOS = ("16:9", "9:16")
LUMA_DURATIONS = (5, 10)


class RequestRejectedError(ValueError):
    """PiAPI would answer 400 to this body; the message says why."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A body PiAPI would run: its model, task type, and the image it animates, if any."""

    model: str
    task_type: str
    kind: str
    image_url: str | None


def check_request(body: Any) -> Accepted:
    """Validate a create-task body as PiAPI would, or raise RequestRejectedError."""
    if not isinstance(body, Mapping):
        raise RequestRejectedError("body must be a JSON object")
    model, task_type, task_input = (
        body.get("model"),
        body.get("task_type"),
        body.get("input"),
    )
    if model not in TASK_TYPES:
        raise RequestRejectedError(f"unknown model {model!r}")
    kind = TASK_TYPES[model].get(task_type)  # type: ignore[arg-type]
    if kind is None:
        raise RequestRejectedError(f"model {model} has no task_type {task_type!r}")
    if not isinstance(task_input, Mapping):
        raise RequestRejectedError("input must be an object")
    prompt = task_input.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestRejectedError("input.prompt is required")
    checks = _luma_checks if model == "luma" else partial(_qubico_checks, model, kind)
    image = checks(task_input)
    return Accepted(model, task_type, kind, image)  # type: ignore[arg-type]


def _qubico_checks(model: str, kind: str, task_input: Mapping[str, Any]) -> str | None:
    if "duration" in task_input:
        raise RequestRejectedError(f"{model} makes fixed-length clips; duration is not an input")
    ratio = task_input.get("aspect_ratio")
    if model == "Qubico/wanx" and ratio is not None and ratio not in WANX_RATIOS:
        raise RequestRejectedError("wanx accepts aspect_ratio 16:9 or 9:16")
    image = task_input.get("image")
    if kind == I2V:
        if not _is_url(image):
            raise RequestRejectedError("input.image must be an image URL for img2video")
        return str(image)
    if image is not None:
        raise RequestRejectedError("input.image is only for img2video task types")
    return None


def _luma_checks(task_input: Mapping[str, Any]) -> str | None:
    duration = task_input.get("duration", 5)
    if duration not in LUMA_DURATIONS:
        raise RequestRejectedError("luma duration must be 5 or 10")
    if task_input.get("model", task_input.get("model_name", "ray-v2")) not in (
        "ray-v1",
        "ray-v2",
    ):
        raise RequestRejectedError("luma model must be ray-v1 or ray-v2")
    # Newer docs: start_image/end_image. Older docs: key_frames.frame0.url.
    frame0 = (
        task_input.get("key_frames", {}).get("frame0", {})
        if isinstance(task_input.get("key_frames"), Mapping)
        else {}
    )
    image = task_input.get("start_image") or (
        frame0.get("url") if isinstance(frame0, Mapping) else None
    )
    if image is not None and not _is_url(image):
        raise RequestRejectedError("luma start_image must be a URL")
    return str(image) if image else None


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))
