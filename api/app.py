"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request, send_from_directory
from sqlalchemy.orm import Session, sessionmaker

from api import account, openapi_fields, piapi_webhooks, uploads, videos
from api.auth import install_auth, install_webhook_secret
from api.cli import register_cli
from api.errors import JobsApi, register_error_handlers
from api.health import install_readiness
from api.job_body import use_storage_urls
from api.library import install_library_page
from api.metrics import install_metrics
from api.request_db import install_request_db
from api.request_guards import install_request_guards
from infra import log_context
from infra.messages import CeleryMessages, Messages, sender_app
from infra.settings import Settings, get_settings
from models.db import make_engine, make_session_factory
from providers.storage import open_storage
from providers.storage.local import LocalStorage

DOCS_ASSETS = "/api/docs-assets/"


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    messages: Messages | None = None,
) -> Flask:
    """Build the WSGI app. Tests pass their own session factory and messages."""
    settings = settings or get_settings()
    factory = session_factory or make_session_factory(
        make_engine(settings.database_url, pool_size=settings.db_pool_size)
    )

    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="Video generation API",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Served from the swagger-ui-bundle package: the docs work with no CDN.
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "info": {"description": "Text- and image-to-video jobs through PiAPI."},
        },
    )
    app.extensions["settings"] = settings
    # A Celery app that only sends, by task name: the API imports none of the workers' code.
    celery = sender_app()
    app.extensions["celery"] = celery
    app.extensions["messages"] = messages or CeleryMessages(celery)
    install_metrics(app, settings)  # first, so its clock starts before any other hook

    @app.before_request
    def _log_the_job() -> None:
        # Every line of a request about one job carries its id, gunicorn's access line
        # included (gunicorn.conf.py clears the fields after it).
        log_context.clear()
        log_context.bind(job_id=(request.view_args or {}).get("video_id"))

    install_webhook_secret(app)  # before the body guards: no secret, no judging the body
    install_request_guards(app)

    install_request_db(app, factory)
    install_auth(app, factory, cache_ttl_s=settings.auth_cache_s)

    api = JobsApi(app)
    openapi_fields.install(app, api)  # before any route: the {video_id} converter
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme(
        "webhookSecret",
        {
            "type": "apiKey",
            "in": "header",
            "name": "x-webhook-secret",
            "description": "PIAPI_WEBHOOK_SECRET, which PiAPI sends back with every delivery",
        },
    )
    for blueprint in (videos.blp, account.blp, piapi_webhooks.blp, uploads.blp):
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    register_cli(app, factory)

    storage = open_storage(
        settings.storage_url,
        public_base=settings.storage_public_url,
        url_ttl_s=settings.storage_url_ttl_s,
    )
    app.extensions["storage"] = storage

    @app.before_request
    def _stored_urls() -> None:
        use_storage_urls(storage.url)

    install_library_page(app, settings, storage.url)

    if isinstance(storage, LocalStorage):
        # The embedded storage is served here; keys hold a random part, so a URL is
        # a capability, like a pre-signed S3 URL.
        @app.get("/media/<path:key>")
        def media(key: str) -> Response:
            return send_from_directory(storage.root, key, conditional=True)

    @app.get(f"{DOCS_ASSETS}<path:name>")
    def docs_assets(name: str) -> Response:
        import swagger_ui_bundle

        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    install_readiness(app, settings, factory)
    return app
