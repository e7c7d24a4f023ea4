"""What the scale phase measures besides HTTP load: sweep passes, query plans, the cursor."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request
import uuid
from collections import Counter
from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import Engine

from infra.settings import Settings
from models.db import make_session_factory
from workers.sweeper import SweepPolicy, sweep

PER_PAGE = 20
DEEP_PAGE = 500


class CountingMessages:
    """Stands in for the broker (infra.messages.Messages): counts what a sweep would send."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def submit(self, job_id: int) -> None:
        self.sent["submit"] += 1

    def poll(self, job_id: int, token: uuid.UUID, *, countdown: float | None = None) -> None:
        self.sent["poll"] += 1

    def check(self, job_id: int) -> None:
        self.sent["check"] += 1

    def deliver(
        self, delivery_id: str, attempt: int = 1, *, countdown: float | None = None
    ) -> None:
        self.sent["deliver"] += 1

    def cancel_remote(self, job_id: int) -> None:
        self.sent["cancel_remote"] += 1

    def store(self, job_id: int, *, countdown: float | None = None) -> None:
        self.sent["store"] += 1

    def start_waiting(self, *, countdown: float | None = None) -> None:
        self.sent["start_waiting"] += 1


def headroom_to_make(cap: int, in_flight: int, wanted: int) -> int:
    """How many in-flight jobs to finish so `wanted` more fit under cap (0 if they fit)."""
    return max(0, min(in_flight, in_flight + wanted - cap))


def library_path(*, page: int | None = None, cursor: str | None = None) -> str:
    """The library URL for one page of PER_PAGE, by page number or by cursor."""
    path = f"/api/video/library?per_page={PER_PAGE}"
    if page is not None:
        path += f"&page={page}"
    if cursor is not None:
        path += f"&cursor={quote(cursor, safe='')}"
    return path


def sweep_once(engine: Engine, messages: CountingMessages) -> tuple[float, dict[str, int]]:
    """Seconds one sweep pass took against engine's database, and what it did (counts)."""
    sessions = make_session_factory(engine)
    t0 = time.perf_counter()
    report = sweep(
        sessions, policy=SweepPolicy.from_settings(Settings.from_env({})), messages=messages
    )
    took = time.perf_counter() - t0
    counts = {}
    for f in dataclasses.fields(report):
        value = getattr(report, f.name)
        counts[f.name] = value if isinstance(value, int) else len(value)
    return took, counts


# Today's library queries (api/videos.py) and the sweep's one scan that no index serves
# (models/jobs.expire_overdue, as a SELECT), for EXPLAIN ANALYZE beside the figures.
QUERIES = {
    "total": "SELECT count(*) FROM video_generations WHERE user_id = :user_id",
    "page1": (
        "SELECT * FROM video_generations WHERE user_id = :user_id"
        " ORDER BY created_at DESC, id DESC LIMIT :per_page OFFSET 0"
    ),
    "deep_page": (
        "SELECT * FROM video_generations WHERE user_id = :user_id"
        " ORDER BY created_at DESC, id DESC LIMIT :per_page OFFSET :offset"
    ),
    "sweep_expire": (
        "SELECT id, task_id FROM video_generations WHERE phase <> 'done' AND deadline_at < now()"
    ),
}


def explain(engine: Engine, user_id: int) -> dict[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of QUERIES: the library's pages and the sweep's scan."""
    params = {"user_id": user_id, "per_page": PER_PAGE, "offset": (DEEP_PAGE - 1) * PER_PAGE}
    found = {}
    with engine.connect() as conn:
        for name, query in QUERIES.items():
            plan = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {query}"), params).scalars()
            found[name] = [str(line) for line in plan]
    return found


def table_mb(engine: Engine) -> float:
    """The jobs table with its indexes and TOAST, in MiB."""
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT pg_total_relation_size('video_generations')"))
    return round(int(size or 0) / 1024**2, 1)


def _get(url: str, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [v["video_id"] for v in body.get("videos", [])]


def cursor_for_page(base: str, headers: dict[str, str], page: int) -> dict[str, Any]:
    """The cursor that loads `page`, found by following next_cursor from page 1.

    {"cursor": None, ...} when the library answers no next_cursor (no keyset pagination).
    """
    body = _get(base + library_path(), headers)
    cursor = body.get("next_cursor")
    if cursor is None:
        return {"cursor": None, "available": False}
    t0 = time.monotonic()
    for reached in range(2, page):
        body = _get(base + library_path(cursor=cursor), headers)
        cursor = body.get("next_cursor")
        if cursor is None:
            raise RuntimeError(f"the library has no next_cursor after page {reached}")
    by_cursor = _get(base + library_path(cursor=cursor), headers)
    by_page = _get(base + library_path(page=page), headers)
    return {
        "cursor": cursor,
        "available": True,
        "followed_s": round(time.monotonic() - t0, 1),
        "same_videos_as_page": _ids(by_cursor) == _ids(by_page),
    }
