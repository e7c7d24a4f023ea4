"""Luma Dream Machine ray-v2, in PiAPI's newer input form (start_image, end_image, loop)."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from providers.catalogue.options import IMAGE_TO_VIDEO, TEXT_TO_VIDEO, Option, OptionKind
from providers.catalogue.pricing import Price, PriceSource
from providers.catalogue.row import DurationInput, ModeSpec, ProviderModel
from providers.catalogue.rows.common import CLIP_TEMPLATE, end_image_url

# PiAPI publishes no per-clip price; a documented 5 s task froze 2,000,000 points.
_PRICE = Price(
    Decimal("0.20"),
    PriceSource.INFERRED,
    "PiAPI publishes no Luma price; a documented 5 s task froze 2,000,000 points ($0.20).",
    per_s=5,
)

LUMA = ProviderModel(
    key="piapi_luma",
    label="Luma ray-v2",
    family="Luma",
    piapi_model="luma",
    modes=MappingProxyType(
        {
            TEXT_TO_VIDEO: ModeSpec("video_generation", "luma-ray-v2", _PRICE),
            IMAGE_TO_VIDEO: ModeSpec("video_generation", "luma-ray-v2", _PRICE),
        }
    ),
    aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"),
    clip_lengths_s=(5, 10),
    duration_input=DurationInput.INTEGER,
    image_field="start_image",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=20 * 60,
    typical_runtime_s=191,  # a documented ray-v2 task took 3 min 11 s
    extra_input=MappingProxyType({"model": "ray-v2"}),
    options=(
        end_image_url("end_image"),
        Option(
            "loop",
            OptionKind.BOOL,
            "Make the clip loop seamlessly.",
            piapi_field="loop",
            default=False,
        ),
    ),
)

ROWS = (LUMA,)
