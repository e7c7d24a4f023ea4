"""The shape of one catalogue row: a provider id, its modes, clips, options, images and price."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from providers.catalogue import options as opts
from providers.catalogue.options import Option
from providers.catalogue.pricing import Price

MB = 1024 * 1024
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class DurationInput(enum.StrEnum):
    """How a model takes the clip length in `input.duration`."""

    NONE = "none"  # not at all: the model makes a fixed-length clip
    INTEGER = "integer"  # whole seconds, e.g. 5
    SECONDS_STRING = "seconds_string"  # a string such as "8s" (Veo)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What a model accepts as an input image (first or last frame)."""

    formats: tuple[str, ...]  # "jpeg", "png", "webp"
    max_bytes: int
    min_side_px: int  # each side at least this
    max_side_px: int | None = None
    min_aspect: float | None = None  # width / height
    max_aspect: float | None = None
    documented: bool = True  # False: our own default, not a limit PiAPI states
    note: str = ""

    def problems(self, *, fmt: str, size: int, width: int, height: int) -> list[str]:
        """Why an image breaks these limits, one sentence each; empty when it fits."""
        found = []
        if fmt not in self.formats:
            found.append(f"The image must be {' or '.join(f.upper() for f in self.formats)}.")
        if size > self.max_bytes:
            found.append(f"The image must be at most {self.max_bytes // MB} MB.")
        if min(width, height) < self.min_side_px:
            found.append(f"Each side of the image must be at least {self.min_side_px} px.")
        if self.max_side_px is not None and max(width, height) > self.max_side_px:
            found.append(f"Each side of the image must be at most {self.max_side_px} px.")
        aspect = width / height if height else 0.0
        low, high = self.min_aspect, self.max_aspect
        if (low is not None and aspect < low) or (high is not None and aspect > high):
            found.append(f"The image's width / height must be between {low:g} and {high:g}.")
        return found


# Where PiAPI documents no limit: formats every model here reads, and a size it can fetch.
DEFAULT_IMAGE_LIMITS = ImageLimits(
    formats=("jpeg", "png", "webp"),
    max_bytes=10 * MB,
    min_side_px=128,
    max_side_px=4096,
    min_aspect=0.25,
    max_aspect=4.0,
    documented=False,
    note="Our default: PiAPI documents no limits for this model's images.",
)


@dataclass(frozen=True, slots=True)
class ModeSpec:
    """How one provider runs one generation mode, and what that costs."""

    task_type: str
    model_name: str  # what we record as video_generations.model_name
    price: Price
    # Where this mode's task runs longer than the provider's typical_runtime_s.
    runtime_s: int | None = None
    # Set where PiAPI cannot run the mode on the model the provider id names, so the
    # job runs elsewhere: the response says so instead of swapping silently.
    notice: str | None = None
    # Fixed inputs of this mode (Hailuo's sub-model), besides the row's own.
    extra_input: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    sends_aspect_ratio: bool = True  # False: the model or the image decides the shape


@dataclass(frozen=True, slots=True)
class ProviderModel:
    """One provider id a client may ask for, and everything needed to call PiAPI for it."""

    key: str
    label: str  # for people: "Kling 3.0"
    family: str  # for grouping in pickers: "Kling"
    piapi_model: str
    modes: Mapping[str, ModeSpec]
    aspect_ratios: tuple[str, ...]  # the first is the default
    clip_lengths_s: tuple[int, ...]  # PiAPI makes clips of exactly these lengths
    duration_input: DurationInput
    image_field: str  # where image-to-video puts the image URL in `input`
    prompt_template: str
    deadline_s: int  # past this, the job fails with `timeout`
    typical_runtime_s: int  # observed creation-to-end time on PiAPI
    # The clip length typical_runtime_s is for, where runtime grows with the clip;
    # None: the runtime does not depend on the clip's length.
    runtime_clip_s: int | None = None
    extra_input: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    options: tuple[Option, ...] = ()
    image_limits: ImageLimits = DEFAULT_IMAGE_LIMITS
    max_prompt_chars: int | None = None  # PiAPI refuses longer prompts

    @property
    def sends_duration(self) -> bool:
        """True when the clip length goes to PiAPI in input.duration."""
        return self.duration_input is not DurationInput.NONE

    def clip_length_for(self, requested_s: int) -> int:
        """The shortest clip PiAPI makes that covers the request, else the longest."""
        for length in self.clip_lengths_s:
            if requested_s <= length:
                return length
        return self.clip_lengths_s[-1]

    def duration_value(self, clip_s: int) -> int | str | None:
        """input.duration for a clip of clip_s seconds, in this model's form; None: not sent."""
        if self.duration_input is DurationInput.INTEGER:
            return clip_s
        if self.duration_input is DurationInput.SECONDS_STRING:
            return f"{clip_s}s"
        return None

    def options_for(self, mode: str) -> tuple[Option, ...]:
        """The options a job of mode may set."""
        return tuple(option for option in self.options if option.takes(mode))

    def default_options(self, mode: str) -> dict[str, Any]:
        """Every option of mode at its default (a required option is None)."""
        return {option.name: option.default for option in self.options_for(mode)}

    def normalise_options(self, given: Mapping[str, Any] | None, mode: str) -> dict[str, Any]:
        """The options of mode with given values checked, or OptionsError naming each problem."""
        return opts.normalise(self.key, self.options, given, mode)

    def cost_for(
        self, mode: str, clip_s: int, options: Mapping[str, Any] | None = None
    ) -> Decimal | None:
        """Price of one clip of clip_s seconds in mode with options; None when unpublished."""
        values = self.default_options(mode) if options is None else options
        return self.modes[mode].price.cost(clip_s, values)

    def runtime_for(self, mode: str, clip_s: int | None = None) -> float:
        """Typical seconds from creation to end of this provider's task for mode and clip."""
        base = float(self.modes[mode].runtime_s or self.typical_runtime_s)
        if self.runtime_clip_s is None or clip_s is None:
            return base
        return base * clip_s / self.runtime_clip_s

    def aspect_ratio_for(self, requested: str) -> str:
        """The requested ratio if the model takes it, else its default (the spec's fallback)."""
        return requested if requested in self.aspect_ratios else self.aspect_ratios[0]
