"""OpenAI's Sora 2 and Sora 2 pro (MODELS.md): text-to-video, 4, 8 or 12 whole seconds."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from providers.catalogue.options import TEXT_TO_VIDEO
from providers.catalogue.pricing import Price, PriceSource, unpublished
from providers.catalogue.row import DurationInput, ModeSpec, ProviderModel
from providers.catalogue.rows.common import CLIP_TEMPLATE


def _sora(key: str, label: str, spec: ModeSpec, runtime_s: int, deadline_s: int) -> ProviderModel:
    return ProviderModel(
        key=key,
        label=label,
        family="Sora",
        piapi_model="sora2",
        modes=MappingProxyType({TEXT_TO_VIDEO: spec}),
        aspect_ratios=("16:9", "9:16"),
        clip_lengths_s=(4, 8, 12),
        duration_input=DurationInput.INTEGER,
        image_field="image_url",  # unused: no image-to-video
        prompt_template=CLIP_TEMPLATE,
        deadline_s=deadline_s,
        typical_runtime_s=runtime_s,
        runtime_clip_s=4,
    )


SORA2 = _sora(
    "piapi_sora2",
    "Sora 2",
    ModeSpec(
        "sora2-video",
        "sora-2",
        Price(
            Decimal("0.08"),
            PriceSource.INFERRED,
            "From PiAPI's documented task: 4 s consumed 3,200,000 points ($0.32), $0.08 a second.",
            per_s=1,
        ),
    ),
    runtime_s=90,  # the documented 4 s task took about 1.5 minutes
    deadline_s=20 * 60,
)
SORA2_PRO = _sora(
    "piapi_sora2_pro",
    "Sora 2 pro",
    ModeSpec(
        "sora2-pro-video",
        "sora-2-pro",
        unpublished("PiAPI's Sora 2 pro price is not published; the cost is unknown."),
    ),
    runtime_s=180,  # an estimate: twice Sora 2's
    deadline_s=30 * 60,
)

ROWS = (SORA2, SORA2_PRO)
