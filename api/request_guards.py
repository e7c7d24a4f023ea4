"""What every request passes before a view sees it, and every answer carries on its way out.

Bad bytes get a 4xx here, once, for every route (PiAPI's webhook included): JSON nested
deeper than any body of ours, and text that Postgres cannot store (NUL) or that is not
Unicode at all (a lone UTF-16 surrogate such as "\\ud800", which JSON allows and UTF-8
cannot encode). Without this they reached the database driver or the JSON parser's
recursion limit and became 500s.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, request

from api.errors import error_body

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Our deepest body is two levels (options inside a request; data inside PiAPI's envelope).
MAX_JSON_DEPTH = 32
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
BAD_TEXT_MESSAGE = "Must not contain NUL characters or unpaired UTF-16 surrogates."
BAD_KEY_MESSAGE = "Keys must not contain NUL characters or unpaired UTF-16 surrogates."
# The interactive docs and the OpenAPI document are the same for everyone: they may be cached.
_CACHEABLE = ("/api/docs", "/api/openapi.json", "/api/docs-assets/")
# Routes whose body is required and is JSON; any other body sent to us must be JSON too,
# except where a route takes files.
JSON_REQUIRED = ("/api/video/generate", "/api/video/quote")
FILE_ROUTES = ("/api/uploads",)


class _TooDeepError(ValueError):
    pass


def bad_text_fields(value: Any, path: str = "", depth: int = 0) -> dict[str, list[str]]:
    """Where a parsed JSON value holds text we refuse: {"a.b": [message]}; raises past the depth."""
    if depth > MAX_JSON_DEPTH:
        raise _TooDeepError
    found: dict[str, list[str]] = {}
    if isinstance(value, str):
        if _BAD_TEXT.search(value):
            found[path or "body"] = [BAD_TEXT_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            # A bad key is reported without its own text, which could not be printed anyway.
            where = f"{path}.{key}" if path else str(key)
            if _BAD_TEXT.search(key):
                found[path or "body"] = [
                    "Keys " + BAD_TEXT_MESSAGE[0].lower() + BAD_TEXT_MESSAGE[1:]
                ]
                continue
            found.update(bad_text_fields(item, where, depth + 1))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(bad_text_fields(item, f"{path}[{index}]", depth + 1))
    return found


def check_body() -> tuple[dict[str, Any], int] | None:
    """The error answer for a JSON body we refuse outright, or None to go on."""
    if request.method not in _BODY_METHODS or not request.is_json or not request.content_length:
        return None
    try:
        parsed = json.loads(request.get_data(cache=True))
        fields = bad_text_fields(parsed)
    except (RecursionError, _TooDeepError):
        message = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."
        return error_body("invalid_json", message), 400
    except ValueError:
        return None  # not JSON at all: the route's own parser answers invalid_json
    if fields:
        return error_body("validation_error", "The request is invalid.", fields), 422
    return None


def install_request_guards(app: Flask) -> None:
    """Refuse bad bodies and unknown routes early; set the headers every answer needs."""

    @app.before_request
    def _guard_body() -> Any:
        if request.routing_exception is not None:
            return None  # an unknown route or method is a 404/405 whatever its body
        if request.method in _BODY_METHODS and request.path not in FILE_ROUTES:
            sent = bool(request.content_length)
            if (sent and not request.is_json) or (not sent and request.path in JSON_REQUIRED):
                message = "Send the body as application/json."
                return error_body("unsupported_media_type", message), 415
        return check_body()

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        # No page of ours is meant to be framed (clickjacking of the docs' Authorize dialog).
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/") and not request.path.startswith(_CACHEABLE):
            # Authenticated answers carry job data and, on /api/account, the signing secret.
            resp.headers["Cache-Control"] = "no-store"
        if request.path.startswith("/api/docs") and "Content-Security-Policy" not in resp.headers:
            resp.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return resp
