"""The transitions: each is a compare-and-set, so repeats and stale callers change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from models import in_flight, jobs
from models.db import utcnow
from models.jobs import Job, Phase, Status
from tests.bodies import SPEC_T2V


def _submit(session, job_id: int, token: uuid.UUID) -> bool:
    return jobs.mark_submitted(
        session,
        job_id,
        task_id=f"task-{job_id}",
        token=token,
        next_poll_at=utcnow() + dt.timedelta(seconds=30),
        response={"status": "pending"},
    )


def test_claim_for_submit_succeeds_once(session_factory, make_job) -> None:
    job_id = make_job()
    with session_factory.begin() as s:
        assert jobs.claim_for_submit(s, job_id)
    with session_factory.begin() as s:
        assert not jobs.claim_for_submit(s, job_id)  # a duplicated submit finds it claimed
        job = s.get(Job, job_id)
        assert job.phase is Phase.SUBMITTING
        assert job.submit_attempts == 1
        assert job.submitting_since is not None


def test_release_claim_returns_the_job_to_the_queue(session_factory, make_job) -> None:
    job_id = make_job()
    with session_factory.begin() as s:
        jobs.claim_for_submit(s, job_id)
        assert jobs.release_claim(s, job_id, retry_at=utcnow())
        assert not jobs.release_claim(s, job_id, retry_at=utcnow())
        assert jobs.claim_for_submit(s, job_id)
        assert s.get(Job, job_id).submit_attempts == 2


def test_mark_submitted_needs_a_claim(session_factory, make_job) -> None:
    job_id = make_job()
    token = uuid.uuid4()
    with session_factory.begin() as s:
        assert not _submit(s, job_id, token)  # never claimed
        jobs.claim_for_submit(s, job_id)
        assert _submit(s, job_id, token)
        job = s.get(Job, job_id)
        assert (job.phase, job.task_id, job.poll_token) == (
            Phase.POLLING,
            f"task-{job_id}",
            token,
        )
        assert job.status is Status.PROCESSING


def test_record_poll_from_a_stale_chain_changes_nothing(session_factory, make_job) -> None:
    job_id = make_job()
    token = uuid.uuid4()
    with session_factory.begin() as s:
        jobs.claim_for_submit(s, job_id)
        _submit(s, job_id, token)
        later = utcnow() + dt.timedelta(seconds=5)
        assert not jobs.record_poll(
            s, job_id, token=uuid.uuid4(), progress=50, next_poll_at=later, response={}
        )
        assert jobs.record_poll(
            s,
            job_id,
            token=token,
            progress=40,
            next_poll_at=later,
            response={"status": "processing"},
        )
        job = s.get(Job, job_id)
        s.refresh(job)
        assert (job.progress, job.poll_count) == (40, 1)


def test_terminal_is_final(session_factory, make_job) -> None:
    job_id = make_job()
    token = uuid.uuid4()
    with session_factory.begin() as s:
        jobs.claim_for_submit(s, job_id)
        _submit(s, job_id, token)
        assert jobs.finish(
            s, job_id, status=Status.COMPLETED, token=token, video_url="https://v/1.mp4"
        )
        # a late poll of the same chain, another chain, and a timeout all find it final
        assert not jobs.finish(s, job_id, status=Status.FAILED, token=token, error_code="x")
        assert not jobs.finish(s, job_id, status=Status.FAILED, error_code="timeout")
        assert not jobs.record_poll(
            s, job_id, token=token, progress=10, next_poll_at=utcnow(), response={}
        )
        job = s.get(Job, job_id)
        s.refresh(job)
        assert (job.status, job.phase, job.progress) == (
            Status.COMPLETED,
            Phase.DONE,
            100,
        )
        assert job.video_url == "https://v/1.mp4"
        assert job.error_code is None
        assert job.completed_at is not None


def test_finish_refuses_a_non_terminal_status(session_factory, make_job) -> None:
    job_id = make_job()
    with session_factory.begin() as s, pytest.raises(ValueError, match="not terminal"):
        jobs.finish(s, job_id, status=Status.PROCESSING)


def test_naive_datetimes_are_refused(session_factory, make_job) -> None:
    with pytest.raises(Exception, match="naive"):
        make_job(deadline_at=dt.datetime(2030, 1, 1))  # noqa: DTZ001


def _finished_count(status: Status, provider: str) -> float:
    labels = {"state": status.value, "provider": provider}
    return REGISTRY.get_sample_value("videogen_jobs_finished_total", labels) or 0.0


def test_every_ending_is_counted_once_after_its_commit(session_factory, make_job) -> None:
    finished, overdue, stuck, rolled_back = (make_job() for _ in range(4))
    now = utcnow()
    with session_factory.begin() as s:
        jobs.claim_for_submit(s, stuck)
        s.get(Job, overdue).deadline_at = now - dt.timedelta(seconds=1)
        s.get(Job, overdue).run_deadline_s = None  # the request's own deadline: it counts
        # The worker died mid-call: its create left an hour ago.
        s.get(Job, stuck).submitting_since = now - dt.timedelta(hours=1)
        s.get(Job, stuck).create_sent_at = now - dt.timedelta(hours=1)
        provider = s.get(Job, finished).provider
    completed = _finished_count(Status.COMPLETED, provider)
    failed = _finished_count(Status.FAILED, provider)

    with session_factory.begin() as s:
        assert jobs.finish(s, finished, status=Status.COMPLETED, video_url="https://v/1.mp4")
        assert not jobs.finish(s, finished, status=Status.FAILED, error_code="late")
        assert _finished_count(Status.COMPLETED, provider) == completed  # not committed yet
    with session_factory.begin() as s:
        jobs.expire_overdue(s, now=now)
        jobs.fail_stuck_submissions(s, older_than=now - dt.timedelta(minutes=5), now=now)
    canceled = _finished_count(Status.CANCELED, provider)
    with session_factory() as s:
        s.begin()
        assert jobs.cancel(s, rolled_back)
        s.rollback()  # the cancel never happened, so it is not counted

    assert _finished_count(Status.COMPLETED, provider) - completed == 1
    assert _finished_count(Status.FAILED, provider) - failed == 2
    assert _finished_count(Status.CANCELED, provider) == canceled


# -- A model's run allowance starts with the job ----------------------------------------


def test_a_job_waiting_for_its_start_keeps_its_models_allowance(session_factory, make_job) -> None:
    # Accepted an hour ago and never claimed (waiting for a PiAPI slot, say): the model's
    # 15 minutes have not started, so the sweeper's deadline pass leaves it.
    long_ago = utcnow() - dt.timedelta(hours=1)
    job_id = make_job(created_at=long_ago, deadline_at=long_ago + dt.timedelta(minutes=15))
    with session_factory.begin() as s:
        assert s.get(Job, job_id).run_deadline_s == 15 * 60  # the spec's body: Hunyuan
        assert jobs.expire_overdue(s, now=utcnow()) == []

    with session_factory.begin() as s:
        assert jobs.claim_for_submit(s, job_id) == 1
    with session_factory() as s:
        deadline = s.get(Job, job_id).deadline_at
    assert utcnow() + dt.timedelta(minutes=14) < deadline <= utcnow() + dt.timedelta(minutes=15)


def test_the_requests_own_deadline_counts_the_wait_too(session_factory, make_job) -> None:
    long_ago = utcnow() - dt.timedelta(hours=1)
    job_id = make_job(
        {**SPEC_T2V, "deadline_seconds": 600},
        created_at=long_ago,
        deadline_at=long_ago + dt.timedelta(seconds=600),
    )
    with session_factory.begin() as s:
        assert s.get(Job, job_id).run_deadline_s is None
        assert [job for job, _ in jobs.expire_overdue(s, now=utcnow())] == [job_id]


def test_only_the_first_claim_starts_the_allowance(session_factory, make_job) -> None:
    job_id = make_job()
    with session_factory.begin() as s:
        assert jobs.claim_for_submit(s, job_id) == 1
        first = s.get(Job, job_id).deadline_at
        assert jobs.release_claim(s, job_id, retry_at=utcnow())
    with session_factory.begin() as s:  # PiAPI refused the create; the retry is claimed
        assert jobs.claim_for_submit(s, job_id) == 2
    with session_factory() as s:
        assert s.get(Job, job_id).deadline_at == first  # a refused start buys no more time


def _values(user_id: int) -> dict:
    """The columns generate inserts for the spec's text-to-video request of this user."""
    from api.auth import Principal
    from api.schemas import GenerateRequest
    from api.submissions import new_job_values

    return new_job_values(GenerateRequest().load(SPEC_T2V), Principal(user_id, "pro"))


def _built(user_id: int) -> Job:
    """That job as an ORM object, not added."""
    return Job(**_values(user_id))


# Columns that differ between two jobs built from one request: ids, clocks, secrets.
_MOMENTS = {"id", "created_at", "updated_at", "deadline_at", "hook_token"}


def test_insert_new_writes_what_a_flush_writes(session_factory) -> None:
    # generate inserts with jobs.insert_new, not the unit of work: same columns, same defaults.
    with session_factory.begin() as s:
        flushed = _built(1)
        s.add(flushed)
        s.flush()
        row = jobs.insert_new(s, _values(1))
        by_flush = s.get(Job, flushed.id)
        assert row.id != flushed.id
        for column in Job.__table__.c:
            if column.key not in _MOMENTS:
                assert getattr(row, column.key) == getattr(by_flush, column.key), column.key
        assert row.status == Status.PROCESSING and row.phase == Phase.QUEUED
        assert row.created_at is not None and row.updated_at is not None
    _assert_stored_as_shown(session_factory, row)


def _assert_stored_as_shown(session_factory, shown) -> None:
    # An InsertedJob is built from the values sent, not read back: every column of it,
    # clocks included, is what the row holds.
    with session_factory() as s:
        stored = s.get(Job, shown.id)
        for column in Job.__table__.c:
            assert getattr(shown, column.key) == getattr(stored, column.key), column.key


def test_an_inserted_job_shows_the_cost_as_stored(session_factory) -> None:
    # Numeric(10, 4): a computed price with more places is rounded by the database, and
    # the body generate answers shows what status will show.
    with session_factory.begin() as s:
        row = jobs.insert_new(s, _values(2) | {"cost": Decimal("0.123456")})
    assert row.cost == Decimal("0.1235")
    _assert_stored_as_shown(session_factory, row)


def test_insert_counted_writes_what_insert_new_writes_in_one_statement(session_factory) -> None:
    # generate's usual case: the free shard is chosen inside the INSERT (no round trip of
    # its own), and the row is the one insert_new writes, counted in that shard.
    with session_factory.begin() as s:
        in_flight.create_shards(s, 7)
    with session_factory.begin() as s:
        plain = jobs.insert_new(s, _values(7) | {"in_flight_shard": 3})
        table = Job.__table__
        counted = in_flight.insert_in_a_free_shard(
            s.connection(), table, _values(7), returning=tuple(table.c), user_id=7, limit=32
        )
        assert counted is not None  # one statement did it: a shard was free
        for column in Job.__table__.c:
            if column.key not in _MOMENTS | {"in_flight_shard"}:
                assert getattr(counted, column.key) == getattr(plain, column.key), column.key
        assert 0 <= counted.in_flight_shard < in_flight.SHARDS
    with session_factory() as s:
        assert in_flight.count_in_flight(s, 7) == 2
    with session_factory.begin() as s:  # as generate has it, built from what was sent
        shown = jobs.insert_counted(s, _values(7), user_id=7, limit=32)
    _assert_stored_as_shown(session_factory, shown)


def test_insert_counted_stops_at_the_limit(session_factory) -> None:
    # As generate calls it: a plain session (it may roll back), committed after. The first
    # call finds no shards (none made yet) and goes the careful way, which makes them.
    taken = []
    for _ in range(3):  # quotas of 1 in shards 0-2, 0 in the others
        with session_factory() as s:
            row = jobs.insert_counted(s, _values(8), user_id=8, limit=3)
            assert row is not None
            taken.append(row.in_flight_shard)
            s.commit()
    assert sorted(taken) == [0, 1, 2]
    with session_factory() as s:
        assert jobs.insert_counted(s, _values(8), user_id=8, limit=3) is None
        assert in_flight.count_in_flight(s, 8) == 3


def test_insert_counted_committed_commits_apart_from_an_idle_session(committed_sessions) -> None:
    # generate's usual case: nothing read or locked yet, so the one statement runs in a
    # transaction of its own and commits; the request's session never begins.
    with committed_sessions.begin() as s:
        in_flight.create_shards(s, 9)
    rows = []
    with committed_sessions() as s:
        for _ in range(3):
            rows.append(jobs.insert_counted_committed(s, _values(9), user_id=9, limit=3))
            assert not s.in_transaction()
        # At the limit nothing is written, and the session (the careful way) is left to
        # the caller to roll back.
        assert jobs.insert_counted_committed(s, _values(9), user_id=9, limit=3) is None
        s.rollback()
    assert all(row is not None for row in rows)
    with committed_sessions() as other:  # another connection sees them: committed
        assert in_flight.count_in_flight(other, 9) == 3
        assert sorted(other.scalars(select(Job.id).where(Job.user_id == 9))) == sorted(
            row.id for row in rows if row is not None
        )
    _assert_stored_as_shown(committed_sessions, rows[0])


def test_insert_counted_committed_joins_a_session_that_holds_something(
    committed_sessions,
) -> None:
    # A replay's read or an upload's lock began the session: the insert joins that
    # transaction (an upload stays locked until the job commits) and commits it.
    with committed_sessions.begin() as s:
        in_flight.create_shards(s, 10)
    with committed_sessions() as s:
        s.execute(select(Job.id).where(Job.user_id == 10)).all()
        row = jobs.insert_counted_committed(s, _values(10), user_id=10, limit=3)
        assert row is not None
        assert not s.in_transaction()  # the session's transaction, committed
    with committed_sessions() as other:
        assert other.get(Job, row.id) is not None


def test_a_full_user_is_refused_on_the_test_connection_too(session_factory) -> None:
    # Tests bind sessions to one connection: the transaction apart is a savepoint there,
    # and a refused one leaves the test's own writes alone.
    with session_factory.begin() as s:
        in_flight.create_shards(s, 11)
        kept = jobs.insert_new(s, _values(11) | {"status": Status.COMPLETED, "phase": Phase.DONE})
    with session_factory() as s:
        assert jobs.insert_counted_committed(s, _values(11), user_id=11, limit=1) is not None
        assert jobs.insert_counted_committed(s, _values(11), user_id=11, limit=1) is None
        s.rollback()
    with session_factory() as s:
        assert s.get(Job, kept.id) is not None
        assert in_flight.count_in_flight(s, 11) == 1
