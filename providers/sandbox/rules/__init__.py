"""What PiAPI accepts, as REFERENCE.md and MODELS.md document it, kept apart from our catalogue.

The sandbox checks requests against these rules rather than against providers/catalogue.py,
so a mistake in the catalogue shows up as a 400 from the sandbox, as it would from PiAPI.
One module per model family; each says what a body costs and how long it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.sandbox.rules import hailuo, kling, luma, qubico, sora, veo
from providers.sandbox.rules.base import (
    EXTEND,
    I2V,
    POINTS_PER_USD,
    T2V,
    RequestRejectedError,
    Verdict,
)

__all__ = [
    "EXTEND",
    "I2V",
    "POINTS_PER_USD",
    "RUNTIME_S",
    "T2V",
    "TASK_TYPES",
    "Accepted",
    "RequestRejectedError",
    "check_request",
]

_Check = Callable[[str, str, Mapping[str, Any]], Verdict]
_FAMILIES: tuple[tuple[Mapping[str, Mapping[str, str]], _Check], ...] = (
    (qubico.TASK_TYPES, qubico.check),
    (luma.TASK_TYPES, luma.check),
    (kling.TASK_TYPES, kling.check),
    (hailuo.TASK_TYPES, hailuo.check),
    (veo.TASK_TYPES, veo.check),
    (sora.TASK_TYPES, sora.check),
)
_CHECKS: Mapping[str, _Check] = {
    model: check for task_types, check in _FAMILIES for model in task_types
}

# model -> task_type -> the kind it nominally makes (an image may make a t2v type i2v).
TASK_TYPES: Mapping[str, Mapping[str, str]] = {
    model: kinds for task_types, _ in _FAMILIES for model, kinds in task_types.items()
}
# Creation-to-end seconds on PiAPI for each task type's default input, before the
# sandbox's time scale. A body's own runtime can differ (Kling, Sora 2 and Hailuo 02
# take longer for longer clips): Accepted.runtime_s is what the sandbox runs.
RUNTIME_S: Mapping[tuple[str, str], float] = {
    **qubico.RUNTIME_S,
    **luma.RUNTIME_S,
    **kling.RUNTIME_S,
    (hailuo.HAILUO, "video_generation"): hailuo.RUNTIME_01_S,
    **veo.RUNTIME_S,
    **sora.RUNTIME_S,
}


@dataclass(frozen=True, slots=True)
class Accepted:
    """A body PiAPI would run: what it is, the image it animates, its cost and its runtime."""

    model: str
    task_type: str
    kind: str
    image_url: str | None  # the first frame, if the task animates an image
    points: int = 0  # usage points (10,000,000 = 1 USD) charged once it completes
    runtime_s: float = 0.0  # creation to end on PiAPI, before the sandbox's time scale
    # Every image URL PiAPI would download for this task, by input field.
    images: Mapping[str, str] = field(default_factory=dict)


def check_request(body: Any) -> Accepted:
    """Validate a create-task body as PiAPI would, or raise RequestRejectedError."""
    if not isinstance(body, Mapping):
        raise RequestRejectedError("body must be a JSON object")
    model, task_type, task_input = body.get("model"), body.get("task_type"), body.get("input")
    if not isinstance(model, str) or model not in TASK_TYPES:
        raise RequestRejectedError(f"unknown model {model!r}")
    if not isinstance(task_type, str) or task_type not in TASK_TYPES[model]:
        raise RequestRejectedError(f"model {model} has no task_type {task_type!r}")
    if not isinstance(task_input, Mapping):
        raise RequestRejectedError("input must be an object")
    config = body.get("config")
    if config is not None and not isinstance(config, Mapping):
        raise RequestRejectedError("config must be an object")
    if model == hailuo.HAILUO:
        hailuo.check_config(config or {})
    verdict = _CHECKS[model](model, task_type, task_input)
    first = (
        luma.first_frame(verdict.images)
        if model == luma.LUMA
        else next(iter(verdict.images.values()), None)
    )
    return Accepted(
        model=model,
        task_type=task_type,
        kind=verdict.kind,
        image_url=first,
        points=verdict.points,
        runtime_s=verdict.runtime_s,
        images=dict(verdict.images),
    )
