"""Qubico's models (PiAPI's own inference brand): Hunyuan, WanX, WanX LoRA and Skyreels.

They make fixed 85-frame clips (about 5 s), take no duration, and read an image from
`input.image` (REFERENCE.md; MODELS.md for WanX LoRA and Skyreels).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from providers.catalogue.options import IMAGE_TO_VIDEO, TEXT_TO_VIDEO, Option, OptionKind
from providers.catalogue.pricing import Price, PriceSource, published, unpublished
from providers.catalogue.row import DurationInput, ModeSpec, ProviderModel
from providers.catalogue.rows.common import CLIP_TEMPLATE, SHORT_TEMPLATE, negative_prompt

WANX_14B_PRICE = published("0.28", "PiAPI's price for a WanX 14b clip (the spec's too).")

HUNYUAN_FAST = ProviderModel(
    key="piapi_hunyuan_fast",
    label="Hunyuan (fast)",
    family="Hunyuan",
    piapi_model="Qubico/hunyuan",
    modes=MappingProxyType(
        {
            # The spec sends "txt2video", which is PiAPI's standard (0.09 USD) variant;
            # the 0.03 USD the spec charges is the fast variant's price.
            TEXT_TO_VIDEO: ModeSpec(
                "fast-txt2video",
                "hunyuan-fast",
                Price(
                    Decimal("0.03"),
                    PriceSource.SPEC,
                    "The spec's price, which is PiAPI's fast-txt2video variant.",
                ),
            ),
            IMAGE_TO_VIDEO: ModeSpec(
                "img2video-concat",
                "hunyuan",
                Price(
                    Decimal("0.09"),
                    PriceSource.THIRD_PARTY,
                    "A third-party quote for Hunyuan's standard and image-to-video tasks.",
                ),
                runtime_s=120,
            ),
        }
    ),
    aspect_ratios=("16:9", "9:16", "1:1"),
    clip_lengths_s=(5,),
    duration_input=DurationInput.NONE,
    image_field="image",
    prompt_template=SHORT_TEMPLATE,
    deadline_s=15 * 60,
    typical_runtime_s=60,
)

WANX_13B = ProviderModel(
    key="piapi_wanx_1.3b",
    label="WanX 1.3b",
    family="WanX",
    piapi_model="Qubico/wanx",
    modes=MappingProxyType(
        {
            TEXT_TO_VIDEO: ModeSpec(
                "txt2video-1.3b",
                "wanx-1.3b",
                Price(Decimal("0.12"), PriceSource.SPEC, "The spec's price for WanX 1.3b."),
            ),
            IMAGE_TO_VIDEO: ModeSpec(
                "img2video-14b",
                "wanx-14b",
                WANX_14B_PRICE,
                runtime_s=480,
                notice=(
                    "PiAPI has no WanX 1.3b image-to-video; this job runs on WanX 14b "
                    "(img2video-14b) and costs its price."
                ),
            ),
        }
    ),
    aspect_ratios=("16:9", "9:16"),
    clip_lengths_s=(5,),
    duration_input=DurationInput.NONE,
    image_field="image",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=20 * 60,
    typical_runtime_s=150,
    options=(negative_prompt(),),
)

WANX_14B = ProviderModel(
    key="piapi_wanx_14b",
    label="WanX 14b",
    family="WanX",
    piapi_model="Qubico/wanx",
    modes=MappingProxyType(
        {
            TEXT_TO_VIDEO: ModeSpec("txt2video-14b", "wanx-14b", WANX_14B_PRICE),
            IMAGE_TO_VIDEO: ModeSpec("img2video-14b", "wanx-14b", WANX_14B_PRICE),
        }
    ),
    aspect_ratios=("16:9", "9:16"),
    clip_lengths_s=(5,),
    duration_input=DurationInput.NONE,
    image_field="image",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=30 * 60,
    typical_runtime_s=480,
    options=(negative_prompt(),),
)

# The LoRA types PiAPI's WanX LoRA page lists, as a third party copied them (MODELS.md
# [3p]); its adult-content types are left out on purpose: this is a marketing product.
LORA_TYPES = (
    "ghibli",
    "flat-color",
    "rotation-effect",
    "live-wallpaper",
    "passionate-kissing",
    "squish-effect",
    "cakeify-effect",
    "singularunity-motioncraft",
    "pixel-art",
    "super-saiyan-effect",
    "inflate-effect",
    "deflate-effect",
    "crush-effect",
    "particalize-effect",
)
_LORA_PRICE = Price(
    Decimal("0.28"), PriceSource.THIRD_PARTY, "A third-party figure: WanX 14b's price, LoRA on."
)

# WanX 14b with a LoRA: the same model, clips, ratios and timing; its own task types and options.
WANX_14B_LORA = replace(
    WANX_14B,
    key="piapi_wanx_14b_lora",
    label="WanX 14b LoRA",
    modes=MappingProxyType(
        {
            TEXT_TO_VIDEO: ModeSpec("txt2video-14b-lora", "wanx-14b-lora", _LORA_PRICE),
            IMAGE_TO_VIDEO: ModeSpec("img2video-14b-lora", "wanx-14b-lora", _LORA_PRICE),
        }
    ),
    options=(
        Option(
            "lora_type",
            OptionKind.ENUM,
            "The LoRA style or effect to apply (required).",
            piapi_field="lora_settings[0].lora_type",
            required=True,
            choices=LORA_TYPES,
        ),
        Option(
            "lora_strength",
            OptionKind.NUMBER,
            "How strongly the LoRA shapes the video.",
            piapi_field="lora_settings[0].lora_strength",
            default=1.0,
            minimum=0,
            maximum=1,
        ),
        negative_prompt(),
    ),
)

SKYREELS = ProviderModel(
    key="piapi_skyreels",
    label="Skyreels",
    family="Skyreels",
    piapi_model="Qubico/skyreels",
    modes=MappingProxyType(
        {
            IMAGE_TO_VIDEO: ModeSpec(
                "img2video",
                "skyreels",
                unpublished("PiAPI publishes no price for Skyreels; the cost is unknown."),
            ),
        }
    ),
    aspect_ratios=("16:9", "9:16", "1:1"),
    clip_lengths_s=(5,),
    duration_input=DurationInput.NONE,
    image_field="image",
    prompt_template=CLIP_TEMPLATE,
    deadline_s=20 * 60,
    typical_runtime_s=300,  # an estimate: PiAPI publishes none
    options=(
        negative_prompt(),
        Option(
            "guidance_scale",
            OptionKind.NUMBER,
            "How closely the video follows the prompt (0-10).",
            piapi_field="guidance_scale",
            default=3.5,
            minimum=0,
            maximum=10,
        ),
    ),
)

ROWS = (HUNYUAN_FAST, WANX_13B, WANX_14B, WANX_14B_LORA, SKYREELS)
