"""The sweeper on real Postgres: lost enqueues, dead submissions, overdue polls, deadlines."""

from __future__ import annotations

import datetime as dt
import uuid

from models import create_outcome, jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status
from tests.fakes import RecordingMessages
from workers.sweeper import SweepPolicy, sweep

POLICY = SweepPolicy(queued_grace_s=60, submitting_grace_s=300, poll_grace_s=120)


def _sweep(session_factory, now=None):
    nudges = RecordingMessages()
    report = sweep(session_factory, policy=POLICY, messages=nudges, now=now)
    return report, nudges.submits, nudges.polls


def _polling(session_factory, make_job, *, next_poll_in_s: float) -> tuple[int, uuid.UUID]:
    job_id = make_job()
    token = uuid.uuid4()
    with session_factory.begin() as s:
        jobs.claim_for_submit(s, job_id)
        jobs.mark_submitted(
            s,
            job_id,
            task_id=f"t-{job_id}",
            token=token,
            next_poll_at=utcnow() + dt.timedelta(seconds=next_poll_in_s),
            response=None,
        )
    return job_id, token


def test_a_lost_enqueue_is_driven_again_once(session_factory, make_job) -> None:
    lost = make_job(updated_at=utcnow() - dt.timedelta(minutes=5))
    fresh = make_job()

    _, submits, _ = _sweep(session_factory)
    _, again, _ = _sweep(session_factory)  # a second beat, or another node, right after

    assert submits == [lost]
    assert fresh not in submits
    assert again == []


def test_an_interrupted_submission_fails_as_unknown_and_is_not_resubmitted(
    session_factory, make_job
) -> None:
    job_id = make_job()
    with session_factory.begin() as s:
        attempt = jobs.claim_for_submit(s, job_id)
        assert create_outcome.mark_create_sent(s, job_id, attempt=attempt)
        job = s.get(Job, job_id)
        job.submitting_since = job.create_sent_at = utcnow() - dt.timedelta(minutes=10)

    report, submits, _ = _sweep(session_factory)

    assert report.unknown_submissions == [job_id]
    assert submits == []
    with session_factory() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.error_code) == (Status.FAILED, "submission_unknown")


def test_an_overdue_poll_gets_a_new_chain_and_the_old_one_is_dead(
    session_factory, make_job
) -> None:
    overdue, old_token = _polling(session_factory, make_job, next_poll_in_s=-600)
    on_time, _ = _polling(session_factory, make_job, next_poll_in_s=30)

    _, _, polls = _sweep(session_factory)
    _, _, again = _sweep(session_factory)

    assert [job_id for job_id, _ in polls] == [overdue]
    assert again == []
    new_token = polls[0][1]
    assert new_token != old_token
    with session_factory.begin() as s:
        assert s.get(Job, overdue).poll_token == new_token
        assert not jobs.record_poll(
            s,
            overdue,
            token=old_token,
            progress=1,
            next_poll_at=utcnow(),
            response=None,
        )
        assert s.get(Job, on_time).phase is Phase.POLLING


def test_jobs_past_their_deadline_fail_with_timeout(session_factory, make_job) -> None:
    # The request's own deadline counts the wait (run_deadline_s None); a model's does not.
    queued = make_job(deadline_at=utcnow() - dt.timedelta(seconds=1), run_deadline_s=None)
    waiting = make_job(deadline_at=utcnow() - dt.timedelta(seconds=1))
    polling, _ = _polling(session_factory, make_job, next_poll_in_s=30)
    with session_factory.begin() as s:
        s.get(Job, polling).deadline_at = utcnow() - dt.timedelta(seconds=1)
    finished = make_job(deadline_at=utcnow() - dt.timedelta(seconds=1))
    with session_factory.begin() as s:
        jobs.finish(s, finished, status=Status.COMPLETED, video_url="https://v")

    report, submits, polls = _sweep(session_factory)

    assert sorted(report.timed_out) == sorted([queued, polling])
    assert (submits, polls) == ([], [])
    with session_factory() as s:
        assert s.get(Job, queued).error_code == "timeout"
        assert s.get(Job, waiting).status is Status.PROCESSING  # its allowance has not begun
        assert s.get(Job, finished).status is Status.COMPLETED  # terminal is final


def test_a_lost_store_message_is_sent_again(session_factory, make_job) -> None:
    lost = make_job(
        status="completed",
        storage_state="pending",
        storage_due_at=utcnow() - dt.timedelta(minutes=10),
    )
    make_job(status="completed", storage_state="pending", storage_due_at=utcnow())

    nudges = RecordingMessages()
    report = sweep(session_factory, policy=POLICY, messages=nudges)
    again = RecordingMessages()
    sweep(session_factory, policy=POLICY, messages=again)

    assert report.stores_resent == nudges.stores == [lost]
    assert again.stores == []
