"""A create's outcome, as the worker and the sweeper see it: never sent, in doubt, adopted.

On real Postgres. PiAPI is a stub session raising each kind of failure, or the sandbox.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import requests

from models import create_outcome, jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status
from providers.piapi import PiAPIClient
from tests.fakes import RecordingMessages
from tests.stack import free_port, sandbox_server
from tests.unit.providers.test_piapi_client import (
    _dropped_mid_request,
    _envelope,
    _refused_connection,
    _truncated_body,
    _unresolvable_host,
)
from workers.polling import every, poll_once
from workers.submission import Ended, RetryIn, Submitted, submit_once
from workers.sweeper import SweepPolicy, sweep

BASE = "https://piapi.test"


def _hooks(token: str) -> dict[str, str]:
    return {"endpoint": f"https://us.test/api/webhooks/piapi/{token}", "secret": "s"}


ON = SweepPolicy(queued_grace_s=60, submitting_grace_s=300, poll_grace_s=120, adopts=True)
OFF = SweepPolicy(queued_grace_s=60, submitting_grace_s=300, poll_grace_s=120, adopts=False)


class StubSession(requests.Session):
    """PiAPI's side of the create: raises `error`, or answers `answer`; counts the calls."""

    def __init__(self, error: Exception | None = None, answer: Any = None) -> None:
        super().__init__()
        self.error, self.answer, self.calls = error, answer, 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.answer(method, url, kwargs) if callable(self.answer) else self.answer


def _submit(sessions, client, job_id, *, hooks=True):
    return submit_once(
        sessions,
        client,
        job_id,
        plan_poll=every(5.0),
        retry_wait_s=lambda retry_after: retry_after or 2.0,
        webhook_config=_hooks if hooks else None,
    )


def _job(sessions, job_id: int) -> Job:
    with sessions() as s:
        return s.get(Job, job_id)


def _client(error: Exception) -> PiAPIClient:
    return PiAPIClient(BASE, "k", session=StubSession(error))


# -- never sent, or in doubt: by what the create raised ----------------------------------


@pytest.mark.parametrize(
    "error",
    [_refused_connection(), _unresolvable_host(), requests.ConnectTimeout("connect timed out")],
    ids=["refused", "dns", "connect-timeout"],
)
@pytest.mark.parametrize("hooks", [True, False], ids=["webhooks-on", "webhooks-off"])
def test_a_create_that_never_left_is_sent_again(session_factory, make_job, error, hooks) -> None:
    job_id = make_job()

    outcome = _submit(session_factory, _client(error), job_id, hooks=hooks)

    assert outcome == RetryIn(2.0)
    job = _job(session_factory, job_id)
    assert (job.phase, job.status, job.doubted_at) == (Phase.QUEUED, Status.PROCESSING, None)


@pytest.mark.parametrize(
    "error",
    [requests.ReadTimeout("read timed out"), _dropped_mid_request(), _truncated_body()],
    ids=["read-timeout", "dropped-mid-request", "answer-cut-off"],
)
def test_a_create_that_may_have_reached_piapi_waits_in_doubt(
    session_factory, make_job, error
) -> None:
    job_id = make_job()

    assert _submit(session_factory, _client(error), job_id) is None

    job = _job(session_factory, job_id)
    assert (job.phase, job.status, job.task_id) == (Phase.IN_DOUBT, Status.PROCESSING, None)
    assert job.doubted_at is not None and job.create_sent_at is not None
    # never sent again: a redelivered submit message finds nothing to claim
    stub = StubSession(_refused_connection())
    assert _submit(session_factory, PiAPIClient(BASE, "k", session=stub), job_id) is None
    assert stub.calls == 0


@pytest.mark.parametrize(
    "error",
    [requests.ReadTimeout("read timed out"), _dropped_mid_request(), _truncated_body()],
    ids=["read-timeout", "dropped-mid-request", "answer-cut-off"],
)
def test_with_webhooks_off_a_create_in_doubt_fails_at_once(
    session_factory, make_job, error
) -> None:
    job_id = make_job()

    assert _submit(session_factory, _client(error), job_id, hooks=False) == Ended(())

    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "submission_unknown")
    assert "not resubmitted" in job.error_message
    assert job.doubted_at is not None


def test_a_real_refused_connection_is_retried_and_then_creates_one_task(
    session_factory, make_job
) -> None:
    job_id = make_job()
    closed = PiAPIClient(f"http://127.0.0.1:{free_port()}", "k")  # nothing listens there

    assert isinstance(_submit(session_factory, closed, job_id), RetryIn)
    with session_factory.begin() as s:
        s.get(Job, job_id).next_poll_at = None  # the retry is due
    with sandbox_server() as server:
        assert isinstance(_submit(session_factory, PiAPIClient(server.url, "k"), job_id), Submitted)
        assert server.sandbox.create_calls == 1
        (task,) = server.sandbox._tasks.values()
        hook = task.body["config"]["webhook_config"]
    job = _job(session_factory, job_id)
    assert job.submit_attempts == 2
    assert hook["endpoint"].endswith("/api/webhooks/piapi/" + job.hook_token)


def test_the_hook_token_is_kept_across_attempts_and_unique_per_job(
    session_factory, make_job
) -> None:
    a, b = make_job(), make_job()
    for job_id in (a, b):
        _submit(session_factory, _client(_refused_connection()), job_id)
    token_a = _job(session_factory, a).hook_token
    with session_factory.begin() as s:
        s.get(Job, a).next_poll_at = None
    _submit(session_factory, _client(_refused_connection()), a)

    assert _job(session_factory, a).hook_token == token_a
    assert token_a != _job(session_factory, b).hook_token
    assert token_a.startswith("pwh_") and len(token_a) >= 36


# -- the race: PiAPI's callback adopts the task before the worker records it ----------


def _answer_after_adoption(session_factory, job_id: int, task_id: str, *, lost: bool):
    """A PiAPI whose creation callback is handled (the job adopts task_id) before it answers."""
    token = uuid.uuid4()

    def answer(method: str, url: str, kwargs: dict) -> Any:
        with session_factory.begin() as s:
            assert create_outcome.adopt_task(s, job_id, task_id=task_id, token=token)
        if lost:
            raise requests.ReadTimeout("read timed out")
        resp = requests.Response()
        resp.status_code = 200
        envelope = _envelope()
        envelope["data"]["task_id"] = task_id
        resp._content = json.dumps(envelope).encode()
        return resp

    return token, answer


@pytest.mark.parametrize("lost", [False, True], ids=["answer-arrives", "answer-lost"])
def test_an_answer_after_the_callback_adopted_the_task_neither_cancels_nor_chains(
    session_factory, make_job, lost
) -> None:
    job_id = make_job()
    token, answer = _answer_after_adoption(session_factory, job_id, "task-raced", lost=lost)
    stub = StubSession(answer=answer)

    outcome = _submit(session_factory, PiAPIClient(BASE, "k", session=stub), job_id)

    assert outcome is None  # no Submitted: the worker starts no second poll chain
    assert stub.calls == 1  # one create, and no DELETE: the task is the job's own
    job = _job(session_factory, job_id)
    assert (job.phase, job.task_id, job.poll_token) == (Phase.POLLING, "task-raced", token)
    assert (job.doubted_at is not None) is lost


def test_an_answer_for_a_job_canceled_meanwhile_cancels_the_task(session_factory, make_job) -> None:
    job_id = make_job()
    calls: list[str] = []

    def answer(method: str, url: str, kwargs: dict) -> Any:
        calls.append(method)
        if method == "POST":
            with session_factory.begin() as s:
                assert jobs.cancel(s, job_id)
        resp = requests.Response()
        resp.status_code = 200
        resp._content = json.dumps(_envelope()).encode()
        return resp

    client = PiAPIClient(BASE, "k", session=StubSession(answer=answer))
    assert _submit(session_factory, client, job_id) is None
    assert calls == ["POST", "DELETE"]
    assert _job(session_factory, job_id).status is Status.CANCELED


def test_an_adopted_task_is_followed_to_the_end(session_factory, make_job, sandbox) -> None:
    job_id = make_job()
    lost = StubSession(requests.ReadTimeout("read timed out"))
    assert _submit(session_factory, PiAPIClient(BASE, "k", session=lost), job_id) is None
    # PiAPI did create it; its callback names the task, and the job adopts it
    task_id = sandbox.sandbox.create(_body_of(job_id))["data"]["task_id"]
    token = uuid.uuid4()
    with session_factory.begin() as s:
        assert create_outcome.adopt_task(s, job_id, task_id=task_id, token=token)

    sandbox.clock[0] += 3600  # the task has finished
    outcome = poll_once(
        session_factory,
        PiAPIClient(sandbox.url, "k"),
        job_id,
        token,
        plan_poll=every(5.0),
        retry_wait_s=lambda _: 1.0,
    )

    assert outcome.completed
    job = _job(session_factory, job_id)
    assert (job.status, job.task_id, job.poll_count) == (Status.COMPLETED, task_id, 1)


def _body_of(job_id: int) -> dict:
    return {
        "model": "Qubico/hunyuan",
        "task_type": "fast-txt2video",
        "input": {"prompt": f"job {job_id}", "aspect_ratio": "16:9"},
    }


# -- the sweeper: a worker that died before the call, or mid-call ------------------------


def _claimed(session_factory, job_id: int, *, sent: bool, minutes_ago: float = 10) -> None:
    then = utcnow() - dt.timedelta(minutes=minutes_ago)
    with session_factory.begin() as s:
        attempt = jobs.claim_for_submit(s, job_id)
        if sent:
            assert create_outcome.mark_create_sent(s, job_id, attempt=attempt)
        job = s.get(Job, job_id)
        job.submitting_since = then
        job.create_sent_at = then if sent else None


@pytest.mark.parametrize("policy", [ON, OFF], ids=["webhooks-on", "webhooks-off"])
def test_a_claim_whose_create_never_left_is_handed_back(session_factory, make_job, policy) -> None:
    dead, recent = make_job(), make_job()
    _claimed(session_factory, dead, sent=False)
    _claimed(session_factory, recent, sent=False, minutes_ago=1)

    nudges = RecordingMessages()
    report = sweep(session_factory, policy=policy, messages=nudges)
    again = sweep(session_factory, policy=policy, messages=RecordingMessages())

    assert report.handed_back == nudges.submits == [dead]
    assert again.handed_back == []
    assert _job(session_factory, dead).phase is Phase.QUEUED
    assert _job(session_factory, recent).phase is Phase.SUBMITTING  # still within its grace
    with sandbox_server() as server:
        assert isinstance(_submit(session_factory, PiAPIClient(server.url, "k"), dead), Submitted)
        assert server.sandbox.create_calls == 1


def test_a_stalled_worker_whose_claim_was_handed_back_sends_nothing(
    session_factory, make_job
) -> None:
    job_id = make_job()
    with session_factory.begin() as s:
        stalled = jobs.claim_for_submit(s, job_id)
        s.get(Job, job_id).submitting_since = utcnow() - dt.timedelta(minutes=10)
    sweep(session_factory, policy=ON, messages=RecordingMessages())
    with session_factory.begin() as s:
        assert jobs.claim_for_submit(s, job_id) == stalled + 1  # another worker's claim

    with session_factory.begin() as s:
        assert not create_outcome.mark_create_sent(s, job_id, attempt=stalled)
        assert create_outcome.mark_create_sent(s, job_id, attempt=stalled + 1)


def test_a_worker_that_died_mid_call_leaves_the_job_in_doubt(session_factory, make_job) -> None:
    job_id = make_job()
    _claimed(session_factory, job_id, sent=True)

    nudges = RecordingMessages()
    report = sweep(session_factory, policy=ON, messages=nudges)

    assert report.in_doubt == [job_id]
    assert (report.handed_back, report.unknown_submissions, nudges.submits) == ([], [], [])
    job = _job(session_factory, job_id)
    assert (job.phase, job.status) == (Phase.IN_DOUBT, Status.PROCESSING)
    assert job.doubted_at is not None


def test_with_webhooks_off_a_worker_that_died_mid_call_fails_the_job(
    session_factory, make_job
) -> None:
    job_id = make_job()
    _claimed(session_factory, job_id, sent=True)

    report = sweep(session_factory, policy=OFF, messages=RecordingMessages())

    assert report.unknown_submissions == [job_id]
    assert _job(session_factory, job_id).error_code == "submission_unknown"


def test_in_doubt_fails_submission_unknown_only_at_its_deadline(session_factory, make_job) -> None:
    job_id = make_job()
    _submit(session_factory, _client(requests.ReadTimeout("read timed out")), job_id)

    early = sweep(session_factory, policy=ON, messages=RecordingMessages())
    assert early.unknown_submissions == []
    assert _job(session_factory, job_id).phase is Phase.IN_DOUBT

    late = utcnow() + dt.timedelta(hours=2)  # past any catalogue deadline
    nudges = RecordingMessages()
    report = sweep(session_factory, policy=ON, messages=nudges, now=late)

    assert report.unknown_submissions == [job_id]
    assert report.timed_out == []
    assert nudges.cancels == []  # no task id to cancel
    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "submission_unknown")
    assert "no callback" in job.error_message


def test_a_create_in_flight_at_its_deadline_fails_as_unknown_not_timeout(
    session_factory, make_job
) -> None:
    in_flight, unsent = make_job(), make_job()
    _claimed(session_factory, in_flight, sent=True, minutes_ago=0)
    _claimed(session_factory, unsent, sent=False, minutes_ago=0)
    late = utcnow() + dt.timedelta(hours=2)

    report = sweep(session_factory, policy=ON, messages=RecordingMessages(), now=late)

    assert report.unknown_submissions == [in_flight]
    assert report.timed_out == [unsent]  # nothing was sent: it simply ran out of time
