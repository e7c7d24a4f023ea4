"""The models this product sells, as data: adding a model is adding a row.

Task types, input fields and output locations follow ../shared/piapi/REFERENCE.md where
it and the product spec disagree; README.md ("Providers") lists each such choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

TEXT_TO_VIDEO = "text_to_video"
IMAGE_TO_VIDEO = "image_to_video"
MODES = (TEXT_TO_VIDEO, IMAGE_TO_VIDEO)

# Every ratio some model accepts; a model that lacks the asked one uses its first.
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")


@dataclass(frozen=True, slots=True)
class ModeSpec:
    """How one provider runs one generation mode, and what that costs per clip."""

    task_type: str
    model_name: str  # what we record as video_generations.model_name
    price_usd: Decimal  # for the shortest clip; longer clips cost proportionally
    # Where this mode's task runs longer than the provider's typical_runtime_s.
    runtime_s: int | None = None
    # Set where PiAPI cannot run the mode on the model the provider id names, so the
    # job runs elsewhere: the response says so instead of swapping silently.
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderModel:
    """One provider id a client may ask for, and everything needed to call PiAPI for it."""

    key: str
    piapi_model: str
    modes: Mapping[str, ModeSpec]
    aspect_ratios: tuple[str, ...]
    clip_lengths_s: tuple[int, ...]  # PiAPI makes clips of exactly these lengths
    image_field: str  # where image-to-video puts the image URL in `input`
    sends_duration: bool  # Hunyuan and WanX take no duration; Luma takes 5 or 10
    prompt_template: str
    deadline_s: int  # past this, the job fails with `timeout`
    typical_runtime_s: int  # observed creation-to-end time on PiAPI
    extra_input: Mapping[str, object] = field(default_factory=dict)

    def clip_length_for(self, requested_s: int) -> int:
        """The shortest clip PiAPI makes that covers the request, else the longest."""
        for length in self.clip_lengths_s:
            if requested_s <= length:
                return length
        return self.clip_lengths_s[-1]

    def cost_for(self, mode: str, clip_s: int) -> Decimal:
        """Price of one clip of clip_s seconds in mode."""
        units = Decimal(clip_s) / Decimal(self.clip_lengths_s[0])
        return (self.modes[mode].price_usd * units).quantize(Decimal("0.0001"))

    def runtime_for(self, mode: str) -> int:
        """Typical seconds from creation to end of this provider's task for mode."""
        return self.modes[mode].runtime_s or self.typical_runtime_s

    def aspect_ratio_for(self, requested: str) -> str:
        """The requested ratio if the model takes it, else its default (the spec's fallback)."""
        return requested if requested in self.aspect_ratios else self.aspect_ratios[0]


_SHORT_TEMPLATE = "{style}. Duration: {clip}s. Script: {script}"
_CLIP_TEMPLATE = "{style}. {clip}-second clip. Script: {script}"

CATALOGUE: tuple[ProviderModel, ...] = (
    ProviderModel(
        key="piapi_hunyuan_fast",
        piapi_model="Qubico/hunyuan",
        modes=MappingProxyType(
            {
                # The spec sends "txt2video", which is PiAPI's standard (0.09 USD)
                # variant; the 0.03 USD the spec charges is the fast variant's price.
                TEXT_TO_VIDEO: ModeSpec("fast-txt2video", "hunyuan-fast", Decimal("0.03")),
                IMAGE_TO_VIDEO: ModeSpec(
                    "img2video-concat", "hunyuan", Decimal("0.09"), runtime_s=120
                ),
            }
        ),
        aspect_ratios=("16:9", "9:16", "1:1"),
        clip_lengths_s=(5,),
        image_field="image",
        sends_duration=False,
        prompt_template=_SHORT_TEMPLATE,
        deadline_s=15 * 60,
        typical_runtime_s=60,
    ),
    ProviderModel(
        key="piapi_wanx_1.3b",
        piapi_model="Qubico/wanx",
        modes=MappingProxyType(
            {
                TEXT_TO_VIDEO: ModeSpec("txt2video-1.3b", "wanx-1.3b", Decimal("0.12")),
                IMAGE_TO_VIDEO: ModeSpec(
                    "img2video-14b",
                    "wanx-14b",
                    Decimal("0.28"),
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
        image_field="image",
        sends_duration=False,
        prompt_template=_CLIP_TEMPLATE,
        deadline_s=20 * 60,
        typical_runtime_s=150,
    ),
    ProviderModel(
        key="piapi_wanx_14b",
        piapi_model="Qubico/wanx",
        modes=MappingProxyType(
            {
                TEXT_TO_VIDEO: ModeSpec("txt2video-14b", "wanx-14b", Decimal("0.28")),
                IMAGE_TO_VIDEO: ModeSpec("img2video-14b", "wanx-14b", Decimal("0.28")),
            }
        ),
        aspect_ratios=("16:9", "9:16"),
        clip_lengths_s=(5,),
        image_field="image",
        sends_duration=False,
        prompt_template=_CLIP_TEMPLATE,
        deadline_s=30 * 60,
        typical_runtime_s=480,
    ),
    ProviderModel(
        key="piapi_luma",
        piapi_model="luma",
        modes=MappingProxyType(
            {
                # PiAPI publishes no per-clip price; a documented 5 s task froze
                # 2,000,000 points, which is 0.20 USD.
                TEXT_TO_VIDEO: ModeSpec("video_generation", "luma-ray-v2", Decimal("0.20")),
                IMAGE_TO_VIDEO: ModeSpec("video_generation", "luma-ray-v2", Decimal("0.20")),
            }
        ),
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"),
        clip_lengths_s=(5, 10),
        image_field="start_image",
        sends_duration=True,
        prompt_template=_CLIP_TEMPLATE,
        deadline_s=20 * 60,
        typical_runtime_s=190,
        extra_input=MappingProxyType({"model": "ray-v2"}),
    ),
)

BY_KEY: Mapping[str, ProviderModel] = MappingProxyType({m.key: m for m in CATALOGUE})
