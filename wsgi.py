"""WSGI entry points: `gunicorn wsgi:app` (the API), `gunicorn 'wsgi:sandbox()'` (the sandbox)."""

from __future__ import annotations

from flask import Flask

from api.app import create_app
from infra.settings import get_settings
from providers.sandbox.app import create_sandbox_app
from providers.sandbox.engine import Sandbox
from providers.sandbox.faults import FaultPlan

app = create_app()


def sandbox() -> Flask:
    """The PiAPI sandbox, configured from SANDBOX_* settings."""
    settings = get_settings()
    return create_sandbox_app(
        Sandbox(
            public_url=settings.sandbox_public_url,
            time_scale=settings.sandbox_time_scale,
            fail_rate=settings.sandbox_fail_rate,
            runtime_spread=settings.sandbox_runtime_spread,
            fetch_images=settings.sandbox_fetch_images,
            max_concurrent_tasks=settings.sandbox_max_concurrent_tasks,
        ),
        faults=FaultPlan.parse(settings.sandbox_faults),
    )
