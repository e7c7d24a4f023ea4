"""Under PiAPI's budget: the status body's place in line, and a cancel that frees a slot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from models.db import utcnow
from models.fair_share import TenantTurn
from tests.integration.conftest import SPEC_T2V, mark_polling

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@contextmanager
def statements(db) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Every SQL statement run on the test's connection inside the block."""
    seen: list[str] = []
    conn = db.get_bind()

    def note(_conn, _cursor, sql, *_args) -> None:  # type: ignore[no-untyped-def]
        if "SAVEPOINT" not in sql:  # the test's own transaction, not the request's
            seen.append(sql)

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def _queue(client, job_id: int):  # type: ignore[no-untyped-def]
    resp = client.get(f"/api/video/status/{job_id}")
    assert resp.status_code == 200
    return resp.get_json()["queue"]


def test_a_waiting_job_says_its_place_in_line(make_client, make_job, db) -> None:
    a = make_client(user_id=1, piapi_max_concurrent_tasks=4)
    b = make_client(user_id=2, piapi_max_concurrent_tasks=4)
    a_jobs = [make_job(user_id=1, created_at=T0 + dt.timedelta(seconds=n)) for n in range(5)]
    b_jobs = [
        make_job(user_id=2, created_at=T0 + dt.timedelta(minutes=1, seconds=n)) for n in range(2)
    ]
    db.add(TenantTurn(user_id=1, last_started_at=utcnow()))  # A's burst is under way
    db.commit()

    # B goes next, then they alternate: b0, a0, b1, a1, a2, a3, a4.
    assert _queue(b, b_jobs[0]) == {"waiting": True, "position": 1, "slots": 4}
    assert _queue(a, a_jobs[0])["position"] == 2
    assert _queue(b, b_jobs[1])["position"] == 3
    assert [_queue(a, j)["position"] for j in a_jobs[1:]] == [4, 5, 6, 7]


def test_a_job_that_is_not_waiting_costs_one_primary_key_read(
    make_client, make_job, session_factory, db
) -> None:
    client = make_client(piapi_max_concurrent_tasks=4)
    job_id = make_job()
    mark_polling(session_factory, job_id, "task-running")
    client.get(f"/api/video/status/{job_id}")  # the key is checked once, then cached

    with statements(db) as seen:
        assert _queue(client, job_id) is None

    assert len(seen) == 1
    assert "WHERE video_generations.id =" in seen[0]


def test_without_a_limit_no_job_waits(make_client, make_job) -> None:
    client = make_client()

    assert _queue(client, make_job()) is None


def test_canceling_a_job_that_holds_a_slot_nudges_the_next(
    make_client, make_job, session_factory, messages
) -> None:
    client = make_client(piapi_max_concurrent_tasks=4)
    running, queued = make_job(), make_job()
    mark_polling(session_factory, running, "task-running")

    assert client.post(f"/api/video/{queued}/cancel").status_code == 200
    assert messages.starts == []  # a waiting job held no slot
    assert client.post(f"/api/video/{running}/cancel").status_code == 200
    assert messages.starts == [None]
    assert messages.cancels == [running]


def test_without_a_limit_a_cancel_sends_no_nudge(
    make_client, make_job, session_factory, messages
) -> None:
    client = make_client()
    running = make_job()
    mark_polling(session_factory, running, "task-running")

    assert client.post(f"/api/video/{running}/cancel").status_code == 200
    assert messages.starts == []


def test_generate_nudges_only_while_a_slot_is_free(
    make_client, make_job, session_factory, messages
) -> None:
    client = make_client(piapi_max_concurrent_tasks=2)

    assert client.post("/api/video/generate", json=SPEC_T2V).status_code == 202
    assert (messages.submits, messages.starts) == ([], [None])  # the next in line starts
    for n in range(2):
        mark_polling(session_factory, make_job(), f"task-{n}")
    for _ in range(3):  # a burst while every slot is taken: no message at all
        assert client.post("/api/video/generate", json=SPEC_T2V).status_code == 202
    assert (messages.submits, messages.starts) == ([], [None])
