"""Celery settings, read by `app.config_from_object("celeryconfig")`.

Job state lives in Postgres; a message only nudges a worker to look at a row. The
settings below follow from that.
"""

from __future__ import annotations

from pathlib import Path

from kombu import Exchange, Queue

from models.settings import get_settings

_settings = get_settings()

broker_url = _settings.broker_url
broker_connection_retry_on_startup = True

if broker_url.startswith("filesystem://"):
    # The embedded default: messages are files in a shared folder, so the API, the
    # workers and beat on one machine need no broker server.
    _folder = Path(_settings.data_dir, "broker")
    for _sub in ("queue", "control"):
        (_folder / _sub).mkdir(parents=True, exist_ok=True)
    broker_transport_options = {
        "data_folder_in": str(_folder / "queue"),
        "data_folder_out": str(_folder / "queue"),
        "control_folder": str(_folder / "control"),
        "store_processed": False,
    }

task_serializer = "json"
accept_content = ["json"]
task_ignore_result = True  # results live in video_generations, not a result backend
result_backend = None

# A task is acknowledged after it ran, and handed back if its worker dies: safe
# because every task reads the row first and writes only by compare-and-set.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# One direct exchange per queue, so a message for one pool never lands in another.
task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in ("submit", "poll"))
task_default_queue = "submit"
task_routes = {
    "workers.tasks.submit_job": {"queue": "submit"},
    "workers.tasks.poll_job": {"queue": "poll"},
    "workers.tasks.sweep_jobs": {"queue": "submit"},
}

# Run exactly one beat process (the Procfile and docker-compose.yml each have one).
beat_schedule = {
    "sweep-jobs": {
        "task": "workers.tasks.sweep_jobs",
        "schedule": _settings.sweep_interval_s,
        # A sweep that waited longer than one interval is superseded by the next.
        "options": {"expires": _settings.sweep_interval_s},
    }
}

# Flower and `celery events` see every task, with the job id in its arguments.
worker_send_task_events = True
task_send_sent_event = True
worker_hijack_root_logger = False
