"""The budget through the tasks themselves: who starts, what nudges, what a 429 does.

The Celery tasks run in this process (called, not sent) on real Postgres, against the
sandbox over real HTTP whose clock the test moves; messages they send are recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import responses
from sqlalchemy.orm import Session, sessionmaker

import workers.celery_app
from infra.settings import Settings
from models import budget, fair_share
from models.db import utcnow
from models.jobs import Job, Phase, Status
from providers.piapi import PiAPIClient
from tests.fakes import RecordingMessages
from tests.integration.conftest import mark_polling
from workers import tasks
from workers.polling import every
from workers.resources import Resources
from workers.sweeper import SweepPolicy, sweep

HUNYUAN_S = 60  # the sandbox's Hunyuan fast task at time scale 1
Make = Callable[..., Resources]


@pytest.fixture
def make_resources(
    session_factory: sessionmaker[Session], sandbox, monkeypatch: pytest.MonkeyPatch
) -> Make:
    """The worker's resources with PIAPI_MAX_CONCURRENT_TASKS=limit, installed as current()."""

    def make(limit: int | None, base_url: str | None = None) -> Resources:
        settings = dataclasses.replace(Settings.from_env({}), piapi_max_concurrent_tasks=limit)
        res = Resources(
            settings=settings,
            sessions=session_factory,
            piapi=PiAPIClient(base_url or sandbox.url, "test-key"),
            storage=None,  # type: ignore[arg-type]  # nothing is stored here
            media_http=None,  # type: ignore[arg-type]
            webhook_http=None,  # type: ignore[arg-type]
            messages=RecordingMessages(),
            upload_urls=None,  # type: ignore[arg-type]  # these jobs upload nothing
            plan_poll=every(5.0),
            sweep_policy=SweepPolicy.from_settings(settings),
        )
        monkeypatch.setattr(workers.celery_app, "_current", res)
        return res

    return make


def _job(factory: sessionmaker[Session], job_id: int) -> Job:
    with factory() as s:
        return s.get_one(Job, job_id)


def _polls(res: Resources) -> list[tuple[int, uuid.UUID]]:
    return res.messages.polls  # type: ignore[attr-defined, no-any-return]


def _starts(res: Resources) -> list[float | None]:
    return res.messages.starts  # type: ignore[attr-defined, no-any-return]


def test_the_end_of_a_task_nudges_the_next_job_in_line(
    make_resources: Make, make_job, session_factory, sandbox
) -> None:
    res = make_resources(limit=1)
    first, second = make_job(), make_job()

    tasks.start_waiting()
    tasks.start_waiting()  # no slot free: the second waits, and nothing is sent
    ((job_id, token),) = _polls(res)
    assert job_id == first
    assert _job(session_factory, second).phase is Phase.QUEUED
    assert sandbox.sandbox.create_calls == 1

    sandbox.clock[0] += HUNYUAN_S + 1
    tasks.poll_job(first, str(token))

    assert _job(session_factory, first).status is Status.COMPLETED
    assert _starts(res) == [None]  # sent after the verdict's commit
    tasks.start_waiting()
    assert [job for job, _ in _polls(res)] == [first, second]


def test_a_webhook_check_that_ends_the_job_nudges_too(
    make_resources: Make, make_job, sandbox
) -> None:
    res = make_resources(limit=2)
    make_job()
    tasks.start_waiting()
    ((job_id, _),) = _polls(res)
    sandbox.clock[0] += HUNYUAN_S + 1

    tasks.check_job(job_id)
    tasks.check_job(job_id)  # PiAPI's second delivery: the job has already ended

    assert _starts(res) == [None]


def test_a_submit_message_starts_the_next_in_line_not_its_own_job(
    make_resources: Make, make_job, session_factory
) -> None:
    res = make_resources(limit=4)
    older = make_job(user_id=1)
    newer = make_job(user_id=2)

    tasks.submit_job(newer)

    assert [job for job, _ in _polls(res)] == [older]  # both never started: by id
    assert _job(session_factory, newer).phase is Phase.QUEUED


def test_without_a_limit_each_message_starts_its_own_job_and_nothing_nudges(
    make_resources: Make, make_job, session_factory, sandbox
) -> None:
    res = make_resources(limit=None)
    older, newer = make_job(user_id=1), make_job(user_id=2)

    tasks.submit_job(newer)
    tasks.start_waiting()  # a stray nudge does nothing without a budget
    sandbox.clock[0] += HUNYUAN_S + 1
    ((job_id, token),) = _polls(res)
    tasks.poll_job(job_id, str(token))

    assert job_id == newer
    assert _job(session_factory, older).phase is Phase.QUEUED
    assert _job(session_factory, newer).status is Status.COMPLETED
    assert _starts(res) == []


def test_a_create_refused_over_the_plan_limit_goes_back_in_line(
    make_resources: Make, make_job, session_factory, sandbox
) -> None:
    res = make_resources(limit=2)
    sandbox.sandbox.max_concurrent_tasks = 1
    # Someone else's task on the same PiAPI account: our count cannot know of it.
    sandbox.sandbox.create(
        {"model": "Qubico/hunyuan", "task_type": "fast-txt2video", "input": {"prompt": "x"}}
    )
    job_id = make_job()

    tasks.start_waiting()  # no Celery retry: the job is back in line

    job = _job(session_factory, job_id)
    assert (job.phase, job.status, job.submit_attempts) == (Phase.QUEUED, Status.PROCESSING, 1)
    assert sandbox.sandbox.refused_over_limit == 1
    # Due again after PiAPI's Retry-After (the other task's end), when its nudge comes.
    assert _starts(res) == [float(HUNYUAN_S)]
    assert job.next_poll_at is not None
    assert job.next_poll_at > utcnow() + dt.timedelta(seconds=HUNYUAN_S - 5)
    with session_factory() as s:
        assert budget.slots_held(s, limit=2) == 0
        assert fair_share.place_in_line(s, job, slots=2).position == 1

    sandbox.clock[0] += HUNYUAN_S + 1
    with session_factory.begin() as s:  # as if Retry-After has passed
        s.get_one(Job, job_id).next_poll_at = utcnow()
    tasks.start_waiting()
    assert [job for job, _ in _polls(res)] == [job_id]


def test_a_create_refused_without_retry_after_waits_a_few_seconds(
    make_resources: Make, make_job, session_factory
) -> None:
    base = "https://piapi.test"
    res = make_resources(limit=2, base_url=base)
    job_id = make_job()
    with responses.RequestsMock() as piapi:
        piapi.post(f"{base}/api/v1/task", status=429, json={"code": 429, "data": None})
        for _ in range(3):  # no growing backoff, however often it is refused
            with session_factory.begin() as s:
                s.get_one(Job, job_id).next_poll_at = None
            tasks.start_waiting()

    assert _starts(res) == [3.0, 3.0, 3.0]
    assert _job(session_factory, job_id).submit_attempts == 3


def test_a_submission_that_fails_frees_its_slot_and_nudges(
    make_resources: Make, make_job, session_factory
) -> None:
    base = "https://piapi.test"
    res = make_resources(limit=1, base_url=base)
    job_id = make_job()
    with responses.RequestsMock() as piapi:
        piapi.post(f"{base}/api/v1/task", status=400, json={"code": 400, "message": "no"})
        tasks.start_waiting()

    assert _job(session_factory, job_id).error_code == "provider_rejected"
    assert _starts(res) == [None]


# --- the sweeper -----------------------------------------------------------------


def _sweep(factory: sessionmaker[Session], limit: int | None, **kw: Any) -> Any:
    messages = RecordingMessages()
    policy = SweepPolicy(
        queued_grace_s=60, submitting_grace_s=300, poll_grace_s=120, max_concurrent_tasks=limit
    )
    return sweep(factory, policy=policy, messages=messages, **kw), messages


def test_the_sweeper_fills_free_slots_and_leaves_waiting_jobs_alone(
    session_factory, make_job
) -> None:
    long_ago = utcnow() - dt.timedelta(hours=1)
    waiting = [make_job(updated_at=long_ago) for _ in range(3)]
    mark_polling(session_factory, make_job(), "task-running")

    report, messages = _sweep(session_factory, limit=3)

    assert messages.submits == []  # a job waiting for a slot is not a lost message
    assert (report.starts_sent, messages.starts) == (2, [None, None])
    assert _sweep(session_factory, limit=1)[0].starts_sent == 0  # every slot taken
    unlimited, messages = _sweep(session_factory, limit=None)
    assert sorted(messages.submits) == waiting  # without a budget: today's re-enqueue
    assert (unlimited.starts_sent, messages.starts) == (0, [])


def test_a_timeout_frees_its_slot_for_a_waiting_job(session_factory, make_job) -> None:
    running = make_job()
    mark_polling(session_factory, running, "task-late")
    make_job()
    with session_factory.begin() as s:
        s.get_one(Job, running).deadline_at = utcnow() - dt.timedelta(seconds=1)

    report, messages = _sweep(session_factory, limit=1)

    assert report.timed_out == [running]
    assert messages.starts == [None]
