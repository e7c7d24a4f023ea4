"""Request fields whose rule is a pattern: the server checks it and the OpenAPI states it.

A `FullMatch` validator is a marshmallow Regexp (apispec writes its pattern into the
document) that matches the whole value, as OpenAPI's `pattern` does: `re.match` would let
"123\\n" through `^[0-9]+$`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import BaseConverter

from providers.patterns import HTTP_URL, MAX_URL_CHARS, NOT_BLANK_NUL_FREE, NUL_FREE


class FullMatch(validate.Regexp):
    """The whole value matches the pattern (not just a prefix, nor all but a final newline)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


NO_NUL = FullMatch(NUL_FREE, error="Must not contain NUL characters.")
NOT_BLANK = FullMatch(NOT_BLANK_NUL_FREE, error="Must not be blank or contain NUL characters.")


class HttpUrl(fields.String):
    """An http(s) URL: providers.patterns.HTTP_URL, at most MAX_URL_CHARS characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validate"] = [
            validate.Length(max=MAX_URL_CHARS),
            FullMatch(
                HTTP_URL,
                error="Must be an http(s) URL with a host name or IPv4 address, without"
                " spaces or user:password@.",
            ),
        ]
        super().__init__(**kwargs)


class DigitsInteger(fields.Integer):
    """An integer sent as a JSON number or as a string of digits ("123", as in the spec).

    Give it a Range with a minimum of 0: the OpenAPI document (api/openapi_fields.py)
    states it as a number in that range or a string of at most 10 digits up to its maximum.
    """

    MAX_DIGITS = 10
    default_error_messages = {"invalid": "Must be an integer or a string of digits."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not value.isascii() or not value.isdigit() or len(value) > self.MAX_DIGITS:
                raise self.make_error("invalid")
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class DigitsConverter(BaseConverter):
    """A path segment of ASCII digits, as an int: werkzeug's `int` takes any Unicode digit.

    Anything else in that segment matches no route (a 404); the OpenAPI document states
    the segment as a string of digits (api/openapi_fields.py).
    """

    regex = "[0-9]+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(value)
