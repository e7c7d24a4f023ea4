"""Follow one job until it ends: a live bar on a terminal, a line per change in a pipe."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.text import Text

from client.api import APIError, UnreachableError, VideoClient
from client.render import format_duration, parse_time, status_text

FINAL = frozenset({"completed", "failed", "canceled"})
# Consecutive unanswered polls tolerated (a restarting API, a 503 while the database is
# away) before giving up: the job itself goes on either way.
MAX_MISSED_POLLS = 5


def elapsed_s(job: dict[str, Any], now: dt.datetime | None = None) -> float:
    """Seconds from the job's creation to its end, or to now while it runs."""
    created = parse_time(job.get("created_at"))
    if created is None:
        return 0.0
    end = parse_time(job.get("completed_at")) if job.get("status") in FINAL else None
    return ((end or now or dt.datetime.now(dt.UTC)) - created).total_seconds()


def progress_of(job: dict[str, Any]) -> int:
    """The bar's position: PiAPI's percentage, and 100 once the job completed."""
    return 100 if job.get("status") == "completed" else int(job.get("progress") or 0)


class _Elapsed(ProgressColumn):
    """Time since the job was created (not since we started watching), ticking live."""

    def render(self, task: Task) -> Text:
        return Text(format_duration(elapsed_s(task.fields["job"])), style="progress.elapsed")


class _Status(ProgressColumn):
    def render(self, task: Task) -> Text:
        return status_text(str(task.fields["job"].get("status")))


def watch(
    client: VideoClient,
    video_id: str,
    console: Console,
    *,
    interval_s: float = 2.0,
    first: dict[str, Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the status route until the job is final; the last body seen."""
    polls = _Poller(client, video_id, console, first, sleep, interval_s)
    if not console.is_terminal:
        return _watch_plain(polls, console)
    columns = (
        TextColumn(f"video {video_id}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        _Status(),
        _Elapsed(),
    )
    with Progress(*columns, console=console, refresh_per_second=4) as bar:
        job = polls.next()
        task = bar.add_task("job", total=100, completed=progress_of(job), job=job)
        while job.get("status") not in FINAL:
            job = polls.next()
            bar.update(task, completed=progress_of(job), job=job)
    return job


def _watch_plain(polls: _Poller, console: Console) -> dict[str, Any]:
    shown: tuple[Any, ...] = ()
    while True:
        job = polls.next()
        seen = (job.get("status"), progress_of(job))
        if seen != shown:
            console.print(plain_line(job), highlight=False)
            shown = seen
        if job.get("status") in FINAL:
            return job


def plain_line(job: dict[str, Any]) -> str:
    """video 12: processing 40% (elapsed 0:00:03)"""
    return (
        f"video {job.get('video_id')}: {job.get('status')} {progress_of(job)}% "
        f"(elapsed {format_duration(elapsed_s(job))})"
    )


class _Poller:
    """Hands out status bodies one interval apart, riding out a few missed polls."""

    def __init__(
        self,
        client: VideoClient,
        video_id: str,
        console: Console,
        first: dict[str, Any] | None,
        sleep: Callable[[float], None],
        interval_s: float,
    ) -> None:
        self._client, self._id, self._console = client, video_id, console
        self._pending, self._sleep, self._interval_s = first, sleep, interval_s
        self._polled = first is not None  # the generate body counts as the first poll

    def next(self) -> dict[str, Any]:
        if self._pending is not None:
            job, self._pending = self._pending, None
            return job
        missed = 0
        while True:
            if self._polled:
                self._sleep(self._interval_s)
            self._polled = True
            try:
                return dict(self._client.status(self._id))
            except (APIError, UnreachableError) as exc:
                if isinstance(exc, APIError) and not exc.transient:
                    raise
                missed += 1
                if missed > MAX_MISSED_POLLS:
                    raise UnreachableError(
                        f"gave up watching after {missed} failed polls: {exc}"
                    ) from None
                self._console.print(Text(f"poll failed ({exc}); trying again", style="yellow"))
