"""The sandbox's tasks: each moves pending -> processing -> completed or failed on a clock."""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.sandbox import rules
from providers.sandbox.images import FetchedImage, fetch_image
from providers.sandbox.outputs import SAMPLE_SIZE, ZERO_TIME, output_for

__all__ = [
    "FAIL_MARKER",
    "SAMPLE_SIZE",
    "ZERO_TIME",
    "CancelRefusedError",
    "OverLimitError",
    "Sandbox",
    "SandboxTask",
    "TaskNotFoundError",
]

FAIL_MARKER = "[sandbox:fail]"  # put in a script to make that task fail
FAILURE_ERROR = {
    "code": 10000,
    "raw_message": "sandbox: generation failed",
    "message": "task failed: the sandbox was told to fail this task",
    "detail": None,
}


class TaskNotFoundError(KeyError):
    """No task with that id."""


class CancelRefusedError(RuntimeError):
    """PiAPI cancels only tasks that are still pending."""


class OverLimitError(RuntimeError):
    """The plan's limit of tasks pending or processing at once is reached (PiAPI's 429)."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"too many tasks at once: the plan allows {limit}")
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class SandboxTask:
    """One task as the sandbox holds it; its status is derived from the clock."""

    task_id: str
    accepted: rules.Accepted
    body: Mapping[str, Any]
    created_wall: dt.datetime
    created_mono: float
    pending_s: float
    run_s: float
    fails: bool
    canceled_at: float | None = None
    polls: int = 0
    images: tuple[FetchedImage, ...] = ()  # the input images fetched, with fetch_images
    error: Mapping[str, Any] | None = None  # why it fails, when not FAILURE_ERROR


@dataclass
class Sandbox:
    """Holds tasks in memory, thread-safe; time_scale shrinks PiAPI's observed durations."""

    public_url: str
    time_scale: float = 1.0
    fail_rate: float = 0.0
    # PiAPI's runtimes vary from task to task: each is drawn within +/- this share.
    runtime_spread: float = 0.0
    # Download each input image at create, as PiAPI does; a bad one fails the task.
    # Off by default: tests and local runs send URLs nothing serves.
    fetch_images: bool = False
    image_timeout_s: float = 5.0
    # PiAPI's plan limit: a create while this many tasks are pending or processing gets a
    # 429 (None: no limit). Every refusal is counted in refused_over_limit.
    max_concurrent_tasks: int | None = None
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    _tasks: dict[str, SandboxTask] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    create_calls: int = 0  # tasks created (accepted create calls)
    refused_over_limit: int = 0  # create calls refused with 429 by max_concurrent_tasks
    # With a limit: the tasks that may still be pending or processing (pruned at each create).
    _running: list[SandboxTask] = field(default_factory=list)
    # Every create call by prompt, refused or not: what a client tried to pay for.
    create_attempts: dict[str, int] = field(default_factory=dict)

    def note_create_attempt(self, body: Any, *, refused: bool) -> None:
        """Count one create call, before deciding whether it is refused."""
        prompt = ""
        if isinstance(body, Mapping) and isinstance(body.get("input"), Mapping):
            prompt = str(body["input"].get("prompt", ""))
        with self._lock:
            self.create_attempts[prompt] = self.create_attempts.get(prompt, 0) + 1

    def create(self, body: Any) -> dict[str, Any]:
        """Accept a create-task body (or raise rules.RequestRejectedError); answer its envelope."""
        accepted = rules.check_request(body)
        runtime = accepted.runtime_s * self.time_scale
        if self.runtime_spread:
            runtime *= self.rng.uniform(1 - self.runtime_spread, 1 + self.runtime_spread)
        # Some tasks wait a while in pending/staged before running, as on PiAPI.
        pending = runtime * self.rng.uniform(0.05, 0.2)
        prompt = str(body["input"].get("prompt", ""))
        images = self._fetch_images(accepted)
        unusable = next((image for image in images if image.error), None)
        task = SandboxTask(
            task_id=str(uuid.uuid4()),
            accepted=accepted,
            body=body,
            created_wall=dt.datetime.now(dt.UTC),
            created_mono=self.clock(),
            pending_s=pending,
            # An image PiAPI cannot use fails the task as soon as it would start.
            run_s=0.0 if unusable else runtime - pending,
            fails=unusable is not None
            or FAIL_MARKER in prompt
            or self.rng.random() < self.fail_rate,
            images=images,
            error=_image_error(unusable.error) if unusable and unusable.error else None,
        )
        with self._lock:
            self._check_limit()
            self.create_calls += 1
            self._tasks[task.task_id] = task
            if self.max_concurrent_tasks is not None:
                self._running.append(task)
        return self._envelope(task)

    def _check_limit(self) -> None:
        # Under the lock: the count and the creation are one step, as at PiAPI.
        if self.max_concurrent_tasks is None:
            return
        now = self.clock()
        self._running = [t for t in self._running if self._ends_in(t, now) > 0]
        if len(self._running) >= self.max_concurrent_tasks:
            self.refused_over_limit += 1
            soonest = min(self._ends_in(t, now) for t in self._running)
            raise OverLimitError(self.max_concurrent_tasks, max(1, math.ceil(soonest)))

    @staticmethod
    def _ends_in(task: SandboxTask, now: float) -> float:
        if task.canceled_at is not None:
            return 0.0
        return task.pending_s + task.run_s - (now - task.created_mono)

    def _fetch_images(self, accepted: rules.Accepted) -> tuple[FetchedImage, ...]:
        if not self.fetch_images:
            return ()
        return tuple(
            fetch_image(name, url, timeout_s=self.image_timeout_s)
            for name, url in accepted.images.items()
        )

    def get(self, task_id: str, *, count: bool = True) -> dict[str, Any]:
        """The task envelope as GET /api/v1/task/{id} answers it.

        count=False for the sandbox's own reads (a webhook's body): polls counts only the
        GETs a client made.
        """
        task = self._find(task_id)
        if count:
            with self._lock:
                task.polls += 1
        return self._envelope(task)

    def cancel(self, task_id: str) -> None:
        """Cancel a pending task, or raise CancelRefusedError as PiAPI does past pending."""
        task = self._find(task_id)
        with self._lock:
            if self._status(task) != "pending":
                raise CancelRefusedError("only tasks in the pending state can be canceled")
            task.canceled_at = self.clock()

    def seconds_until_end(self, task_id: str) -> float | None:
        """How long until this task ends on the sandbox's clock; None if it has ended."""
        task = self._find(task_id)
        left = task.pending_s + task.run_s - (self.clock() - task.created_mono)
        return left if left > 0 else None

    def outcome(self, task_id: str) -> str:
        """The verdict this task has or will have: completed, failed or canceled (for tests)."""
        task = self._find(task_id)
        if task.canceled_at is not None:
            return "canceled"
        return "failed" if task.fails else "completed"

    def summary(self) -> list[dict[str, Any]]:
        """Every task with its current status and truth, for tests and the chaos report."""
        with self._lock:
            tasks = list(self._tasks.values())
        return [
            {
                "task_id": t.task_id,
                "model": t.accepted.model,
                "task_type": t.accepted.task_type,
                "prompt": t.body["input"].get("prompt", ""),
                "input": dict(t.body["input"]),
                "status": self._status(t),
                "outcome": self.outcome(t.task_id),
                "polls": t.polls,
                # When it ends (or ended) on the sandbox's clock: the bench's detection lag.
                "ends_at": self._wall(t, t.pending_s + t.run_s),
                # What each input image URL served, with fetch_images (else empty).
                "images": [image.as_dict() for image in t.images],
            }
            for t in tasks
        ]

    def _find(self, task_id: str) -> SandboxTask:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    def _status(self, task: SandboxTask) -> str:
        if task.canceled_at is not None:
            return "failed"
        elapsed = self.clock() - task.created_mono
        if elapsed < task.pending_s:
            return "pending"
        if elapsed < task.pending_s + task.run_s:
            return "processing"
        return "failed" if task.fails else "completed"

    def _envelope(self, task: SandboxTask) -> dict[str, Any]:
        status = self._status(task)
        points = task.accepted.points
        started = self._wall(task, task.pending_s) if status != "pending" else ZERO_TIME
        ended = (
            self._wall(task, task.pending_s + task.run_s)
            if status in ("completed", "failed")
            else ZERO_TIME
        )
        error = {"code": 0, "raw_message": "", "message": "", "detail": None}
        if status == "failed":
            error = dict(task.error or FAILURE_ERROR)
            if task.canceled_at is not None:
                error = {**FAILURE_ERROR, "message": "task canceled"}
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "model": task.accepted.model,
            "task_type": task.accepted.task_type,
            "status": status,
            "config": {
                "service_mode": "",
                "webhook_config": {"endpoint": "", "secret": ""},
                **dict(task.body.get("config") or {}),
            },
            "input": dict(task.body["input"]),
            "output": self._output(task, status),
            "meta": {
                "created_at": _rfc3339_nanos(task.created_wall),
                "started_at": started,
                "ended_at": ended,
                "usage": {
                    "type": "point",
                    "frozen": points,
                    "consume": points if status == "completed" else 0,
                },
                "is_using_private_pool": False,
            },
            "detail": None,
            "logs": [],
            "error": error,
        }
        return {"code": 200, "message": "success", "data": data}

    def _output(self, task: SandboxTask, status: str) -> dict[str, Any] | None:
        run_elapsed = self.clock() - task.created_mono - task.pending_s
        done_share = min(1.0, max(0.0, run_elapsed / task.run_s)) if task.run_s > 0 else 0.0
        return output_for(
            task.accepted.model,
            task.body["input"],
            status,
            done_share,
            f"{self.public_url.rstrip('/')}/media/{task.task_id}",
        )

    def _wall(self, task: SandboxTask, offset_s: float) -> str:
        return _rfc3339_nanos(task.created_wall + dt.timedelta(seconds=offset_s))


def _image_error(reason: str) -> dict[str, Any]:
    # PiAPI's failed-task error, saying which image it could not use and why.
    return {"code": 10000, "raw_message": reason, "message": reason, "detail": None}


def _rfc3339_nanos(when: dt.datetime) -> str:
    # PiAPI writes nanoseconds and a Z; Python has microseconds, so pad.
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
