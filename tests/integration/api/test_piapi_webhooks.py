"""PiAPI's callbacks on the job's own endpoint: adopting the task of a create in doubt."""

from __future__ import annotations

import json
import uuid

import pytest

from models import create_outcome, jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status
from tests.integration.conftest import mark_polling

SECRET = "s3cret"
HEADERS = {"x-webhook-secret": SECRET}


@pytest.fixture
def piapi(make_client):  # type: ignore[no-untyped-def]
    """A client as PiAPI calls us: the shared secret, no API key."""
    client = make_client(piapi_webhook_secret=SECRET)
    client.environ_base.pop("HTTP_AUTHORIZATION", None)
    return client


def _delivery(task_id: str, status: str = "pending") -> dict:
    return {"timestamp": 1, "data": {"task_id": task_id, "status": status}}


def _sending(session_factory, job_id: int) -> str:
    """Claim the job and mark its create as sent, as the worker does; its hook token."""
    with session_factory.begin() as s:
        attempt = jobs.claim_for_submit(s, job_id)
        assert create_outcome.mark_create_sent(s, job_id, attempt=attempt)
        return s.get(Job, job_id).hook_token


def _in_doubt(session_factory, job_id: int) -> str:
    token = _sending(session_factory, job_id)
    with session_factory.begin() as s:
        assert create_outcome.mark_in_doubt(s, job_id)
    return token


def _job(session_factory, job_id: int) -> Job:
    with session_factory() as s:
        return s.get(Job, job_id)


def test_an_in_doubt_job_adopts_the_task_its_callback_names(
    piapi, make_job, session_factory, messages
) -> None:
    job_id = make_job()
    token = _in_doubt(session_factory, job_id)

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-new"), headers=HEADERS)

    assert (resp.status_code, resp.get_json()) == (202, {"status": "accepted"})
    job = _job(session_factory, job_id)
    assert (job.phase, job.status, job.task_id) == (Phase.POLLING, Status.PROCESSING, "task-new")
    assert job.adopted_at is not None and job.doubted_at is not None
    assert job.started_at == job.create_sent_at  # PiAPI started it when the create left
    # followed like any other: a chain with the row's token, its first poll at once
    assert messages.polls == [(job_id, job.poll_token)]
    assert messages.countdowns == [("poll", None)]
    assert messages.submits == [] and messages.cancels == []


def test_a_callback_that_beats_the_workers_record_adopts_the_task(
    piapi, make_job, session_factory, messages
) -> None:
    job_id = make_job()
    token = _sending(session_factory, job_id)  # the create is in flight

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-1"), headers=HEADERS)

    assert resp.get_json() == {"status": "accepted"}
    job = _job(session_factory, job_id)
    assert (job.phase, job.task_id, job.doubted_at) == (Phase.POLLING, "task-1", None)
    assert [j for j, _ in messages.polls] == [job_id]
    # the worker's own record of the same answer then changes nothing
    with session_factory.begin() as s:
        assert not jobs.mark_submitted(
            s,
            job_id,
            task_id="task-1",
            token=job.poll_token,
            next_poll_at=job.next_poll_at,
            response=None,
        )


@pytest.mark.parametrize(
    "token",
    ["pwh_" + "A" * 32, "pwh_short", "not-a-token", "pwh_" + "x" * 200],
    ids=["unknown", "too-short", "no-prefix", "too-long"],
)
def test_an_unknown_or_malformed_token_is_ignored(
    piapi, make_job, session_factory, messages, token
) -> None:
    job_id = make_job()
    _in_doubt(session_factory, job_id)

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-x"), headers=HEADERS)

    assert (resp.status_code, resp.get_json()) == (202, {"status": "ignored"})
    assert _job(session_factory, job_id).phase is Phase.IN_DOUBT
    assert (messages.polls, messages.checks) == ([], [])


def test_a_stale_token_does_not_replace_the_jobs_task(
    piapi, make_job, session_factory, messages
) -> None:
    job_id = make_job()
    token = _sending(session_factory, job_id)
    with session_factory.begin() as s:
        assert jobs.mark_submitted(
            s,
            job_id,
            task_id="task-real",
            token=uuid.uuid4(),
            next_poll_at=utcnow(),
            response=None,
        )

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-other"), headers=HEADERS)

    assert resp.get_json() == {"status": "ignored"}
    assert _job(session_factory, job_id).task_id == "task-real"
    assert messages.polls == []


def test_a_wrong_secret_is_refused_on_the_jobs_endpoint(
    piapi, make_job, session_factory, messages
) -> None:
    job_id = make_job()
    token = _in_doubt(session_factory, job_id)

    for headers in ({}, {"x-webhook-secret": "wrong"}, {"x-webhook-secret": SECRET + " "}):
        resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("t"), headers=headers)
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "unauthorized"
    assert _job(session_factory, job_id).phase is Phase.IN_DOUBT
    assert messages.polls == []


def test_a_task_that_is_another_jobs_is_not_adopted(
    piapi, make_job, session_factory, messages
) -> None:
    owner, doubtful = make_job(), make_job()
    mark_polling(session_factory, owner, "task-owned")
    token = _in_doubt(session_factory, doubtful)

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-owned"), headers=HEADERS)

    assert resp.status_code == 202
    assert _job(session_factory, doubtful).phase is Phase.IN_DOUBT
    assert _job(session_factory, owner).task_id == "task-owned"
    assert messages.checks == [owner]  # the task's own job is polled, as on the shared route
    assert messages.polls == []


def test_a_finished_job_is_not_adopted(piapi, make_job, session_factory, messages) -> None:
    job_id = make_job()
    token = _sending(session_factory, job_id)
    with session_factory.begin() as s:
        assert jobs.finish(s, job_id, status=Status.COMPLETED, video_url="https://v")

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-z"), headers=HEADERS)

    assert resp.get_json() == {"status": "ignored"}
    job = _job(session_factory, job_id)
    assert (job.status, job.phase, job.task_id) == (Status.COMPLETED, Phase.DONE, None)
    assert (messages.polls, messages.cancels) == ([], [])


def test_a_job_canceled_while_in_doubt_stays_canceled_and_its_task_is_canceled(
    piapi, make_job, session_factory, messages
) -> None:
    job_id = make_job()
    token = _in_doubt(session_factory, job_id)
    with session_factory.begin() as s:
        assert jobs.cancel(s, job_id)

    resp = piapi.post(f"/api/webhooks/piapi/{token}", json=_delivery("task-c"), headers=HEADERS)

    assert resp.get_json() == {"status": "accepted"}
    job = _job(session_factory, job_id)
    assert (job.status, job.phase) == (Status.CANCELED, Phase.DONE)  # terminal is final
    assert job.task_id == "task-c"  # recorded, so cancel_at_piapi knows what to cancel
    assert messages.cancels == [job_id]
    assert messages.polls == []


def test_a_known_task_on_the_jobs_endpoint_is_polled_at_once(
    piapi, make_job, session_factory, messages
) -> None:
    job_id = make_job()
    token = _sending(session_factory, job_id)
    with session_factory.begin() as s:
        jobs.mark_submitted(
            s,
            job_id,
            task_id="task-k",
            token=uuid.uuid4(),
            next_poll_at=utcnow(),
            response=None,
        )

    resp = piapi.post(
        f"/api/webhooks/piapi/{token}", json=_delivery("task-k", "completed"), headers=HEADERS
    )

    assert resp.get_json() == {"status": "accepted"}
    assert messages.checks == [job_id]
    assert messages.polls == []


@pytest.mark.parametrize(
    "task_id", ["a\x00b", "\udc80", "t" * 256], ids=["nul", "lone-surrogate", "too-long"]
)
def test_a_task_id_that_cannot_be_stored_is_a_422_and_writes_nothing(
    piapi, make_job, session_factory, messages, task_id
) -> None:
    job_id = make_job()
    token = _in_doubt(session_factory, job_id)

    for path in (f"/api/webhooks/piapi/{token}", "/api/webhooks/piapi"):
        resp = piapi.post(
            path,
            data=json.dumps(_delivery(task_id)),
            content_type="application/json",
            headers=HEADERS,
        )
        assert resp.status_code == 422
        assert "data.task_id" in resp.get_json()["error"]["fields"]
    assert _job(session_factory, job_id).phase is Phase.IN_DOUBT
    assert (messages.polls, messages.checks) == ([], [])


def test_a_delivery_without_a_task_id_is_ignored(piapi, make_job, session_factory) -> None:
    job_id = make_job()
    token = _in_doubt(session_factory, job_id)
    resp = piapi.post(f"/api/webhooks/piapi/{token}", json={"data": {}}, headers=HEADERS)
    assert resp.get_json() == {"status": "ignored"}
    assert _job(session_factory, job_id).phase is Phase.IN_DOUBT
