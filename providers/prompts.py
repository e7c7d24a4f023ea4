"""Turning a script and a style into the prompt and the PiAPI create-task body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.catalogue import IMAGE_TO_VIDEO, ProviderModel
from providers.catalogue.options import apply as apply_options

STYLE_PROMPTS = {
    "marketing": "Professional, engaging marketing video with smooth transitions",
    "educational": "Clear, informative educational video with clean visuals",
    "social": "Dynamic, eye-catching social media video optimized for mobile",
}
DEFAULT_STYLE = "marketing"


def build_prompt(model: ProviderModel, *, style: str, clip_s: int, script: str) -> str:
    """The spec's style sentence, the clip length PiAPI will make, then the script."""
    return model.prompt_template.format(
        style=STYLE_PROMPTS[style], clip=clip_s, script=script.strip()
    )


def max_script_chars(model: ProviderModel) -> int | None:
    """The longest script, as sent, whose prompt fits the model in every style and clip.

    None where the model takes prompts of any length. The bound does not depend on the
    request's style or on stripping, so one number (the OpenAPI document's maxLength for
    the model) says what the model takes.
    """
    if model.max_prompt_chars is None:
        return None
    frame = max(
        len(build_prompt(model, style=style, clip_s=clip_s, script=""))
        for style in STYLE_PROMPTS
        for clip_s in model.clip_lengths_s
    )
    return model.max_prompt_chars - frame


def build_task_request(
    model: ProviderModel,
    *,
    mode: str,
    task_type: str,
    prompt: str,
    aspect_ratio: str,
    clip_s: int,
    image_url: str | None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body for POST /api/v1/task, in the shape PiAPI documents for this model.

    task_type is passed in, not looked up, so a job is submitted as it was accepted
    even if the catalogue changed in between. options are the job's stored values
    (defaults fill any it lacks); each goes where PiAPI reads it, in PiAPI's type.
    """
    spec = model.modes[mode]
    task_input: dict[str, Any] = {"prompt": prompt}
    if spec.sends_aspect_ratio:
        task_input["aspect_ratio"] = aspect_ratio
    task_input.update(model.extra_input)
    task_input.update(spec.extra_input)
    duration = model.duration_value(clip_s)
    if duration is not None:
        task_input["duration"] = duration
    if mode == IMAGE_TO_VIDEO:
        if not image_url:
            raise ValueError("image_to_video needs an image URL")
        task_input[model.image_field] = image_url
    apply_options(model.options, options or {}, mode, task_input)
    return {"model": model.piapi_model, "task_type": task_type, "input": task_input}
