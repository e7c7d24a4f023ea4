"""Celery settings, read by `app.config_from_object("celeryconfig")`.

Job state lives in Postgres; a message only nudges a worker to look at a row. Every
choice below follows from that, and says why. The API, the workers, beat and Flower all
load this one module, so each setting is the same in every place Celery reads it.
"""

from __future__ import annotations

from pathlib import Path

from kombu import Exchange, Queue

from infra.settings import get_settings

QUEUE_NAMES = ("submit", "poll", "callbacks", "store")
RABBITMQ_SCHEMES = ("amqp://", "amqps://", "pyamqp://")
# A quorum queue drops a message delivered this many times without an ack (a task that
# kills its worker every time). RabbitMQ 4 defaults to 20; 3.x has no limit. The sweeper
# re-drives the job of a dropped message, as it does after any lost one.
QUORUM_DELIVERY_LIMIT = 20


def uses_rabbitmq(url: str) -> bool:
    """True when the broker URL names RabbitMQ (AMQP 0-9-1)."""
    return url.startswith(RABBITMQ_SCHEMES)


def task_queues_for(url: str) -> tuple[Queue, ...]:
    """Our four queues, each with its own exchange so one pool never gets another's messages.

    On RabbitMQ they are quorum queues (replicated, and the only kind Celery's native
    delayed delivery serves) on topic exchanges: that delivery re-routes a due message
    through a topic binding and cannot use direct exchanges. A countdown then waits in
    the broker's celery_delayed_* queues instead of in the memory of a worker.
    Elsewhere they are plain queues on direct exchanges.
    """
    if not uses_rabbitmq(url):
        return tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUE_NAMES)
    quorum = {"x-queue-type": "quorum", "x-delivery-limit": QUORUM_DELIVERY_LIMIT}
    return tuple(
        Queue(name, Exchange(name, type="topic"), routing_key=name, queue_arguments=quorum)
        for name in QUEUE_NAMES
    )


_settings = get_settings()

broker_url = _settings.broker_url
broker_connection_retry_on_startup = True
# Keep retrying a lost broker forever: a restarted Redis must not stop a worker.
broker_connection_max_retries = None

# The longest a message may legitimately wait unacknowledged: a countdown of at most
# the backoff cap (300 s) or one poll interval, plus a task's hard time limit.
# Redis redelivers any message unacknowledged for longer than its visibility timeout,
# so that timeout is set well above (1 h): a duplicate would be harmless (every task
# re-checks the row, and poll chains carry a token) but wasteful. After a worker is
# killed, its messages come back only after this hour; the sweeper re-drives the jobs
# long before that (see workers/sweeper.py).
VISIBILITY_TIMEOUT_S = 3600

if broker_url.startswith("filesystem://"):
    # The embedded default: messages are files in a shared folder, so the API, the
    # workers and beat on one machine need no broker server. kombu's own transport lets
    # a consumer take a message before its body is written (see infra/file_broker.py).
    broker_transport = "infra.file_broker:Transport"
    _folder = Path(_settings.data_dir, "broker")
    for _sub in ("queue", "control"):
        (_folder / _sub).mkdir(parents=True, exist_ok=True)
    broker_transport_options = {
        "data_folder_in": str(_folder / "queue"),
        "data_folder_out": str(_folder / "queue"),
        "control_folder": str(_folder / "control"),
        "store_processed": False,
    }
elif uses_rabbitmq(broker_url):
    # Publisher confirms: without them a busy quorum queue silently dropped about 10 % of
    # 30,000 countdown polls published in a burst (RabbitMQ 3.10, measured); with them a
    # publish either lands in the queue or fails where the caller sees it.
    broker_transport_options = {"confirm_publish": True}
else:
    broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT_S}
    if broker_url.startswith("redis://"):
        # kombu's own transport builds a Redis client per message sent, which cost more
        # CPU than the send (infra/redis_broker.py). Not for rediss://: kombu turns TLS
        # on from that scheme's name, which a transport given as a class does not carry.
        broker_transport = "infra.redis_broker:Transport"

# Publishing from the API must not hang a request when the broker is down: the job
# row is already committed and the sweeper re-enqueues it.
task_publish_retry_policy = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}

task_serializer = "json"
accept_content = ["json"]
task_ignore_result = True  # results live in video_generations, not a result backend
result_backend = None

# A task is acknowledged after it ran, and handed back if its worker process dies:
# safe because every task reads the row first and writes only by compare-and-set.
task_acks_late = True
task_reject_on_worker_lost = True
# One message at a time per process: submits are few and slow to answer, and an
# idle process should not hoard them.
worker_prefetch_multiplier = 1
# Countdown messages are not bounded by prefetch: a poll worker holds every poll it
# has received until its countdown ends. Past this many, it stops taking more and
# they wait in the broker instead of in memory. (On RabbitMQ they wait in the broker
# from the start, and the prefetch is a fixed count per consumer.)
worker_eta_task_limit = 10_000

# Tasks are short: one PiAPI call (connect + read timeouts, 35 s by default) and a
# few row updates. A task stuck past these limits is killed, and the job is picked up
# by its retry or by the sweeper.
task_soft_time_limit = 60
task_time_limit = 90

# SIGTERM is a warm shutdown: running tasks finish, and unacknowledged messages,
# including countdown polls held in memory (on Redis; RabbitMQ's never leave the
# broker early), go back to the broker. A cold shutdown
# (SIGQUIT, or REMAP_SIGTERM=SIGQUIT in containers) first waits this long for the
# running tasks, which is more than a task needs with default timeouts.
worker_soft_shutdown_timeout = 40.0
worker_enable_soft_shutdown_on_idle = True

task_queues = task_queues_for(broker_url)
if uses_rabbitmq(broker_url):
    # Anything declared beyond task_queues (a default queue, a missing one) is quorum
    # on a topic exchange too, so every countdown can wait in the broker.
    task_default_queue_type = "quorum"
    task_default_exchange_type = "topic"
    # The celery_delayed_* queues that hold countdown messages are replicated like ours.
    broker_native_delayed_delivery_queue_type = "quorum"
    # Quorum queues refuse global QoS: detecting them makes the prefetch per consumer.
    worker_detect_quorum_queues = True
task_default_queue = "submit"
task_routes = {
    "workers.tasks.submit_job": {"queue": "submit"},
    "workers.tasks.poll_job": {"queue": "poll"},
    "workers.tasks.check_job": {"queue": "poll"},
    "workers.tasks.cancel_at_piapi": {"queue": "poll"},
    "workers.tasks.deliver_webhook": {"queue": "callbacks"},
    "workers.tasks.store_job": {"queue": "store"},
    "workers.tasks.sweep_jobs": {"queue": "submit"},
    "workers.tasks.start_waiting": {"queue": "submit"},
}

# A sweep that waited in the submit queue longer than this is dropped: a newer one is
# behind it. Not a single interval: a submit backlog of a few seconds (after a database
# restart, the chaos run saw 6-14 s) then dropped every sweep for a minute, stopping the
# safety net when it was most needed. A few stale sweeps in a row cost only their queries.
SWEEP_EXPIRES_S = max(60.0, 4 * _settings.sweep_interval_s)

# Run exactly one beat process (the Procfile and docker-compose.yml each have one).
# Two would only sweep twice as often: each sweep takes rows by compare-and-set.
beat_schedule = {
    "sweep-jobs": {
        "task": "workers.tasks.sweep_jobs",
        "schedule": _settings.sweep_interval_s,
        "options": {"expires": SWEEP_EXPIRES_S},
    }
}

# Flower and `celery events` see every task, with the job id in its arguments.
worker_send_task_events = True
task_send_sent_event = True
worker_hijack_root_logger = False
