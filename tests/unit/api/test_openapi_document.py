"""/api/openapi.json: the rules between the schemas, stated so a body the document accepts is
one the server accepts (and the other way round), ids as the server writes them, one enum
per enum, and every always-present field required."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import marshmallow as ma
import pytest
import schemathesis
from apispec import APISpec
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy.orm import sessionmaker

from api.app import create_app
from api.errors import APIError
from api.openapi_variants import IMAGE_SOURCES, request_variants
from api.request_guards import bad_text_fields
from api.schemas import GenerateRequest
from api.submissions import plan_request
from infra.settings import Settings
from providers.catalogue import BY_KEY, CATALOGUE, IMAGE_TO_VIDEO, TEXT_TO_VIDEO
from providers.patterns import HTTP_URL
from providers.prompts import max_script_chars
from providers.selection import AUTO_CHOICES
from tests.fakes import RecordingMessages

REF = "#/components/schemas/"
BODY = ParameterLocation.BODY


def _app_api() -> tuple[Any, Any]:
    app = create_app(
        Settings.from_env({}), session_factory=sessionmaker(), messages=RecordingMessages()
    )
    return app, app.extensions["flask-smorest"]["apis"][""]["ext_obj"]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    app, _ = _app_api()
    document: dict[str, Any] = app.test_client().get("/api/openapi.json").get_json()
    return document


@pytest.fixture(scope="module")
def schemas(spec: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"]
    return found


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def _target(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref") or schema["allOf"][0]["$ref"]
    return str(ref).removeprefix(REF)


def _variants(schemas: dict[str, Any]) -> list[dict[str, Any]]:
    return [schemas[_target(ref)] for ref in schemas["GenerateRequest"]["oneOf"]]


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.0.3"


def test_flask_openapi_print_gives_the_same_document(spec: dict[str, Any]) -> None:
    app, _ = _app_api()
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert json.loads(printed.output) == spec


def test_ids_are_strings_everywhere(spec: dict[str, Any], schemas: dict[str, Any]) -> None:
    for path in ("/api/video/status/{video_id}", "/api/video/{video_id}/cancel"):
        (parameter,) = spec["paths"][path]["parameters"]
        assert parameter["schema"] == {"type": "string", "pattern": "^[0-9]+$"}
    job = schemas["Job"]["properties"]
    assert job["video_id"]["type"] == "string"
    assert (job["campaign_id"]["type"], job["campaign_id"]["nullable"]) == ("string", True)
    assert schemas["Account"]["properties"]["user_id"]["type"] == "string"
    # campaign_id is what the server reads: an integer, or digits as the spec's body sends.
    for variant in _variants(schemas):
        kinds = [branch["type"] for branch in variant["properties"]["campaign_id"]["anyOf"]]
        assert kinds == ["integer", "string"]
    query = {p["name"]: p for p in spec["paths"]["/api/video/library"]["get"]["parameters"]}
    assert [b["type"] for b in query["campaign_id"]["schema"]["anyOf"]] == ["integer", "string"]


def test_every_response_field_is_required_but_an_errors_fields(schemas: dict[str, Any]) -> None:
    for name in ("Job", "JobDetail", "LibraryPage", "Account", "Quote", "Provider", "WebhookAck"):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name
    assert set(schemas["LibraryPage"]["required"]) >= {"videos", "page", "per_page", "total"}
    assert schemas["ErrorDetail"]["required"] == ["code", "message"]
    # Nullable fields stay required: present, and null.
    assert schemas["Job"]["properties"]["completed_at"]["nullable"] is True
    assert "x-optional" not in json.dumps(schemas)


def test_one_enum_per_enum(spec: dict[str, Any], schemas: dict[str, Any]) -> None:
    seen: dict[frozenset[str], int] = {}
    for node in _nodes(spec):
        if isinstance(node.get("enum"), list) and len(node["enum"]) > 1:
            assert None not in node["enum"], node
            key = frozenset(node["enum"])
            seen[key] = seen.get(key, 0) + 1
    assert all(count == 1 for count in seen.values()), seen
    job = schemas["Job"]["properties"]
    assert (_target(job["status"]), _target(job["provider"])) == ("Status", "ProviderId")
    assert _target(job["generation_mode"]) == "GenerationMode"
    query = {p["name"]: p for p in spec["paths"]["/api/video/library"]["get"]["parameters"]}
    assert _target(query["status"]["schema"]) == "Status"
    assert _target(query["provider"]["schema"]) == "ProviderId"


def test_urls_carry_the_servers_pattern_not_format_url(spec: dict[str, Any]) -> None:
    assert not [node for node in _nodes(spec) if node.get("format") == "url"]
    for variant in _variants(spec["components"]["schemas"]):
        assert variant["properties"]["webhook_url"]["pattern"] == HTTP_URL


def test_the_body_is_one_variant_per_mode_provider_and_image_source(
    schemas: dict[str, Any],
) -> None:
    variants = _variants(schemas)
    sources = [name for name in IMAGE_SOURCES if name in GenerateRequest().fields]
    every_mode = [*CATALOGUE, BY_KEY[AUTO_CHOICES[0]]]  # the automatic choice does both
    expected = sum(
        (TEXT_TO_VIDEO in m.modes) + (IMAGE_TO_VIDEO in m.modes) * len(sources) for m in every_mode
    )
    assert len(variants) == expected
    tags = set()
    for variant in variants:
        props = variant["properties"]
        (mode,) = props["generation_mode"]["enum"]
        provider = props["provider"]["enum"][0]
        given = [name for name in sources if name in variant["required"]]
        tags.add((mode, provider, *given))
        if mode == TEXT_TO_VIDEO:
            assert not given
            for name in sources:
                assert props[name]["enum"] == [None]
        else:
            (source,) = given  # exactly one image source
            assert "nullable" not in props[source]
            assert all(props[name]["enum"] == [None] for name in sources if name != source)
        if provider is None:
            assert "options" not in props  # options need a provider
            assert "provider" not in variant["required"]
        else:
            assert "provider" in variant["required"]
            limit = max_script_chars(BY_KEY[provider])
            assert props["script"]["maxLength"] == (4000 if limit is None else limit)
    assert len(tags) == len(variants)
    lora = schemas["GenerateTextToVideoOnPiapiWanx14bLora"]
    assert "options" in lora["required"]
    assert schemas[_target(lora["properties"]["options"])]["required"] == ["lora_type"]


def test_a_new_model_and_a_new_field_flow_into_the_variants() -> None:
    _, api = _app_api()
    base = APISpec.to_dict(api.spec)["components"]["schemas"]["GenerateRequest"]
    base["properties"]["mood"] = {"type": "string", "maxLength": 20}
    luma = BY_KEY["piapi_luma"]
    new = dataclasses.replace(
        luma, key="piapi_new", modes=MappingProxyType({TEXT_TO_VIDEO: luma.modes[TEXT_TO_VIDEO]})
    )
    auto = [BY_KEY[key] for key in AUTO_CHOICES]

    names, components = request_variants(base, [*CATALOGUE, new], auto)

    assert "GenerateTextToVideoOnPiapiNew" in names
    assert "GenerateImageToVideoOnPiapiNew" not in names
    assert all(components[name]["properties"]["mood"]["maxLength"] == 20 for name in names)


def test_uploaded_images_are_sources_and_last_frames_where_a_model_takes_one() -> None:
    _, api = _app_api()
    base = APISpec.to_dict(api.spec)["components"]["schemas"]["GenerateRequest"]
    upload_id = {"type": "string", "nullable": True, "maxLength": 64}
    base["properties"] |= {"image_upload_id": upload_id, "end_image_upload_id": upload_id}
    auto = [BY_KEY[key] for key in AUTO_CHOICES]

    names, components = request_variants(base, CATALOGUE, auto)

    null_only = {"nullable": True, "enum": [None]}
    from_upload = components["GenerateImageToVideoFromImageUploadOnPiapiKling3"]
    assert "image_upload_id" in from_upload["required"]
    assert from_upload["properties"]["image_url"]["enum"] == [None]
    by_url = components["GenerateImageToVideoOnPiapiKling3"]
    assert by_url["properties"]["image_upload_id"].items() >= null_only.items()
    # Kling takes a last frame in image-to-video: as an upload or as the option, not both.
    assert by_url["properties"]["end_image_upload_id"] == upload_id
    assert by_url["not"]["required"] == ["end_image_upload_id", "options"]
    for name in ("GenerateTextToVideoOnPiapiKling3", "GenerateImageToVideoOnPiapiHunyuanFast"):
        assert components[name]["properties"]["end_image_upload_id"].items() >= null_only.items()
        assert "not" not in components[name]
    assert len(names) == sum(len(m.modes) + (IMAGE_TO_VIDEO in m.modes) for m in CATALOGUE) + 3


def test_errors_rate_limits_and_outages_document_their_headers(spec: dict[str, Any]) -> None:
    generate = spec["paths"]["/api/video/generate"]["post"]["responses"]
    assert generate["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert generate["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert generate["503"]["headers"]["Retry-After"]["required"] is True
    links = generate["202"]["links"]
    assert {link["parameters"]["video_id"] for link in links.values()} == {
        "$response.body#/video_id"
    }
    assert len(links) == 3  # status, cancel, delete


def test_the_largest_body_the_document_allows_fits_the_request_limit(
    schemas: dict[str, Any],
) -> None:
    def most_bytes(schema: dict[str, Any]) -> int:
        if "allOf" in schema:
            schema = {**schemas[_target(schema)], **schema}
        if "$ref" in schema:
            schema = schemas[_target(schema)]
        if schema.get("type") == "object":
            props = schema.get("properties", {}).items()
            return 2 + sum(len(name) + 4 + most_bytes(prop) for name, prop in props)
        if schema.get("type") == "array":
            return 2 + schema.get("maxItems", 1) * (1 + most_bytes(schema["items"]))
        if "enum" in schema:
            return max(len(json.dumps(v)) for v in schema["enum"])
        if "maxLength" in schema:
            # A character outside the BMP is sent as two \\uXXXX escapes; a URL is ASCII.
            per_char = 1 if schema.get("pattern") == HTTP_URL else 12
            return 2 + schema["maxLength"] * per_char
        return 32  # a number, a boolean, null, or a digit string

    largest = max(most_bytes(variant) for variant in _variants(schemas))
    assert largest <= Settings.from_env({}).max_request_bytes


# Every body the document accepts passes the server's checks; every body it refuses fails them.
# The coverage phase's cases walk each variant's edges (lengths, ranges, each choice, each
# field missing or of the wrong type), as `st run` does against the stack in tests/e2e.


# One variant for each kind of rule (all of them: tests/e2e/test_openapi.py, against the stack):
# the automatic choice both ways, a prompt limit, a required option, a URL option beside
# choices and ranges, a range, a shared enum of choices.
EDGES_OF = {
    "GenerateTextToVideo",
    "GenerateImageToVideo",
    "GenerateTextToVideoOnPiapiHailuo",
    "GenerateImageToVideoOnPiapiWanx14bLora",
    "GenerateImageToVideoOnPiapiKling3",
    "GenerateImageToVideoOnPiapiSkyreels",
    "GenerateTextToVideoOnPiapiVeo3",
}


def _quote_cases(spec: dict[str, Any]) -> Iterator[Any]:
    spec = copy.deepcopy(spec)
    body = spec["components"]["schemas"]["GenerateRequest"]
    body["oneOf"] = [ref for ref in body["oneOf"] if _target(ref) in EDGES_OF]
    assert len(body["oneOf"]) == len(EDGES_OF)
    schema = schemathesis.openapi.from_dict(spec)
    operation = schema["/api/video/quote"]["POST"]
    return schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=schema.config.generation_for(operation=operation),
    )


# Fields naming an upload (once uploads exist): here no upload exists, so the server's answer
# to any of them is a 404, which judges no body's form.
UPLOAD_FIELDS = ("image_upload_id", "end_image_upload_id")
FORM_REFUSALS = {400, 413, 415, 422}


def _answer(body: Any) -> tuple[int, str]:
    """The status the server answers body with as a quote, and why; as the route checks it."""
    try:
        if bad_text_fields(body):
            return 422, "request guard"
        request = GenerateRequest().load(body)
        if any(request.get(name) is not None for name in UPLOAD_FIELDS):
            return 404, "no such upload"
        plan_request(request, "pro")
    except ma.ValidationError as exc:
        return 422, str(exc.messages)
    except APIError as exc:
        return exc.status, exc.message
    return 200, ""


def _refusal(body: Any) -> str | None:
    """Why the server refuses body's form (a 4xx that judges it), or None."""
    status, why = _answer(body)
    return f"{status} {why}" if status in FORM_REFUSALS else None


def test_every_edge_of_every_variant_is_judged_alike(spec: dict[str, Any]) -> None:
    judged = {GenerationMode.POSITIVE: 0, GenerationMode.NEGATIVE: 0}
    wrong = []
    for case in _quote_cases(spec):
        if case.method != "POST" or case.meta is None or case.body is NOT_SET:
            continue  # probes of methods and of missing bodies: the stack test sends those
        mode = case.meta.generation.mode
        if mode is GenerationMode.NEGATIVE and not case.meta.is_negative_at(BODY):
            continue
        judged[mode] += 1
        status, why = _answer(case.body)
        if mode is GenerationMode.POSITIVE and status in FORM_REFUSALS:
            wrong.append((mode.value, status, why, case.body))
        if mode is GenerationMode.NEGATIVE and status < 300:
            wrong.append((mode.value, status, why, case.body))
    assert not wrong, wrong[:5]
    assert min(judged.values()) > 250, judged  # each variant's edges, both ways


def test_random_schema_valid_bodies_are_accepted(spec: dict[str, Any]) -> None:
    operation = schemathesis.openapi.from_dict(spec)["/api/video/quote"]["POST"]

    @settings(
        max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def check(case: Any) -> None:
        assert _refusal(case.body) is None, case.body

    check()
