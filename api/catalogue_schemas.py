"""The catalogue's bodies: the `options` request field, GET /api/providers, and a quote.

`OptionsSchema` is built from the catalogue: one property per option name any model
takes, with its JSON type. It only checks names; each provider's own rules (range,
choices, modes, required) are applied once the provider is chosen.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from models.tiers import TIERS
from providers.catalogue import (
    ASPECT_RATIOS,
    BY_KEY,
    CATALOGUE,
    MODES,
    DurationInput,
    Option,
    OptionKind,
    PriceSource,
    ProviderModel,
)

# Validators on a dumped field only say, in the OpenAPI document, which values it takes.
_PROVIDER = validate.OneOf(list(BY_KEY))
_MODE = validate.OneOf(MODES)
_PRICE_SOURCE = validate.OneOf([s.value for s in PriceSource])

_JSON_TYPES = {
    OptionKind.BOOL: {"type": "boolean"},
    OptionKind.INT: {"type": "integer"},
    OptionKind.NUMBER: {"type": "number"},
    OptionKind.STRING: {"type": "string"},
    OptionKind.ENUM: {"type": "string"},
    OptionKind.URL: {"type": "string", "format": "uri"},
}


class OptionValue(fields.Raw):
    """An option's value, passed through as sent: the chosen provider's rules check it."""


def _where(model: ProviderModel, option: Option) -> str:
    detail = []
    if len(option.modes) == 1:
        detail.append(f"{next(iter(option.modes))} only")
    if option.required:
        detail.append("required")
    else:
        detail.append(f"default {json.dumps(option.default)}")
    if option.minimum is not None and option.maximum is not None:
        detail.append(f"{option.minimum:g} to {option.maximum:g}")
    if option.choices and option.kind is OptionKind.ENUM:
        detail.append("one of " + "|".join(option.choices))
    return f"{model.key} ({', '.join(detail)})"


def _option_field(name: str, taken_by: list[tuple[ProviderModel, Option]]) -> OptionValue:
    kinds = {option.kind for _, option in taken_by}
    if len(kinds) != 1:  # one name, one type: the catalogue's own rule
        raise TypeError(f"option {name} has several types in the catalogue: {kinds}")
    first = taken_by[0][1]
    metadata: dict[str, Any] = {
        **_JSON_TYPES[first.kind],
        "description": f"{first.description} Taken by: "
        + "; ".join(_where(model, option) for model, option in taken_by)
        + ".",
    }
    choices = sorted({c for _, option in taken_by for c in option.choices})
    if choices:
        metadata["enum"] = choices
    # null is a value only where it is the default (no last frame, say).
    nullable = all(option.default is None and not option.required for _, option in taken_by)
    return OptionValue(allow_none=nullable, metadata=metadata)


def _options_schema() -> type[ma.Schema]:
    taken: dict[str, list[tuple[ProviderModel, Option]]] = defaultdict(list)
    for model in CATALOGUE:
        for option in model.options:
            taken[option.name].append((model, option))
    declared: dict[str, Any] = {name: _option_field(name, rows) for name, rows in taken.items()}
    declared["Meta"] = type("Meta", (), {"unknown": ma.RAISE})
    declared["__doc__"] = (
        "Model options, as GET /api/providers lists them per provider. An option the "
        "chosen provider does not take, or a bad value, is a 422 naming it."
    )
    return type("OptionsSchema", (ma.Schema,), declared)


OptionsSchema = _options_schema()


class SurchargeSchema(ma.Schema):
    """What one option value adds to a price."""

    option = fields.String()
    value = fields.Raw(metadata={"description": "the option's value that adds it"})
    usd = fields.Float(metadata={"description": "added to the base, per the same unit"})


class PriceSchema(ma.Schema):
    """A mode's price: base per clip or per per_s seconds, plus surcharges."""

    unit = fields.String(
        validate=validate.OneOf(["clip", "seconds"]),
        metadata={"description": "clip, or seconds (per per_s seconds)"},
    )
    per_s = fields.Integer(allow_none=True)
    base_usd = fields.Float(allow_none=True, metadata={"description": "null: not published"})
    surcharges = fields.List(fields.Nested(SurchargeSchema))
    source = fields.String(validate=_PRICE_SOURCE)
    estimate = fields.Boolean(metadata={"description": "true unless PiAPI or the spec states it"})
    note = fields.String()


class ModeSchema(ma.Schema):
    """How a provider runs one generation mode, and its price."""

    task_type = fields.String()
    model_name = fields.String()
    notice = fields.String(allow_none=True)
    price_usd = fields.Float(
        allow_none=True,
        metadata={"description": "the shortest clip with default options; null: unknown"},
    )
    price = fields.Nested(PriceSchema)
    typical_runtime_s = fields.Float(metadata={"description": "for the shortest clip"})


class OptionSchema(ma.Schema):
    """One option a provider takes."""

    name = fields.String()
    type = fields.String(validate=validate.OneOf([k.value for k in OptionKind]))
    description = fields.String()
    default = fields.Raw(allow_none=True)
    required = fields.Boolean()
    minimum = fields.Float(allow_none=True)
    maximum = fields.Float(allow_none=True)
    choices = fields.List(fields.String())
    max_length = fields.Integer(allow_none=True)
    modes = fields.List(fields.String(validate=_MODE))
    piapi_field = fields.String(metadata={"description": "where PiAPI's input reads it"})


class ImageLimitsSchema(ma.Schema):
    """What the model accepts as an input image."""

    formats = fields.List(fields.String())
    max_bytes = fields.Integer()
    min_side_px = fields.Integer()
    max_side_px = fields.Integer(allow_none=True)
    min_aspect = fields.Float(allow_none=True, metadata={"description": "width / height"})
    max_aspect = fields.Float(allow_none=True)
    documented = fields.Boolean(metadata={"description": "false: our default, not PiAPI's"})
    note = fields.String()


class ProviderSchema(ma.Schema):
    """One entry of the catalogue, as this user may see it."""

    provider = fields.String(validate=_PROVIDER)
    label = fields.String()
    family = fields.String()
    piapi_model = fields.String()
    modes = fields.Dict(keys=fields.String(), values=fields.Nested(ModeSchema))
    aspect_ratios = fields.List(
        fields.String(), metadata={"description": "the first is the default"}
    )
    clip_lengths_s = fields.List(fields.Integer(), metadata={"description": "durations it makes"})
    duration_input = fields.String(
        validate=validate.OneOf([d.value for d in DurationInput]),
        metadata={"description": "how the duration is sent"},
    )
    deadline_s = fields.Integer()
    typical_runtime_s = fields.Float(metadata={"description": "for the shortest clip"})
    runtime_clip_s = fields.Integer(
        allow_none=True,
        metadata={"description": "runtime grows per this many seconds; null: fixed"},
    )
    options = fields.List(fields.Nested(OptionSchema))
    image_limits = fields.Nested(ImageLimitsSchema)
    max_prompt_chars = fields.Integer(allow_none=True)
    allowed = fields.Boolean(metadata={"description": "whether your tier may use it"})


class ProvidersBody(ma.Schema):
    """GET /api/providers."""

    providers = fields.List(fields.Nested(ProviderSchema))


class QuoteSchema(ma.Schema):
    """What a generate request would run and cost, without making a job."""

    provider = fields.String(validate=_PROVIDER)
    model_name = fields.String()
    task_type = fields.String()
    generation_mode = fields.String(validate=_MODE)
    requested_duration = fields.Integer()
    duration = fields.Integer(metadata={"description": "seconds of video it would make"})
    aspect_ratio = fields.String(validate=validate.OneOf(ASPECT_RATIOS))
    options = fields.Dict(metadata={"description": "the provider's options, defaults filled in"})
    cost = fields.Float(allow_none=True, metadata={"description": "USD; null: not published"})
    cost_estimated = fields.Boolean()
    price_source = fields.String(validate=_PRICE_SOURCE)
    notice = fields.String(allow_none=True)
    allowed = fields.Boolean(metadata={"description": "whether your tier may run it"})
    not_allowed_reason = fields.String(
        allow_none=True, metadata={"description": "why your tier may not (as generate's 403)"}
    )
    tier = fields.String(validate=validate.OneOf(list(TIERS)))
    price_cap_usd = fields.Float(allow_none=True)
