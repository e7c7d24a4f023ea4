"""Which job a log line is about: the job id, PiAPI's task id and Celery's task id.

The API binds them once a request names a job; the workers bind them when a task starts
(workers/log_hooks.py) and when PiAPI hands out a task id. The log formatter
(infra/log_format.py) copies whatever is bound onto every line.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Field names as they appear on a log line. task_id is PiAPI's, as in the job body.
FIELDS = ("job_id", "task_id", "celery_task_id", "celery_task")

_vars: dict[str, ContextVar[Any]] = {
    name: ContextVar(f"log_{name}", default=None) for name in FIELDS
}

# Celery logs "Task ... received" before any task hook runs, so the job of each received
# Celery task is remembered here (workers/log_hooks.py) and looked up by its id.
_REMEMBERED_MAX = 10_000
_remembered: OrderedDict[str, dict[str, Any]] = OrderedDict()


def bind(**fields: Any) -> None:
    """Attach these fields (None values are skipped) to every line logged from here on."""
    for name, value in fields.items():
        if value is not None:
            _vars[name].set(value)


def clear() -> None:
    """Forget every field (a new request or task begins, or one has ended)."""
    for var in _vars.values():
        var.set(None)


def current() -> dict[str, Any]:
    """The fields bound now, without the unset ones."""
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind fields for the length of a block, then restore what was bound before."""
    tokens = [_vars[name].set(value) for name, value in fields.items() if value is not None]
    try:
        yield
    finally:
        for token in reversed(tokens):
            token.var.reset(token)


def remember(celery_task_id: str, **fields: Any) -> None:
    """Note the job fields of a Celery task, for lines that only know the task's id."""
    fields = {name: value for name, value in fields.items() if value is not None}
    if not fields:
        return
    _remembered[celery_task_id] = fields
    while len(_remembered) > _REMEMBERED_MAX:
        _remembered.popitem(last=False)


def recall(celery_task_id: str) -> dict[str, Any]:
    """The job fields remembered for a Celery task, or none."""
    return dict(_remembered.get(celery_task_id, {}))
