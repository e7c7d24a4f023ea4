"""How our own fields and path converters read in the OpenAPI document (apispec hooks)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from marshmallow import fields

from api.fields import DigitsConverter, DigitsInteger
from providers.patterns import digits_at_most

DIGITS = "^[0-9]+$"


def digits_integer2properties(
    self: Any, field: fields.Field[Any], ret: dict[str, Any], **_: Any
) -> Any:
    """A DigitsInteger is a JSON integer in its range or a string of digits up to its maximum."""
    if not isinstance(field, DigitsInteger):
        return {}
    low, high = ret.pop("minimum", None), ret.pop("maximum", None)
    if low != 0 or high is None:
        raise TypeError(f"{field.name}: a DigitsInteger needs validate.Range(min=0, max=...)")
    for key in ("type", "format"):
        ret.pop(key, None)
    return {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": high},
            {"type": "string", "pattern": digits_at_most(high, DigitsInteger.MAX_DIGITS)},
        ]
    }


def digits_parameter(_converter: DigitsConverter) -> dict[str, Any]:
    """A path segment such as {video_id}: the same string of digits every body shows."""
    return {"type": "string", "pattern": DIGITS}


def install(app: Flask, api: Any) -> None:
    """Register the converter and field hooks; before any blueprint is registered."""
    app.url_map.converters["digits"] = DigitsConverter
    api.register_converter(DigitsConverter, digits_parameter)
    api.ma_plugin.converter.add_attribute_function(digits_integer2properties)
