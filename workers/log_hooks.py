"""Celery's logging in our format, and the job's ids on every line a task logs.

Celery's own lines (worker start, "Task ... received", "... succeeded", retries and
failures) go through the same handler as ours. A message carries its job's id and
PiAPI task id as headers, so the worker knows them before the task runs.
"""

from __future__ import annotations

import logging.config
from collections.abc import Sequence
from typing import Any

from celery import Task
from celery.signals import (
    before_task_publish,
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
)
from celery.worker.request import Request

from infra import log_context
from infra.log_format import logging_config
from infra.settings import get_settings

# Tasks whose first argument is the job id. The others (webhook deliveries, the sweep)
# learn their job, if any, from the message's headers or from the rows they read.
JOB_ID_FIRST = frozenset(
    {
        "workers.tasks.submit_job",
        "workers.tasks.poll_job",
        "workers.tasks.check_job",
        "workers.tasks.cancel_at_piapi",
        "workers.tasks.store_job",
    }
)
JOB_HEADER, TASK_HEADER = "job_id", "piapi_task_id"


def _job_of(task_name: str | None, args: Any) -> Any:
    if task_name in JOB_ID_FIRST and isinstance(args, Sequence) and args:
        return args[0]
    return None


def _configure(level: int | str) -> None:
    settings = get_settings()
    logging.config.dictConfig(
        logging_config(settings.log_format, level=level, secrets=settings.log_secrets)
    )
    logging.captureWarnings(True)  # a warning is a log line too, not loose text on stderr


@setup_logging.connect
def _configure_logging(loglevel: int | str | None = None, **_: object) -> None:
    # Connecting here tells Celery not to install its own handlers at all.
    _configure(loglevel or "INFO")


@celeryd_init.connect
def _early_worker_logging(instance: Any = None, **_: object) -> None:
    # Before the worker's own checks, whose warnings would otherwise print as plain text.
    _configure("INFO")
    if instance is not None and get_settings().log_format == "json":
        instance.quiet = True  # the start-up banner is a block of plain-text lines


@before_task_publish.connect
def _carry_job_ids(
    sender: str | None = None,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    **_: object,
) -> None:
    if headers is None:
        return
    bound = log_context.current()
    args = body[0] if isinstance(body, tuple | list) and body else None
    job_id = _job_of(sender, args) or bound.get("job_id")
    if job_id is None:
        return
    headers.setdefault(JOB_HEADER, job_id)
    if bound.get("job_id") == job_id and bound.get("task_id"):
        headers.setdefault(TASK_HEADER, bound["task_id"])


class JobRequest(Request):
    """A received task message; notes its job so Celery's "received" line can name it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        headers = self.request_dict
        log_context.remember(
            self.id,
            job_id=headers.get(JOB_HEADER) or _job_of(self.name, headers.get("args")),
            task_id=headers.get(TASK_HEADER),
        )


@task_prerun.connect
def _bind_task(
    task_id: str | None = None, task: Task[Any, Any] | None = None, args: Any = None, **_: object
) -> None:
    log_context.clear()
    if task is None:
        return
    request = task.request
    log_context.bind(
        job_id=getattr(request, JOB_HEADER, None) or _job_of(task.name, args),
        task_id=getattr(request, TASK_HEADER, None),
        celery_task_id=task_id,
        celery_task=task.name,
    )


@task_postrun.connect
def _unbind_task(**_: object) -> None:
    log_context.clear()
