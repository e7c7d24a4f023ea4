"""The Celery application of the workers and beat, and the start-up of a worker process."""

from __future__ import annotations

import redis
from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init, worker_ready

from celeryconfig import uses_rabbitmq
from infra.metrics import prepare_dir
from infra.settings import get_settings
from workers import resources
from workers.broker_checks import (
    declare_queues,
    rabbitmq_version_is_enough,
    redis_eviction_policy_is_safe,
)
from workers.countdowns import BrokerCountdownTask
from workers.log_hooks import JobRequest
from workers.metrics import serve_worker_metrics

# Events never wait for RabbitMQ's confirm: that wait could stop a thread-pool worker
# (workers/event_dispatch.py).
app = Celery(
    "videogen",
    include=["workers.tasks"],
    task_cls=BrokerCountdownTask,
    events="workers.event_dispatch:Events",
)
app.config_from_object("celeryconfig")
# Every task's received message notes its job for the log lines (workers/log_hooks.py).
app.Task.Request = JobRequest  # type: ignore[assignment]  # the stubs say str; a class works

_current: resources.Resources | None = None


def current() -> resources.Resources:
    """This process's resources; built when the worker process started."""
    if _current is None:
        raise RuntimeError("worker resources are built at worker start (worker_init)")
    return _current


@worker_init.connect
def _start_worker(**_: object) -> None:
    global _current  # one set of resources per process, built before any task runs
    settings = get_settings()
    # Before any task records a value: multiprocess mode writes there on first use.
    prepare_dir(settings.metrics_dir)
    if uses_rabbitmq(settings.broker_url):
        # Before the consumer starts, so that its delayed-delivery step can bind them all.
        with app.connection_for_write() as conn:
            declare_queues(conn, app.amqp.queues.values())
    serve_worker_metrics(settings)
    _current = resources.build(settings, app)


@worker_process_init.connect
def _start_pool_process(**_: object) -> None:
    global _current  # a forked child must not share its parent's connections
    _current = resources.build(get_settings(), app)


@worker_ready.connect
@beat_init.connect
def _check_broker(**_: object) -> None:
    url = get_settings().broker_url
    if url.startswith(("redis://", "rediss://")):
        redis_eviction_policy_is_safe(redis.Redis.from_url(url, socket_timeout=5))
    elif uses_rabbitmq(url):
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            rabbitmq_version_is_enough(conn.connection.server_properties)
