"""What a request becomes before any row is written: provider, clip, options, prompt, notice.

One function for the job a generate request makes and the quote a client asks for, so
the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.catalogue import BY_KEY, IMAGE_TO_VIDEO, ProviderModel
from providers.prompts import build_prompt, max_script_chars
from providers.selection import Selection, quote


class PromptTooLongError(ValueError):
    """The script is too long for the model's prompt limit; the message says by how much."""

    field = "script"


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
    catalogue: Mapping[str, ProviderModel] = BY_KEY,
) -> Plan:
    """The plan for a request, allowed by the tier or not (Selection.allowed says).

    Raises what selection.quote raises, and PromptTooLongError.
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
