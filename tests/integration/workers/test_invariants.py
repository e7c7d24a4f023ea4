"""DESIGN.md's invariants, one test each by name, on real Postgres and the sandbox over HTTP.

Fault tests make the sandbox misbehave on every call of one kind (FaultPlan at rate 1).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from api.app import create_app
from infra.settings import Settings
from models import jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status
from providers.piapi import PiAPIClient, Timeouts
from providers.sandbox.faults import FaultPlan
from tests.fakes import RecordingMessages
from tests.integration.conftest import insert_job
from tests.stack import free_port, sandbox_server, wait_until
from workers.polling import every, poll_once
from workers.submission import Ended, RetryIn, submit_once
from workers.sweeper import SweepPolicy, sweep

DEFAULTS = Settings.from_env({})

INTERVAL = 5.0
FAST = Timeouts(connect_s=1, read_s=0.5)


def _wait(retry_after: float | None) -> float:
    return max(retry_after or 0.0, 1.0)


def _submit(sessions, client, job_id):
    return submit_once(sessions, client, job_id, plan_poll=every(INTERVAL), retry_wait_s=_wait)


def _poll(sessions, client, job_id, token):
    return poll_once(sessions, client, job_id, token, plan_poll=every(INTERVAL), retry_wait_s=_wait)


def _job(sessions, job_id: int) -> Job:
    with sessions() as s:
        return s.get(Job, job_id)


def _faulty(spec: str):
    return sandbox_server(faults=FaultPlan.parse(spec))


# Invariant 3: at most one paid submission per job.


def test_duplicated_submit_messages_racing_create_one_task(committed_sessions) -> None:
    job_id = insert_job(committed_sessions)
    with sandbox_server() as server:
        client = PiAPIClient(server.url, "k")
        barrier = threading.Barrier(8)
        outcomes = []

        def deliver() -> None:
            barrier.wait()
            outcomes.append(_submit(committed_sessions, client, job_id))

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert server.sandbox.create_calls == 1
    assert sum(o is not None for o in outcomes) == 1
    assert _job(committed_sessions, job_id).phase is Phase.POLLING


def test_hang_on_create_fails_as_unknown_and_is_never_resubmitted(
    session_factory, make_job
) -> None:
    # With PiAPI's webhooks off (no webhook_config): nothing can ever name the task.
    job_id = make_job()
    with _faulty('{"create": {"hang": 1}, "hang_s": 1.5}') as server:
        outcome = _submit(session_factory, PiAPIClient(server.url, "k", timeouts=FAST), job_id)
        # PiAPI did create (and would charge for) the task; we must not pay again.
        assert server.sandbox.create_calls == 1
        assert _submit(session_factory, PiAPIClient(server.url, "k"), job_id) is None
        assert server.sandbox.create_calls == 1
    assert outcome == Ended(())  # no webhook asked for
    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "submission_unknown")


def test_malformed_json_on_create_fails_as_unknown(session_factory, make_job) -> None:
    job_id = make_job()
    with _faulty('{"create": {"malformed": 1}}') as server:
        assert _submit(session_factory, PiAPIClient(server.url, "k"), job_id) == Ended(())
        assert server.sandbox.create_calls == 1
    assert _job(session_factory, job_id).error_code == "submission_unknown"


def test_429_on_create_is_retried_no_sooner_than_retry_after(session_factory, make_job) -> None:
    job_id = make_job()
    with _faulty('{"create": {"429": 1}, "retry_after_s": 9}') as server:
        before = utcnow()
        outcome = _submit(session_factory, PiAPIClient(server.url, "k"), job_id)
        assert server.sandbox.create_calls == 0  # refused before anything was created
    assert outcome == RetryIn(9.0)
    job = _job(session_factory, job_id)
    assert job.phase is Phase.QUEUED  # the claim is handed back for the retry
    assert job.next_poll_at >= before + dt.timedelta(seconds=9)


def test_500_envelope_on_create_is_a_refusal_and_retried(session_factory, make_job) -> None:
    job_id = make_job()
    with _faulty('{"create": {"500": 1}}') as server:
        outcome = _submit(session_factory, PiAPIClient(server.url, "k"), job_id)
        assert server.sandbox.create_calls == 0
    assert isinstance(outcome, RetryIn)
    assert _job(session_factory, job_id).phase is Phase.QUEUED


# Invariant 3, second half: nothing paid is lost. With PiAPI's webhooks on, a create whose
# answer is lost waits in doubt; PiAPI's callback on the job's own endpoint adopts the task.


@contextlib.contextmanager
def _api_over_http(sessions, messages: RecordingMessages) -> Iterator[str]:
    """The API, served from a thread, as PiAPI's callbacks reach it; its base URL."""
    settings = dataclasses.replace(DEFAULTS, piapi_webhook_secret="hook-secret")
    app = create_app(settings, session_factory=sessions, messages=messages)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.mark.parametrize(
    "spec",
    ['{"create": {"hang": 1}, "hang_s": 1.5}', '{"create": {"malformed": 1}}'],
    ids=["hung-answer", "cut-off-answer"],
)
def test_a_create_whose_answer_is_lost_is_adopted_and_delivered(committed_sessions, spec) -> None:
    job_id = insert_job(committed_sessions)
    nudges = RecordingMessages()
    with _api_over_http(committed_sessions, nudges) as api, _faulty(spec) as server:

        def hooks(token: str) -> dict[str, str]:
            return {"endpoint": f"{api}/api/webhooks/piapi/{token}", "secret": "hook-secret"}

        outcome = submit_once(
            committed_sessions,
            PiAPIClient(server.url, "k", timeouts=FAST),
            job_id,
            plan_poll=every(INTERVAL),
            retry_wait_s=_wait,
            webhook_config=hooks,
        )
        assert outcome is None  # in doubt (or already adopted): no failure, no second chain
        (task,) = server.sandbox.summary()
        wait_until(
            lambda: _job(committed_sessions, job_id).phase is Phase.POLLING,
            timeout_s=10,
            what="PiAPI's creation callback to adopt the task",
        )
        job = _job(committed_sessions, job_id)
        assert job.task_id == task["task_id"]
        assert nudges.polls == [(job_id, job.poll_token)]  # exactly one chain
        ended = server.sandbox._tasks[task["task_id"]]
        ended.pending_s = ended.run_s = 0.0  # the task has finished at PiAPI
        polled = _poll(committed_sessions, PiAPIClient(server.url, "k"), job_id, job.poll_token)
    assert polled.completed
    assert server.sandbox.create_calls == 1  # paid once, and delivered
    assert _job(committed_sessions, job_id).status is Status.COMPLETED


def test_a_worker_killed_before_the_call_is_sent_again(session_factory, make_job) -> None:
    job_id = make_job()
    with session_factory.begin() as s:  # claimed, then the worker died: no create left
        jobs.claim_for_submit(s, job_id)
        s.get(Job, job_id).submitting_since = utcnow() - dt.timedelta(hours=1)
    nudges = RecordingMessages()
    sweep(session_factory, policy=SweepPolicy.from_settings(DEFAULTS), messages=nudges)
    assert nudges.submits == [job_id]
    with sandbox_server() as server:
        _submit(session_factory, PiAPIClient(server.url, "k"), job_id)
        assert server.sandbox.create_calls == 1
    assert _job(session_factory, job_id).phase is Phase.POLLING


# Invariant 7: the provider's hiccups are not the user's failures.


@pytest.mark.parametrize(
    ("spec", "min_wait"),
    [
        ('{"get": {"429": 1}, "retry_after_s": 9}', 9.0),
        ('{"get": {"500": 1}}', 1.0),
        ('{"get": {"hang": 1}, "hang_s": 1.5}', 1.0),
        ('{"get": {"malformed": 1}}', 1.0),
    ],
    ids=["429-retry-after", "500", "hang", "malformed-json"],
)
def test_a_poll_piapi_cannot_answer_is_retried_and_recorded(
    session_factory, make_job, spec, min_wait
) -> None:
    job_id = make_job()
    with sandbox_server() as healthy:
        submitted = _submit(session_factory, PiAPIClient(healthy.url, "k"), job_id)
        task_id = _job(session_factory, job_id).task_id
        with _faulty(spec) as faulty:
            # the faulty sandbox knows this task too: same id, same body
            faulty.sandbox._tasks[task_id] = healthy.sandbox._tasks[task_id]
            before = utcnow()
            outcome = _poll(
                session_factory,
                PiAPIClient(faulty.url, "k", timeouts=FAST),
                job_id,
                submitted.token,
            )
    assert outcome.is_retry
    assert outcome.next_poll_in_s >= min_wait
    job = _job(session_factory, job_id)
    assert (job.status, job.poll_count) == (Status.PROCESSING, 0)  # not the user's failure
    # From before the poll: a busy machine may take any time between the poll and here.
    assert job.next_poll_at >= before + dt.timedelta(seconds=min_wait)


# Invariant 4: one poll chain per job.


def test_duplicated_poll_chain_only_the_current_token_survives(session_factory, make_job) -> None:
    job_id = make_job()
    with sandbox_server() as server:
        client = PiAPIClient(server.url, "k")
        token = _submit(session_factory, client, job_id).token
        stale = uuid.uuid4()

        assert _poll(session_factory, client, job_id, stale).next_poll_in_s is None
        assert _poll(session_factory, client, job_id, token).next_poll_in_s == INTERVAL
        assert server.sandbox.summary()[0]["polls"] == 1  # the stale chain never asked PiAPI


# Invariant 5: terminal is final.


def test_late_poll_after_terminal_state_changes_nothing(session_factory, make_job) -> None:
    job_id = make_job()
    with sandbox_server() as server:
        client = PiAPIClient(server.url, "k")
        token = _submit(session_factory, client, job_id).token
        with session_factory.begin() as s:
            jobs.finish(s, job_id, status=Status.CANCELED, token=token)

        assert _poll(session_factory, client, job_id, token).next_poll_in_s is None
        assert server.sandbox.summary()[0]["polls"] == 0
    assert _job(session_factory, job_id).status is Status.CANCELED


# Invariant 2 and 6: accepted means durable; every job ends.


def test_lost_enqueue_is_driven_again_by_the_sweeper(session_factory, make_job) -> None:
    lost = make_job(updated_at=utcnow() - dt.timedelta(minutes=5))
    nudges = RecordingMessages()
    sweep(session_factory, policy=SweepPolicy.from_settings(DEFAULTS), messages=nudges)
    assert nudges.submits == [lost]


def test_overdue_poll_gets_a_new_chain(session_factory, make_job) -> None:
    job_id = make_job()
    with sandbox_server() as server:
        token = _submit(session_factory, PiAPIClient(server.url, "k"), job_id).token
    with session_factory.begin() as s:
        s.get(Job, job_id).next_poll_at = utcnow() - dt.timedelta(minutes=10)
    nudges = RecordingMessages()
    sweep(session_factory, policy=SweepPolicy.from_settings(DEFAULTS), messages=nudges)
    polls = nudges.polls
    assert [j for j, _ in polls] == [job_id]
    assert polls[0][1] != token


def test_deadline_fails_the_job_with_timeout(session_factory, make_job) -> None:
    job_id = make_job(deadline_at=utcnow() - dt.timedelta(seconds=1), run_deadline_s=None)
    policy = SweepPolicy.from_settings(DEFAULTS)
    report = sweep(session_factory, policy=policy, messages=RecordingMessages())
    assert report.timed_out == [job_id]
    assert _job(session_factory, job_id).error_code == "timeout"


def test_concurrent_sweepers_drive_each_job_once(committed_sessions) -> None:
    old = utcnow() - dt.timedelta(minutes=5)
    lost = {insert_job(committed_sessions, updated_at=old) for _ in range(40)}
    nodes = [RecordingMessages() for _ in range(4)]
    barrier = threading.Barrier(4)

    def one_node(nudges: RecordingMessages) -> None:
        barrier.wait()
        sweep(committed_sessions, policy=SweepPolicy.from_settings(DEFAULTS), messages=nudges)

    threads = [threading.Thread(target=one_node, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(job_id for n in nodes for job_id in n.submits) == sorted(lost)
