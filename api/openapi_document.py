"""/api/openapi.json made exact: apispec's rendering of the schemas, then what it cannot say.

apispec writes each marshmallow schema as it is. This step, run on every rendering
(`ExactSpec.to_dict`, so the route and `flask openapi print` agree), adds what holds
between the schemas and the code around them:

- the generate and quote body becomes a oneOf of variants (api/openapi_variants.py);
- response bodies list every field as `required`: marshmallow dumps every field it
  declares, so each is always present (null where `nullable`). A field that is sometimes
  left out says so with the metadata `{"x-optional": True}`;
- a string enum used in more than one place is one component, named in ENUM_NAMES or
  after its property; `null` is never inside an enum (`nullable` says it);
- a parameter is never nullable (a header or query value is sent or not);
- a nullable reference is `allOf: [$ref]` with `nullable`, which generators read as
  "that type or null" (apispec writes an anyOf with an empty object);
- every 401 says it carries WWW-Authenticate, every 429 and 503 Retry-After;
- a body with a field named like a path parameter ({video_id}) links to those operations;
- components nothing refers to any more are dropped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

from apispec import APISpec

from api.openapi_variants import REF, pascal, request_variants
from models.jobs import Status
from models.tiers import TIERS
from models.webhooks import EVENTS, DeliveryState
from providers.catalogue import ASPECT_RATIOS, BY_KEY, CATALOGUE, MODES
from providers.prompts import STYLE_PROMPTS
from providers.selection import AUTO_CHOICES

OPTIONAL = "x-optional"
ENUM_NAMES = {
    frozenset(MODES): "GenerationMode",
    frozenset(BY_KEY): "ProviderId",
    frozenset(Status): "Status",
    frozenset(STYLE_PROMPTS): "Style",
    frozenset(ASPECT_RATIOS): "AspectRatio",
    frozenset(EVENTS): "WebhookEvent",
    frozenset(DeliveryState): "DeliveryState",
    frozenset(TIERS): "Tier",
}
HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "description": "Bearer: send the API key as `Authorization: Bearer <key>`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}
HEADERS["503"] = HEADERS["429"]
GENERATE_BODY = (
    "One generation mode on one provider (or on the automatic choice), with one image source"
    " for image_to_video. docs/api.md lists what the server decides beyond this document."
)


class ExactSpec(APISpec):
    """An APISpec whose document is the exact one (see the module's docstring)."""

    def to_dict(self) -> dict[str, Any]:
        return exact(super().to_dict())


def exact(spec: dict[str, Any]) -> dict[str, Any]:
    """The document apispec made, with every rule of this module applied (a new dict)."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    if "GenerateRequest" in schemas:
        auto = [BY_KEY[key] for key in AUTO_CHOICES]
        names, added = request_variants(schemas["GenerateRequest"], CATALOGUE, auto)
        schemas.update(added)
        schemas["GenerateRequest"] = {
            "description": GENERATE_BODY,
            "oneOf": [{"$ref": REF + name} for name in names],
        }
    spec = _transform(spec, _nullable_ref)
    _plain_parameters(spec)
    _name_enums(spec)
    _require_response_fields(spec)
    _document_headers(spec)
    _link_by_path_parameters(spec)
    _drop_unused(spec)
    return spec


def _transform(node: Any, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """node with change applied to every object in it, innermost first."""
    if isinstance(node, list):
        return [_transform(item, change) for item in node]
    if isinstance(node, dict):
        return change({key: _transform(value, change) for key, value in node.items()})
    return node


def _nullable_ref(node: dict[str, Any]) -> dict[str, Any]:
    variants = node.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2:
        refs = [v for v in variants if "$ref" in v]
        nulls = [v for v in variants if v == {"type": "object", "nullable": True}]
        if len(refs) == 1 and len(nulls) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return {"allOf": refs, **rest, "nullable": True}
    if node.get("nullable") and isinstance(node.get("enum"), list):
        kept = [v for v in node["enum"] if v is not None]
        if kept:  # [None] alone is "null only", which nullable cannot say
            return {**node, "enum": kept}
    return node


def _plain_parameters(spec: dict[str, Any]) -> None:
    # A header, query or path value is text on the wire: it is sent or not, never null.
    for path in spec.get("paths", {}).values():
        for operation in [path, *(op for key, op in path.items() if key != "parameters")]:
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                schema.pop("nullable", None)
                if "default" in schema and schema["default"] is None:
                    del schema["default"]


def _string_enum(node: Any) -> frozenset[str] | None:
    if not isinstance(node, dict) or not isinstance(node.get("enum"), list):
        return None
    values = node["enum"]
    if len(set(values)) < 2 or not all(isinstance(v, str) for v in values):
        return None
    return frozenset(values)


def _enum_uses(node: Any, name: str = "") -> Iterator[tuple[frozenset[str], str, list[str]]]:
    """Each string enum under node: its values, the property it belongs to, and its order."""
    if isinstance(node, list):
        for item in node:
            yield from _enum_uses(item, name)
        return
    if not isinstance(node, dict):
        return
    key = _string_enum(node)
    if key is not None:
        yield key, name, list(node["enum"])
    for child_key, child in node.items():
        if child_key == "properties" and isinstance(child, dict):
            for prop, schema in child.items():
                yield from _enum_uses(schema, prop)
        elif child_key == "items" and name.endswith("s"):
            yield from _enum_uses(child, name[:-1])
        else:
            yield from _enum_uses(child, str(node.get("name", name)))


def _name_enums(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    # Enums that are components already (an option's choices) are not uses.
    owners = {key for schema in schemas.values() if (key := _string_enum(schema))}
    seen: dict[frozenset[str], tuple[str, list[str], int]] = {}
    for key, name, order in _enum_uses(spec):
        first_name, first_order, count = seen.get(key, (name, order, 0))
        seen[key] = (first_name, first_order, count + 1)
    named: dict[frozenset[str], str] = {}
    for key, (prop, order, count) in seen.items():
        if key in owners or count < 2:
            continue
        name = ENUM_NAMES.get(key) or pascal(prop or "choice")
        while name in schemas:
            name += "Choice"
        schemas[name] = {"type": "string", "enum": order, **_variable_names(name, order)}
        named[key] = name

    def use_component(node: dict[str, Any]) -> dict[str, Any]:
        key = _string_enum(node)
        if key is None or key not in named or node is schemas.get(named[key]):
            return node
        rest = {k: v for k, v in node.items() if k not in ("type", "enum")}
        ref = {"$ref": REF + named[key]}
        return {"allOf": [ref], **rest} if rest else ref

    components = {name: schemas.pop(name) for name in list(schemas) if name not in named.values()}
    spec.update(_transform({k: v for k, v in spec.items() if k != "components"}, use_component))
    schemas.update(_transform(components, use_component))


def _variable_names(name: str, values: list[str]) -> dict[str, Any]:
    # Generators name enum members after their values, and "16:9" after its position
    # (VALUE_0): give those a name that says the value, ASPECT_RATIO_16_9.
    if all(value[:1].isalpha() for value in values):
        return {}
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
    return {"x-enum-varnames": [prefix + "_" + re.sub(r"\W", "_", v).upper() for v in values]}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref.removeprefix(REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _closure(schemas: dict[str, Any], start: Any) -> set[str]:
    found: set[str] = set()
    todo = list(_refs(start))
    while todo:
        name = todo.pop()
        if name not in found and name in schemas:
            found.add(name)
            todo.extend(_refs(schemas[name]))
    return found


def _operations(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in spec.get("paths", {}).values():
        for method, operation in path.items():
            if method != "parameters":
                yield operation


def _require_response_fields(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    responses = [op.get("responses", {}) for op in _operations(spec)]
    requests = [
        {k: v for k, v in op.items() if k in ("requestBody", "parameters")}
        for op in _operations(spec)
    ]
    answered = _closure(schemas, [responses, spec["components"].get("responses", {})])
    asked = _closure(schemas, requests)
    for name in sorted(answered):
        properties = schemas[name].get("properties")
        if not properties:
            continue
        if name in asked:
            raise ValueError(f"{name} is both a request and a response body: split it")
        schemas[name]["required"] = [
            prop for prop, schema in properties.items() if not schema.get(OPTIONAL)
        ]
    spec.update(_transform(spec, lambda node: {k: v for k, v in node.items() if k != OPTIONAL}))


def _document_headers(spec: dict[str, Any]) -> None:
    for operation in _operations(spec):
        for status, response in operation.get("responses", {}).items():
            if status in HEADERS and "$ref" not in response:
                response.setdefault("headers", {}).update(copy.deepcopy(HEADERS[status]))


def _link_by_path_parameters(spec: dict[str, Any]) -> None:
    """A 2xx body with a field named like a path parameter links to the operations it names.

    A job's body (video_id) links to its status, cancel and delete: clients and tools
    (schemathesis' stateful phase) learn which calls follow which.
    """
    schemas = spec["components"]["schemas"]
    targets: dict[str, list[tuple[str, str]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in item:
            if method != "parameters":
                for name in re.findall(r"{(\w+)}", path):
                    targets.setdefault(name, []).append((path, method))
    for operation in _operations(spec):
        for status, response in operation.get("responses", {}).items():
            body = response.get("content", {}).get("application/json", {}).get("schema", {})
            ref = body.get("$ref", "").removeprefix(REF)
            if not status.startswith("2") or ref not in schemas:
                continue
            fields = schemas[ref].get("properties", {})
            for name in (n for n in targets if n in fields):
                for path, method in targets[name]:
                    pointer = path.replace("~", "~0").replace("/", "~1")
                    response.setdefault("links", {})[pascal(f"{method} {path}")] = {
                        "operationRef": f"#/paths/{pointer}/{method}",
                        "parameters": {name: f"$response.body#/{name}"},
                    }


def _drop_unused(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    elsewhere = {k: v for k, v in spec.items() if k != "components"}
    others = {k: v for k, v in spec["components"].items() if k != "schemas"}
    used = _closure(schemas, [elsewhere, others])
    for name in list(schemas):
        if name not in used:
            del schemas[name]
