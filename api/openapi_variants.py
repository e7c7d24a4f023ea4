"""The generate (and quote) body as the OpenAPI document states it: a oneOf of variants.

The marshmallow schema (api.schemas.GenerateRequest) checks each field; the rules between
fields are the catalogue's and the mode's. Each variant is one generation mode on one
provider (or on the automatic choice), with one image source for image-to-video, so that
a body the document accepts is one the server accepts, and the other way round:

- `generation_mode` and `provider` are the variant's tags (one value each; the automatic
  choice's `provider` is null or absent);
- text-to-video takes no image: every image source is null or absent;
- image-to-video takes exactly one image source, required and not null;
- `options` is the provider's own object for that mode (exact types, ranges, choices and
  required options); the automatic choice takes none, since which provider runs depends
  on the duration;
- `script` is at most what the provider's prompt limit leaves room for;
- a last frame given as an upload (`end_image_upload_id`, once uploads exist) only where
  the provider's options for the mode take one, and not beside that option.

Everything else comes from the marshmallow schema as apispec rendered it, so a new field
appears in every variant without touching this module.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from api.catalogue_schemas import OptionsSchema
from providers.catalogue import IMAGE_TO_VIDEO, MODES, Option, OptionKind
from providers.catalogue import ProviderModel as Model
from providers.patterns import HTTP_URL, MAX_URL_CHARS, NUL_FREE
from providers.prompts import max_script_chars

REF = "#/components/schemas/"
# The fields that carry the image of image-to-video, in the order their variants are listed.
# A body names exactly one of those the request schema has.
IMAGE_SOURCES = ("image_url", "image_upload_id")
# Fields that stand for an option (an uploaded last frame for the option's URL): allowed only
# where the provider's options for the mode have it, and not beside it.
STANDS_FOR_OPTION = {"end_image_upload_id": "end_image_url"}
NULL_ONLY = {"nullable": True, "enum": [None]}

_OPTION_TYPES: dict[OptionKind, dict[str, Any]] = {
    OptionKind.BOOL: {"type": "boolean"},
    OptionKind.INT: {"type": "integer"},
    OptionKind.NUMBER: {"type": "number"},
    OptionKind.STRING: {"type": "string", "pattern": NUL_FREE},
    OptionKind.ENUM: {"type": "string"},
    OptionKind.URL: {"type": "string", "maxLength": MAX_URL_CHARS, "pattern": HTTP_URL},
}


def pascal(text: str) -> str:
    """ "piapi_wanx_1.3b" -> "PiapiWanx13b": a component name from an id."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))


def request_variants(
    base: Mapping[str, Any], catalogue: Iterable[Model], auto_choices: Iterable[Model]
) -> tuple[list[str], dict[str, Any]]:
    """The variants' names, in order, and every component they need (variants, options, enums).

    base is the request schema as apispec rendered it. Raises ValueError where the automatic
    choice's rules depend on the duration in a way no variant can state.
    """
    components: dict[str, Any] = {}
    names: list[str] = []
    auto = list(auto_choices)
    for mode in MODES:
        if not all(mode in model.modes for model in auto):
            raise ValueError(f"only some automatic choices do {mode}: no variant can say when")
        for source in _sources(base, mode):
            names.append(_add(components, _variant(base, mode, source, None, auto)))
        for model in catalogue:
            if mode in model.modes:
                for source in _sources(base, mode):
                    variant = _variant(base, mode, source, model, [model], components)
                    names.append(_add(components, variant))
    return names, components


def _sources(base: Mapping[str, Any], mode: str) -> list[str | None]:
    present = [name for name in IMAGE_SOURCES if name in base["properties"]]
    return list(present) if mode == IMAGE_TO_VIDEO else [None]


def _add(components: dict[str, Any], named: tuple[str, dict[str, Any]]) -> str:
    name, schema = named
    components[name] = schema
    return name


def _variant(
    base: Mapping[str, Any],
    mode: str,
    source: str | None,
    model: Model | None,
    runs_on: list[Model],
    components: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    properties = copy.deepcopy(dict(base["properties"]))
    required = list(base.get("required", []))
    properties["generation_mode"] = {"type": "string", "enum": [mode]}
    for name in IMAGE_SOURCES:
        if name not in properties:
            continue
        if name == source:
            properties[name] = _not_null(properties[name])
            required.append(name)
        else:
            properties[name] = _absent_or_null(properties[name])
    if model is None:
        properties["provider"] = {
            **NULL_ONLY,
            "description": "Null or absent: the automatic choice by duration.",
        }
        properties.pop("options", None)  # options need a provider: the choice moves
    else:
        properties["provider"] = {"type": "string", "enum": [model.key]}
        required.append("provider")
        assert components is not None
        options_ref, options_required = _options(components, model, mode)
        properties["options"] = options_ref
        if options_required:
            required.append("options")
    _options_stood_for(properties, model, mode)
    limits = [n for n in (max_script_chars(m) for m in runs_on) if n is not None]
    if limits:
        script = properties["script"]
        script["maxLength"] = min([*limits, script.get("maxLength", min(limits))])
    properties = {k: v for k, v in properties.items() if v is not None}
    image = "" if source in (None, IMAGE_SOURCES[0]) else "From" + pascal(source.split("_id")[0])
    on = "" if model is None else f"On{pascal(model.key)}"
    name = f"Generate{pascal(mode)}{image}{on}"
    where = "the automatic choice by duration" if model is None else f"{model.key} ({model.label})"
    what = f"{mode} on {where}" + (f", the image from {source}" if source else "")
    schema: dict[str, Any] = {
        "type": "object",
        "description": what[0].upper() + what[1:] + ".",
        "properties": properties,
        "required": sorted(set(required), key=list(properties).index),
        "additionalProperties": False,
    }
    not_both = [
        _both(field, option)
        for field, option in STANDS_FOR_OPTION.items()
        if field in properties and "options" in properties and not _null_only(properties[field])
    ]
    if not_both:
        schema["not"] = not_both[0] if len(not_both) == 1 else {"anyOf": not_both}
    return name, schema


def _options_stood_for(properties: dict[str, Any], model: Model | None, mode: str) -> None:
    takes = set() if model is None else {option.name for option in model.options_for(mode)}
    for field, option in STANDS_FOR_OPTION.items():
        if field in properties and option not in takes:
            properties[field] = _absent_or_null(properties[field], f"{option} is not taken")


def _null_only(prop: Mapping[str, Any]) -> bool:
    return prop.get("enum") == [None]


def _both(field: str, option: str) -> dict[str, Any]:
    """Matches a body that sends field and options.<option>, neither null."""
    return {
        "required": [field, "options"],
        "properties": {
            field: {"type": "string"},
            "options": {
                "type": "object",
                "required": [option],
                "properties": {option: {"type": "string"}},
            },
        },
    }


def _not_null(prop: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in prop.items() if k not in ("nullable", "default")}
    if isinstance(kept.get("enum"), list):
        kept["enum"] = [v for v in kept["enum"] if v is not None]
    if kept.get("type") == "string":
        # The server asks whether an image was given, and "" is not one.
        kept["minLength"] = max(1, kept.get("minLength", 0))
    return kept


def _absent_or_null(
    prop: Mapping[str, Any], why: str = "only for image_to_video"
) -> dict[str, Any] | None:
    # Null means "none" to the server; a field that may not be null may only be left out.
    if not prop.get("nullable"):
        return None
    return {**NULL_ONLY, "description": f"Null or absent: {why}."}


def _options(components: dict[str, Any], model: Model, mode: str) -> tuple[dict[str, Any], bool]:
    """A reference to the model's options object for mode, and whether options is required."""
    mine = model.options_for(mode)
    same_in_every_mode = all(model.options_for(m) == mine for m in model.modes)
    name = f"{pascal(model.key)}{'' if same_in_every_mode else pascal(mode)}Options"
    properties = {option.name: _option(components, option) for option in mine}
    required = [option.name for option in mine if option.required]
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"{model.key}'s options for {mode}"
        if not same_in_every_mode
        else f"{model.key}'s options",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    components[name] = schema
    ref = {"$ref": REF + name}
    # Null (or none at all) means every default; not where an option is required.
    return (ref, True) if required else ({"allOf": [ref], "nullable": True}, False)


def _option(components: dict[str, Any], option: Option) -> dict[str, Any]:
    prop: dict[str, Any] = {**_OPTION_TYPES[option.kind], "description": option.description}
    if option.minimum is not None:
        prop["minimum"] = option.minimum
    if option.maximum is not None:
        prop["maximum"] = option.maximum
    if option.max_length is not None:
        prop["maxLength"] = option.max_length
    if option.kind is OptionKind.ENUM:
        name = f"{pascal(option.name)}Option"
        values = list(option.choices)
        if components.setdefault(name, {"type": "string", "enum": values})["enum"] != values:
            raise ValueError(f"option {option.name} has other choices on another model")
        prop = {"allOf": [{"$ref": REF + name}], "description": option.description}
    if not option.required:
        prop["default"] = option.default
    # The request schema refuses null for an option any model takes that has a default.
    schema_allows_null = OptionsSchema().fields[option.name].allow_none
    if option.default is None and not option.required and schema_allows_null:
        prop["nullable"] = True
    return prop
