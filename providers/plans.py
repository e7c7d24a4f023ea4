"""What a request becomes before any row is written: provider, clip, options, prompt, notice.

One function for the job a generate request makes and the quote a client asks for, so
the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.catalogue import BY_KEY, IMAGE_TO_VIDEO, ProviderModel
from providers.image_probe import ImageFacts
from providers.prompts import build_prompt, max_script_chars
from providers.selection import Selection, quote


class PromptTooLongError(ValueError):
    """The script is too long for the model's prompt limit; the message says by how much."""

    field = "script"


# The option that takes an image-to-video clip's last frame, on the models that have one.
END_FRAME_OPTION = "end_image_url"
FIRST_FRAME = "image_upload_id"
LAST_FRAME = "end_image_upload_id"


class ImagesError(ValueError):
    """Uploaded images the chosen model cannot take; problems names each field's reasons."""

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True, slots=True)
class Plan:
    """How a request would run: the selection, the prompt and ratio sent, and what differs."""

    selection: Selection
    prompt: str
    aspect_ratio: str  # the ratio the job records (and sends, where the mode takes one)
    notice: str | None  # every way the job differs from what was asked, or None


def plan_job(
    *,
    mode: str,
    duration_s: int,
    tier: str,
    style: str,
    script: str,
    aspect_ratio: str,
    forced: str | None = None,
    options: Mapping[str, Any] | None = None,
    images: Mapping[str, ImageFacts] | None = None,
    catalogue: Mapping[str, ProviderModel] = BY_KEY,
) -> Plan:
    """The plan for a request, allowed by the tier or not (Selection.allowed says).

    images are uploaded files by request field (image_upload_id, end_image_upload_id),
    checked against the chosen model's image limits. Raises what selection.quote raises,
    PromptTooLongError, and ImagesError.
    """
    chosen = quote(
        duration_s=duration_s,
        mode=mode,
        tier=tier,
        forced=forced,
        options=options,
        catalogue=catalogue,
    )
    model = chosen.model
    if images:
        _check_images(model, mode, images, options or {})
    limit = max_script_chars(model)
    if limit is not None and len(script) > limit:
        raise PromptTooLongError(
            f"{model.key} takes scripts of at most {limit} characters (prompts of at most "
            f"{model.max_prompt_chars}, the style's sentence included); this one has "
            f"{len(script)}: shorten it by {len(script) - limit}."
        )
    prompt = build_prompt(model, style=style, clip_s=chosen.clip_s, script=script)
    notices = [chosen.spec.notice] if chosen.spec.notice else []
    ratio = model.aspect_ratio_for(aspect_ratio)
    if not chosen.spec.sends_aspect_ratio:
        if aspect_ratio != model.aspect_ratios[0]:
            shape = (
                "the clip takes the image's shape"
                if mode == IMAGE_TO_VIDEO
                else f"it makes {model.aspect_ratios[0]}"
            )
            notices.append(f"{model.key} takes no aspect ratio for {mode}; {shape}.")
    elif ratio != aspect_ratio:
        notices.append(
            f"{model.key} does not take aspect ratio {aspect_ratio}; it runs at {ratio}."
        )
    return Plan(chosen, prompt, ratio, " ".join(notices) or None)


def _check_images(
    model: ProviderModel, mode: str, images: Mapping[str, ImageFacts], options: Mapping[str, Any]
) -> None:
    problems: dict[str, list[str]] = {}
    if LAST_FRAME in images:
        takes_last = any(option.name == END_FRAME_OPTION for option in model.options_for(mode))
        if not takes_last:
            problems[LAST_FRAME] = [f"{model.key} takes no last frame in {mode}."]
        elif options.get(END_FRAME_OPTION) is not None:
            problems[LAST_FRAME] = [f"Send either this or options.{END_FRAME_OPTION}, not both."]
    for field, image in images.items():
        if field in problems:
            continue
        found = model.image_limits.problems(
            fmt=image.fmt, size=image.size, width=image.width, height=image.height
        )
        if found:
            shown = f"{image.width}x{image.height} px {image.fmt.upper()} of {image.size} bytes"
            problems[field] = [f"{model.key}: {' '.join(found)} This one is a {shown}."]
    if problems:
        raise ImagesError(problems)
