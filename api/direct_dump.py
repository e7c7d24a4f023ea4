"""A marshmallow Schema whose dump reads each field's value directly: the same body, less CPU.

Schema.dump goes through about a dozen calls per field to find its value (serialize,
get_value, the accessor, utils.get_value's dict-or-attribute dispatch) before the field's
own _serialize runs. The job body has 38 fields and is what the API's busiest routes
answer (status, generate, the library's pages), so that lookup was a fifth of a status
request's CPU. DirectDump keeps the schema the only definition: it calls every field's
own _serialize and only replaces the lookup, for plain attribute names on objects; a
mapping, a dotted attribute or a dump hook takes marshmallow's own path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

_Getter = Callable[[Any], Any]


def _getter(name: str, field: ma.fields.Field[Any]) -> _Getter:
    serialize = field._serialize
    if not field._CHECK_ATTRIBUTE:  # Function, Method, Constant: computed from the object
        return lambda obj: serialize(None, name, obj)
    attribute = field.attribute or name
    default = field.dump_default

    def get(obj: Any) -> Any:
        value = getattr(obj, attribute, missing)
        if value is missing:
            value = default() if callable(default) else default
            if value is missing:
                return missing
        return serialize(value, name, obj)

    return get


class DirectDump(ma.Schema):
    """Dump as marshmallow would, reading object attributes directly (see the module)."""

    _getters: list[tuple[str, _Getter]] | None = None

    def _direct(self) -> list[tuple[str, _Getter]] | None:
        if self._getters is None:
            fields = self.dump_fields
            direct = not (self._hooks[PRE_DUMP] or self._hooks[POST_DUMP]) and all(
                "." not in (field.attribute or name) for name, field in fields.items()
            )
            self._getters = (
                [(field.data_key or name, _getter(name, field)) for name, field in fields.items()]
                if direct
                else []
            )
        return self._getters or None

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else bool(many)
        getters = self._direct()
        if getters is None or (not many and isinstance(obj, Mapping)):
            return super().dump(obj, many=many)
        if many:
            return [self.dump(item, many=False) for item in obj]
        body = {}
        for key, get in getters:
            value = get(obj)
            if value is not missing:
                body[key] = value
        return body
