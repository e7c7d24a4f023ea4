"""The one way any process hands work to the workers: a message naming a task, sent by name.

Every message is only a nudge: the row in Postgres is the truth, and each task reads it
before acting, so a message that is lost, duplicated or late changes nothing it should not
(the sweeper re-sends what was lost). The API, the sweeper and the tasks all send through a
`Messages`; tests use a recording fake (tests/fakes.py). Sending by name means a sender
needs only a Celery app configured from celeryconfig.py, never the worker's code.
"""

from __future__ import annotations

import math
import uuid
from typing import Any, Protocol

from celery import Celery
from celery.utils.quorum_queues import detect_quorum_queues

from infra import log_context

# Task names, as the workers register them (workers/tasks.py) and celeryconfig.py routes them.
SUBMIT = "workers.tasks.submit_job"
POLL = "workers.tasks.poll_job"
CHECK = "workers.tasks.check_job"
CANCEL_REMOTE = "workers.tasks.cancel_at_piapi"
DELIVER = "workers.tasks.deliver_webhook"
STORE = "workers.tasks.store_job"
SWEEP = "workers.tasks.sweep_jobs"
START_WAITING = "workers.tasks.start_waiting"

# Message headers that name the job, so a worker's log lines carry it before the task runs.
JOB_HEADER, TASK_HEADER = "job_id", "piapi_task_id"


class Messages(Protocol):
    """Every message a process sends to the workers. Each returns once the broker has it."""

    def submit(self, job_id: int) -> None: ...
    def poll(self, job_id: int, token: uuid.UUID, *, countdown: float | None = None) -> None: ...
    def check(self, job_id: int) -> None: ...
    def cancel_remote(self, job_id: int) -> None: ...
    def deliver(
        self, delivery_id: str, attempt: int = 1, *, countdown: float | None = None
    ) -> None: ...
    def store(self, job_id: int, *, countdown: float | None = None) -> None: ...
    def start_waiting(self, *, countdown: float | None = None) -> None: ...


def broker_countdown(countdown: float | None, *, held_by_broker: bool) -> float | None:
    """The countdown to send: whole seconds, at least 1, when the broker holds it.

    Celery's native delayed delivery (RabbitMQ quorum queues) routes a countdown by its
    whole seconds: it truncates 1.9 s to 1 s and refuses anything under 1 s with a
    ValueError. Rounding up keeps every countdown at least as long as asked and never
    fails a poll; elsewhere fractions are kept as they are.
    """
    if not held_by_broker or countdown is None or countdown <= 0:
        return countdown
    return math.ceil(countdown)


def broker_holds_countdowns(app: Celery[Any]) -> bool:
    """True when countdowns wait in the broker (RabbitMQ's native delayed delivery)."""
    # The same test Celery applies before routing a countdown through celery_delayed_*.
    driver = "amqp" if str(app.conf.broker_url).startswith(("amqp", "pyamqp")) else "other"
    return bool(detect_quorum_queues(app, driver)[0])


class CeleryMessages:
    """Messages as Celery task messages, sent by name with keyword arguments.

    Keyword arguments make Flower and `celery inspect` show `{'job_id': 42}`, so an operator
    finds one job's tasks with Flower's search `kwargs:job_id=42`.
    """

    def __init__(self, app: Celery[Any]) -> None:
        self._app = app
        self._held_by_broker: bool | None = None

    def submit(self, job_id: int) -> None:
        self._send(SUBMIT, job_id, {"job_id": job_id})

    def poll(self, job_id: int, token: uuid.UUID, *, countdown: float | None = None) -> None:
        self._send(POLL, job_id, {"job_id": job_id, "token": str(token)}, countdown)

    def check(self, job_id: int) -> None:
        self._send(CHECK, job_id, {"job_id": job_id})

    def cancel_remote(self, job_id: int) -> None:
        self._send(CANCEL_REMOTE, job_id, {"job_id": job_id})

    def deliver(
        self, delivery_id: str, attempt: int = 1, *, countdown: float | None = None
    ) -> None:
        kwargs = {"delivery_id": delivery_id, "attempt": attempt}
        self._send(DELIVER, None, kwargs, countdown)

    def store(self, job_id: int, *, countdown: float | None = None) -> None:
        self._send(STORE, job_id, {"job_id": job_id}, countdown)

    def start_waiting(self, *, countdown: float | None = None) -> None:
        # About no job yet: the worker picks the next in line (workers/starting.py).
        self._send(START_WAITING, None, {}, countdown, names_job=False)

    def _send(
        self,
        name: str,
        job_id: int | None,
        kwargs: dict[str, Any],
        countdown: float | None = None,
        *,
        names_job: bool = True,
    ) -> None:
        bound = log_context.current()
        if job_id is None and names_job:
            job_id = bound.get("job_id")
        headers: dict[str, Any] = {}
        if job_id is not None:
            headers[JOB_HEADER] = job_id
            if bound.get("job_id") == job_id and bound.get("task_id"):
                headers[TASK_HEADER] = bound["task_id"]
        if countdown:
            if self._held_by_broker is None:
                self._held_by_broker = broker_holds_countdowns(self._app)
            countdown = broker_countdown(countdown, held_by_broker=self._held_by_broker)
        self._app.send_task(name, kwargs=kwargs, countdown=countdown or None, headers=headers)


def sender_app() -> Celery[Any]:
    """A Celery app that only sends (the API's): celeryconfig.py's settings, no tasks."""
    app = Celery("videogen")
    app.config_from_object("celeryconfig")
    return app
