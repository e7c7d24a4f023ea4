"""A Celery worker's own /metrics: one port per worker, whatever its pool.

The worker's main process serves the port. With a prefork pool the tasks run in child
processes, so the worker needs PROMETHEUS_MULTIPROC_DIR (a folder of its own): the
children write their values there and each scrape adds them up. Thread pools run tasks
in the main process and need no folder, though one does no harm.
"""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from infra.metrics import scrape_registry
from infra.settings import Settings

log = logging.getLogger(__name__)


def serve_worker_metrics(settings: Settings) -> int | None:
    """Start the metrics endpoint on WORKER_METRICS_PORT; the port, or None if not serving.

    A port that is taken is logged and skipped: metrics never stop a worker from working.
    """
    port = settings.worker_metrics_port
    if port is None:
        return None
    try:
        start_http_server(
            port, addr=settings.worker_metrics_host, registry=scrape_registry(settings.metrics_dir)
        )
    except OSError as exc:
        log.warning("worker metrics not served: port %s: %s", port, exc.strerror or exc)
        return None
    log.info("worker metrics at http://%s:%s/metrics", settings.worker_metrics_host, port)
    return port
