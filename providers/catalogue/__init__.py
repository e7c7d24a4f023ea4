"""The models this product sells, as data: adding a model is adding a row.

Task types, input fields and output locations follow PiAPI's documentation
(../shared/piapi/REFERENCE.md and MODELS.md) where it and the product spec disagree;
docs/architecture.md ("Providers") lists each such choice. The rows are in rows/, one
module per model family; row.py says what a row holds, options.py and pricing.py what
its options and price are.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from providers.catalogue.options import (
    IMAGE_TO_VIDEO,
    MODES,
    TEXT_TO_VIDEO,
    Option,
    OptionKind,
    OptionsError,
    Send,
)
from providers.catalogue.pricing import Price, PriceSource, Surcharge, format_usd, usd_from_points
from providers.catalogue.row import (
    DEFAULT_IMAGE_LIMITS,
    DurationInput,
    ImageLimits,
    ModeSpec,
    ProviderModel,
)
from providers.catalogue.rows import ROWS

__all__ = [
    "ASPECT_RATIOS",
    "BY_KEY",
    "CATALOGUE",
    "DEFAULT_IMAGE_LIMITS",
    "IMAGE_TO_VIDEO",
    "MODES",
    "TEXT_TO_VIDEO",
    "DurationInput",
    "ImageLimits",
    "ModeSpec",
    "Option",
    "OptionKind",
    "OptionsError",
    "Price",
    "PriceSource",
    "ProviderModel",
    "Send",
    "Surcharge",
    "format_usd",
    "usd_from_points",
]

# Every ratio some model accepts; a model that lacks the asked one uses its first.
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")

CATALOGUE: tuple[ProviderModel, ...] = ROWS
BY_KEY: Mapping[str, ProviderModel] = MappingProxyType({m.key: m for m in CATALOGUE})
