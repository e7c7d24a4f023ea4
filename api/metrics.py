"""GET /metrics for Prometheus, and the per-request counter and latency histogram.

Gunicorn runs the API as several processes, so with PROMETHEUS_MULTIPROC_DIR set each
process writes its values to files there and /metrics adds them up, whichever process
answers (prometheus_client's multiprocess mode). Without it, each process reports its
own values: right only with one worker.

Per request the hooks do one counter increment and one histogram observation, labelled
by the URL rule (`/api/video/status/<digits:video_id>`), never the raw path, so the number
of series stays bounded whatever clients send.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from celery import Celery
from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from infra.metrics import HTTP_LATENCY, HTTP_REQUESTS, prepare_dir, scrape_registry
from infra.queue_depths import QueueDepthCollector
from infra.settings import Settings

UNMATCHED = "<unmatched>"  # any path that matches no route (404s), as one series


def exposition(settings: Settings, *extra: CollectorRegistry) -> bytes:
    """This service's series in Prometheus' text format, added up over processes if needed."""
    registries = (scrape_registry(settings.metrics_dir), *extra)
    return b"".join(generate_latest(registry) for registry in registries)


def install_metrics(
    app: Flask,
    settings: Settings,
    *,
    scrape_time: Callable[[], CollectorRegistry] | None = None,
) -> None:
    """Time every request, and serve GET /metrics (public, like /healthz).

    scrape_time builds, on the first scrape, the collectors read afresh at every scrape
    (queue depths by default; tests pass their own).
    """
    prepare_dir(settings.metrics_dir)
    build_extra = scrape_time or (lambda: queue_depth_registry(current_app.extensions["celery"]))
    extra: list[CollectorRegistry] = []

    @app.before_request
    def _start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(resp: Response) -> Response:
        rule = request.url_rule
        route = rule.rule if rule is not None else UNMATCHED
        HTTP_REQUESTS.labels(request.method, route, str(resp.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return resp

    @app.get("/metrics")
    def metrics() -> Response:
        if not extra:
            extra.append(build_extra())
        return Response(exposition(settings, *extra), content_type=CONTENT_TYPE_LATEST)


def queue_depth_registry(celery: Celery) -> CollectorRegistry:
    """The queue depths of Celery's configured broker, read at every scrape."""
    # Celery's own configuration (celeryconfig.py) says where the broker is and which
    # queues exist.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        QueueDepthCollector(
            celery.conf.broker_url,
            [queue.name for queue in celery.conf.task_queues],
            transport_options=celery.conf.broker_transport_options,
        )
    )
    return registry
