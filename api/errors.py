"""One error body for every 4xx and 5xx: {"error": {"code", "message", "fields"?}}.

Codes are a closed set (ERROR_CODES), listed in README.md, so clients can branch on them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, request
from flask_smorest import Api, Blueprint
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from api.openapi_document import ExactSpec

ERROR_CODES = {
    400: "bad_request",  # also "invalid_json" for an unparseable body
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class APIError(Exception):
    """Raise anywhere under api/ to answer with the standard error body."""

    status = 400
    code = "bad_request"
    retry_after_s: int | None = None

    def __init__(self, message: str, *, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class NotFoundError(APIError):
    """No such thing for this user: anyone else's looks exactly like one that does not exist."""

    status, code = 404, "not_found"


class ConflictError(APIError):
    """The request does not fit the state of what it names (a finished job, a used upload)."""

    status, code = 409, "conflict"


class ProviderNotAllowedError(APIError):
    """The user's tier may not use the provider the request needs."""

    status, code = 403, "provider_not_allowed"


class InvalidRequestError(APIError):
    """The request is well-formed but asks for something that cannot be done."""

    status, code = 422, "validation_error"


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable code"})
    message = ma.fields.String(required=True)
    # Named `fields` in the body; the attribute may not shadow Schema.fields.
    failing_fields = ma.fields.Dict(
        data_key="fields",
        keys=ma.fields.String(),
        metadata={
            "description": "Failing fields and their messages; only where fields are to blame",
            "x-optional": True,  # left out of the body otherwise (see api/openapi_document.py)
        },
    )


class ErrorSchema(ma.Schema):
    """The error body every failing route answers with."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


def error_body(code: str, message: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The standard error body."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = dict(fields)
    return {"error": error}


# Every route behind an API key answers these (no key; the database unreachable).
AUTHENTICATED_ERRORS = (401, 503)


def documented_errors(
    blp: Blueprint, *statuses: int
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the error bodies a view answers, beside AUTHENTICATED_ERRORS, in the OpenAPI."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        documented = view
        for status in (*statuses, *AUTHENTICATED_ERRORS):
            alt = blp.alt_response(status, schema="Error", description=f"{status} error")
            documented = alt(documented)
        # Each alt_response wraps the view in a layer that only passes the call on (the
        # views are sync) to carry its doc: about ten layers on every request of the busiest
        # routes. The view itself carries the doc they built.
        view._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return view

    return decorate


class JobsApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering its own errors (parsing, 404, 405...) in our shape,
    with the exact OpenAPI document (api/openapi_document.py)."""

    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(**kwargs)
        # flask-smorest makes a plain APISpec; ours renders the same state, then adds the
        # rules between schemas. A subclass with no state of its own: the swap is safe.
        self.spec.__class__ = ExactSpec

    def handle_http_exception(self, error: HTTPException) -> Any:
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        if status == 422 and messages:
            return (
                error_body("validation_error", "The request is invalid.", _flatten(messages)),
                422,
                data.get("headers", {}),
            )
        if status == 400 and messages:  # webargs: the body is not JSON at all
            return error_body("invalid_json", "The body is not valid JSON."), 400
        # Keep the exception's own headers, e.g. the Allow header a 405 must carry (RFC 9110).
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        if status >= 500:
            body = error_body("internal_error", "Something went wrong on our side.")
            return body, status, headers
        message = data.get("message") or _our_message(status) or error.description or error.name
        return error_body(ERROR_CODES.get(status, "error"), str(message)), status, headers


def _our_message(status: int) -> str | None:
    # Werkzeug's stock texts talk about "the server" and spelling; ours say what to do.
    if status == 404:
        return f"No route {request.method} {request.path}; the routes are in /api/openapi.json."
    if status == 405:
        return f"{request.path} does not take {request.method}; see the Allow header."
    if status == 413:
        return f"The body is larger than this route takes ({request.max_content_length} bytes)."
    return None


def _flatten(messages: Mapping[str, Any]) -> dict[str, Any]:
    # webargs nests by location ({"json": {...}}); clients care about the field names.
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, Mapping):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def register_error_handlers(app: Flask) -> None:
    """Answer our own errors and anything unexpected in the standard shape."""

    @app.errorhandler(APIError)
    def _api_error(exc: APIError) -> Any:
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return error_body(exc.code, exc.message, exc.fields), exc.status, headers

    @app.errorhandler(ma.ValidationError)
    def _invalid(exc: ma.ValidationError) -> Any:
        messages: dict[str, Any] = exc.normalized_messages()  # type: ignore[no-untyped-call]
        body = error_body("validation_error", "The request is invalid.", messages)
        return body, 422

    @app.errorhandler(OperationalError)
    def _database_down(_exc: OperationalError) -> Any:
        # Nothing was accepted: the row is written before any answer says so.
        current_app.logger.warning("database unavailable")
        body = error_body("unavailable", "The service is briefly unavailable; retry shortly.")
        return body, 503, {"Retry-After": "5"}

    # HTTPExceptions never reach this: Flask prefers JobsApi's more specific handler.
    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        current_app.logger.exception("unhandled error")
        return error_body("internal_error", "Something went wrong on our side."), 500
