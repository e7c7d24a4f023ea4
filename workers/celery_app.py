"""The Celery application and the per-process resources its tasks use."""

from __future__ import annotations

from functools import cache

import redis
import requests
from celery import Celery
from celery.signals import beat_init, worker_init, worker_ready
from sqlalchemy.orm import Session, sessionmaker

from celeryconfig import uses_rabbitmq
from models.db import make_engine, make_session_factory
from models.metrics import prepare_dir
from models.settings import get_settings
from models.views import set_storage_urls
from providers.piapi import PiAPIClient, Timeouts
from providers.storage import Storage, open_storage
from workers.broker_checks import (
    declare_queues,
    rabbitmq_version_is_enough,
    redis_eviction_policy_is_safe,
)
from workers.countdowns import BrokerCountdownTask
from workers.log_hooks import JobRequest
from workers.metrics import serve_worker_metrics
from workers.poll_policy import PollPolicy
from workers.polling import Planner, planner
from workers.sweeper import SweepPolicy

app = Celery("videogen", include=["workers.tasks"], task_cls=BrokerCountdownTask)
app.config_from_object("celeryconfig")
# Before any task records a value: multiprocess mode writes there on first use.
prepare_dir(get_settings().metrics_dir)
# Every task's received message notes its job for the log lines (workers/log_hooks.py).
app.Task.Request = JobRequest

# The sandbox accepts any key; a real deployment sets PIAPI_API_KEY.
SANDBOX_KEY = "sandbox"


@cache
def sessions() -> sessionmaker[Session]:
    """This process's session factory, built on first use so forked children own theirs."""
    settings = get_settings()
    return make_session_factory(make_engine(settings.database_url, pool_size=settings.db_pool_size))


@cache
def piapi() -> PiAPIClient:
    """This process's PiAPI client (the sandbox when no key is configured)."""
    settings = get_settings()
    return PiAPIClient(
        settings.piapi_base_url,
        settings.piapi_api_key or SANDBOX_KEY,
        timeouts=Timeouts(settings.piapi_connect_timeout_s, settings.piapi_read_timeout_s),
    )


@cache
def storage() -> Storage:
    """This process's storage backend (STORAGE_URL)."""
    settings = get_settings()
    return open_storage(
        settings.storage_url,
        public_base=settings.storage_public_url,
        url_ttl_s=settings.storage_url_ttl_s,
    )


# Webhook payloads built in workers show stored files' URLs too.
set_storage_urls(lambda key: storage().url(key))


@cache
def media_http() -> requests.Session:
    """The HTTP session that downloads finished files (PiAPI's key is never sent)."""
    return requests.Session()


@cache
def webhook_http() -> requests.Session:
    """The HTTP session that delivers our webhooks (never the PiAPI client's)."""
    return requests.Session()


def webhook_allow_private() -> bool:
    """WEBHOOK_ALLOW_PRIVATE: let webhooks reach loopback and private hosts (local dev)."""
    return get_settings().webhook_allow_private


def piapi_webhook_config() -> dict[str, str] | None:
    """What to ask PiAPI to call back, when PUBLIC_BASE_URL and PIAPI_WEBHOOK_SECRET are set."""
    settings = get_settings()
    if not (settings.public_base_url and settings.piapi_webhook_secret):
        return None
    return {
        "endpoint": settings.public_base_url.rstrip("/") + "/api/webhooks/piapi",
        "secret": settings.piapi_webhook_secret,
    }


@cache
def poll_planner() -> Planner:
    """When to poll a job next: the POLL_* settings, sparse once PiAPI calls us back."""
    settings = get_settings()
    policy = PollPolicy(
        kind=settings.poll_policy,
        fixed_interval_s=settings.poll_interval_s,
        min_interval_s=settings.poll_min_interval_s,
        max_interval_s=settings.poll_max_interval_s,
        near_interval_s=settings.poll_near_interval_s,
        safety_interval_s=settings.poll_safety_interval_s,
        runtime_scale=settings.poll_runtime_scale,
    )
    return planner(policy, webhooks=piapi_webhook_config() is not None)


def sweep_policy() -> SweepPolicy:
    """Grace periods for the sweeper; by default a poll is overdue after four intervals."""
    settings = get_settings()
    return SweepPolicy(
        queued_grace_s=settings.sweep_queued_grace_s,
        submitting_grace_s=settings.sweep_submitting_grace_s,
        poll_grace_s=settings.sweep_poll_grace_s or max(120.0, 4 * settings.poll_interval_s),
    )


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


@worker_init.connect
def _declare_every_queue(**_: object) -> None:
    # Before the consumer starts, so that its delayed-delivery step can bind them all.
    if uses_rabbitmq(get_settings().broker_url):
        with app.connection_for_write() as conn:
            declare_queues(conn, app.amqp.queues.values())


@worker_init.connect
def _serve_metrics(**_: object) -> None:
    serve_worker_metrics(get_settings())
