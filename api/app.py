"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy.orm import Session, sessionmaker

from api import videos
from api.errors import JobsApi, error_body, register_error_handlers
from models.db import make_engine, make_session_factory
from models.settings import Settings, get_settings

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _enqueue_with_celery(job_id: int) -> None:
    from workers.tasks import submit_job  # imported late: only the API process needs it

    submit_job.delay(job_id)


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    enqueue_submit: Callable[[int], None] | None = None,
) -> Flask:
    """Build the WSGI app. Tests pass their own session factory and enqueue function."""
    settings = settings or get_settings()
    factory = session_factory or make_session_factory(make_engine(settings.database_url))

    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="Video generation API",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.extensions["settings"] = settings
    app.extensions["enqueue_submit"] = enqueue_submit or _enqueue_with_celery

    @app.before_request
    def _require_json() -> Any:
        if request.method in _BODY_METHODS and not request.is_json:
            return error_body("unsupported_media_type", "Send the body as application/json."), 415
        g.db = factory()
        return None

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        if (db := g.pop("db", None)) is not None:
            db.close()  # anything not committed is rolled back here

    @app.after_request
    def _no_sniff(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    api = JobsApi(app)
    api.register_blueprint(videos.blp)
    register_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app
