"""Hailuo (MiniMax) 01: the sub-model goes in input.model; a fixed ~6 s clip (MODELS.md)."""

from __future__ import annotations

from types import MappingProxyType

from providers.catalogue.options import IMAGE_TO_VIDEO, TEXT_TO_VIDEO, Option, OptionKind
from providers.catalogue.pricing import published
from providers.catalogue.row import MB, DurationInput, ImageLimits, ModeSpec, ProviderModel
from providers.catalogue.rows.common import CLIP_TEMPLATE

_PRICE = published(
    "0.20",
    "PiAPI's price for t2v-01 and i2v-01 (a ~6 s clip), charged only when the task completes.",
)

HAILUO = ProviderModel(
    key="piapi_hailuo",
    label="Hailuo 01",
    family="Hailuo",
    piapi_model="hailuo",
    modes=MappingProxyType(
        {
            # Hailuo takes no aspect ratio: t2v-01 makes 16:9, i2v-01 follows the image.
            TEXT_TO_VIDEO: ModeSpec(
                "video_generation",
                "hailuo-t2v-01",
                _PRICE,
                extra_input=MappingProxyType({"model": "t2v-01"}),
                sends_aspect_ratio=False,
            ),
            IMAGE_TO_VIDEO: ModeSpec(
                "video_generation",
                "hailuo-i2v-01",
                _PRICE,
                extra_input=MappingProxyType({"model": "i2v-01"}),
                sends_aspect_ratio=False,
            ),
        }
    ),
    aspect_ratios=("16:9",),
    clip_lengths_s=(6,),
    duration_input=DurationInput.NONE,  # only Hailuo 02 takes a duration
    image_field="image_url",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=20 * 60,
    typical_runtime_s=180,  # an estimate: PiAPI publishes none
    options=(
        Option(
            "expand_prompt",
            OptionKind.BOOL,
            "Let the model rewrite the prompt in more detail first.",
            piapi_field="expand_prompt",
            default=False,
        ),
    ),
    image_limits=ImageLimits(
        formats=("jpeg", "png"),
        max_bytes=10 * MB,
        min_side_px=300,
        max_side_px=4096,
        min_aspect=0.4,
        max_aspect=2.5,
        note="PiAPI: JPG or PNG, at most 10 MB, sides 300-4096 px, aspect 2:5 to 5:2.",
    ),
    max_prompt_chars=2000,
)

ROWS = (HAILUO,)
