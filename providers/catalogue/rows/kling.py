"""Kling 3.0 and Kling turbo (MODELS.md): model and version in the body, whole seconds."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from providers.catalogue.options import (
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    Option,
    OptionKind,
    Send,
)
from providers.catalogue.pricing import Price, PriceSource, published, surcharge
from providers.catalogue.row import MB, DurationInput, ImageLimits, ModeSpec, ProviderModel
from providers.catalogue.rows.common import (
    CFG_SCALE,
    CLIP_TEMPLATE,
    end_image_url,
    negative_prompt,
)

# MODELS.md [doc]: the first frame is a JPG or PNG of at most 10 MB, each side over 300 px.
KLING_IMAGES = ImageLimits(
    formats=("jpeg", "png"),
    max_bytes=10 * MB,
    min_side_px=301,
    note="PiAPI: JPG or PNG, at most 10 MB, each side over 300 px.",
)
RATIOS = ("16:9", "9:16", "1:1")  # text-to-video only; an image sets its own shape

_KLING_3_PRICE = published(
    "0.10",
    "PiAPI's prices after 2026-02-13, per second: 720p (std) $0.10, with audio $0.15; "
    "1080p (pro) $0.15, with audio $0.20.",
    per_s=1,
    surcharges=(surcharge("enable_audio", True, "0.05"), surcharge("mode", "pro", "0.05")),
)

KLING_3 = ProviderModel(
    key="piapi_kling_3",
    label="Kling 3.0",
    family="Kling",
    piapi_model="kling",
    modes=MappingProxyType(
        {
            TEXT_TO_VIDEO: ModeSpec("video_generation", "kling-3.0", _KLING_3_PRICE),
            IMAGE_TO_VIDEO: ModeSpec(
                "video_generation", "kling-3.0", _KLING_3_PRICE, sends_aspect_ratio=False
            ),
        }
    ),
    aspect_ratios=RATIOS,
    clip_lengths_s=tuple(range(3, 16)),
    duration_input=DurationInput.INTEGER,
    image_field="image_url",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=30 * 60,
    typical_runtime_s=111,  # observed: a 5 s std clip took 1 min 51 s
    runtime_clip_s=5,
    extra_input=MappingProxyType({"version": "3.0"}),
    options=(
        Option(
            "mode",
            OptionKind.ENUM,
            "std makes 720p, pro 1080p (and costs more).",
            piapi_field="mode",
            default="std",
            choices=("std", "pro"),
        ),
        Option(
            "enable_audio",
            OptionKind.BOOL,
            "Generate sound with the video (costs more).",
            piapi_field="enable_audio",
            default=False,
        ),
        negative_prompt(),
        CFG_SCALE,
        end_image_url("image_tail_url"),
        Option(
            "prefer_multi_shots",
            OptionKind.BOOL,
            "Let the model cut between several shots.",
            piapi_field="prefer_multi_shots",
            default=False,
        ),
    ),
    image_limits=KLING_IMAGES,
)

_TURBO_PRICE = Price(
    Decimal("0.28"),
    PriceSource.INFERRED,
    "PiAPI publishes no turbo price; a 5 s task's usage points came to about $0.28.",
    per_s=5,
)

KLING_TURBO = ProviderModel(
    key="piapi_kling_turbo",
    label="Kling 2.5 turbo",
    family="Kling",
    piapi_model="kling-turbo",
    modes=MappingProxyType(
        {
            # PiAPI's documented text-to-video body sends image_url "" (and mode "pro").
            TEXT_TO_VIDEO: ModeSpec(
                "video_generation",
                "kling-2.5-turbo",
                _TURBO_PRICE,
                extra_input=MappingProxyType({"image_url": ""}),
            ),
            IMAGE_TO_VIDEO: ModeSpec(
                "video_generation", "kling-2.5-turbo", _TURBO_PRICE, sends_aspect_ratio=False
            ),
        }
    ),
    aspect_ratios=RATIOS,
    clip_lengths_s=(5, 10),
    duration_input=DurationInput.INTEGER,
    image_field="image_url",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=20 * 60,
    typical_runtime_s=137,  # observed: a 5 s clip took 2 min 17 s
    runtime_clip_s=5,
    extra_input=MappingProxyType({"version": "2.5-turbo", "mode": "pro"}),
    options=(negative_prompt(send=Send.ALWAYS), CFG_SCALE),
    image_limits=KLING_IMAGES,
)

ROWS = (KLING_3, KLING_TURBO)
