"""Google's Veo 3 and 3.1, full and fast (MODELS.md): an 8 s clip, its duration sent as "8s"."""

from __future__ import annotations

from types import MappingProxyType

from providers.catalogue.options import IMAGE_TO_VIDEO, TEXT_TO_VIDEO, Option, OptionKind
from providers.catalogue.pricing import Price, published, surcharge
from providers.catalogue.row import DurationInput, ModeSpec, ProviderModel
from providers.catalogue.rows.common import CLIP_TEMPLATE, negative_prompt

_OPTIONS = (
    Option(
        "generate_audio",
        OptionKind.BOOL,
        "Generate sound and speech with the video (costs more).",
        piapi_field="generate_audio",
        default=False,
    ),
    Option(
        "resolution",
        OptionKind.ENUM,
        "The video's resolution (the price is the same).",
        piapi_field="resolution",
        default="720p",
        choices=("720p", "1080p"),
    ),
    negative_prompt(),
)

FULL_PRICE = published(
    "0.12",
    "PiAPI's price per second for Veo 3 and 3.1: $0.12 without audio, $0.24 with it.",
    per_s=1,
    surcharges=(surcharge("generate_audio", True, "0.12"),),
)
FAST_PRICE = published(
    "0.06",
    "PiAPI's price per second for Veo 3 and 3.1 fast: $0.06 without audio, $0.09 with it.",
    per_s=1,
    surcharges=(surcharge("generate_audio", True, "0.03"),),
)


def _veo(
    key: str, label: str, piapi_model: str, task_type: str, model_name: str, price: Price
) -> ProviderModel:
    spec = ModeSpec(task_type, model_name, price)  # an image_url makes it image-to-video
    return ProviderModel(
        key=key,
        label=label,
        family="Veo",
        piapi_model=piapi_model,
        modes=MappingProxyType({TEXT_TO_VIDEO: spec, IMAGE_TO_VIDEO: spec}),
        aspect_ratios=("16:9", "9:16"),
        clip_lengths_s=(8,),
        duration_input=DurationInput.SECONDS_STRING,
        image_field="image_url",
        prompt_template=CLIP_TEMPLATE,
        deadline_s=20 * 60 if task_type.endswith("-fast") else 25 * 60,
        # Estimates (PiAPI publishes none): Google renders the whole clip at once.
        typical_runtime_s=90 if task_type.endswith("-fast") else 150,
        options=_OPTIONS,
    )


VEO3_FAST = _veo(
    "piapi_veo3_fast", "Veo 3 fast", "veo3", "veo3-video-fast", "veo3-fast", FAST_PRICE
)
VEO3 = _veo("piapi_veo3", "Veo 3", "veo3", "veo3-video", "veo3", FULL_PRICE)
VEO31_FAST = _veo(
    "piapi_veo31_fast", "Veo 3.1 fast", "veo3.1", "veo3.1-video-fast", "veo3.1-fast", FAST_PRICE
)
VEO31 = _veo("piapi_veo31", "Veo 3.1", "veo3.1", "veo3.1-video", "veo3.1", FULL_PRICE)

ROWS = (VEO3_FAST, VEO3, VEO31_FAST, VEO31)
