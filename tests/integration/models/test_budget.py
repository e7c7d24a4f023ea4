"""PiAPI's budget: slots counted from the rows, never more than the limit, tenants in turn."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from models import budget, fair_share, jobs
from models.db import make_engine, make_session_factory, utcnow
from models.fair_share import SlotOwner, TenantTurn
from models.jobs import Job, Phase, Status
from models.migrate import upgrade_to_head
from tests.integration.conftest import insert_job

Factory = sessionmaker[Session]
T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def factory(request: pytest.FixtureRequest, tmp_path) -> Iterator[Factory]:  # type: ignore[no-untyped-def]
    """The test's sessions: Postgres (rolled back at the end) and a SQLite file."""
    if request.param == "postgresql":
        yield request.getfixturevalue("session_factory")
        return
    engine = make_engine(f"sqlite:///{tmp_path}/budget.sqlite3")
    upgrade_to_head(engine)
    yield make_session_factory(engine)
    engine.dispose()


def waiting(factory: Factory, user_id: int, count: int, *, start: dt.datetime = T0) -> list[int]:
    """count jobs of user_id accepted one second apart from start, oldest first."""
    return [
        insert_job(factory, user_id=user_id, created_at=start + dt.timedelta(seconds=n))
        for n in range(count)
    ]


def claim(factory: Factory, limit: int = 100, now: dt.datetime | None = None) -> int | None:
    with factory.begin() as s:
        return budget.claim_next(s, limit=limit, now=now or utcnow())


def end(factory: Factory, job_id: int) -> None:
    with factory.begin() as s:
        assert jobs.finish(s, job_id, status=Status.COMPLETED)


def held(factory: Factory) -> int:
    with factory() as s:
        return budget.slots_held(s, limit=1000)


def test_claims_stop_at_the_limit_and_resume_when_a_task_ends(factory: Factory) -> None:
    ids = waiting(factory, 1, 6)

    started = [claim(factory, limit=4) for _ in range(5)]

    assert started == [*ids[:4], None]
    assert held(factory) == 4
    end(factory, ids[1])
    assert claim(factory, limit=4) == ids[4]
    assert claim(factory, limit=4) is None


def test_every_phase_between_queued_and_done_holds_a_slot(factory: Factory) -> None:
    _queued, submitting, polling, done = waiting(factory, 1, 4)
    with factory.begin() as s:
        for job_id in (submitting, polling, done):
            assert jobs.claim_for_submit(s, job_id)
        s.execute(update(Job).where(Job.id == polling).values(phase=Phase.POLLING))
        assert jobs.finish(s, done, status=Status.FAILED)

    assert held(factory) == 2
    with factory() as s:
        assert budget.slots_held(s, limit=1) == 1  # counted only as far as the limit


def test_a_tenant_that_waits_starts_next_whatever_the_burst_ahead(factory: Factory) -> None:
    a = waiting(factory, 1, 10)
    assert claim(factory, limit=1) == a[0]  # A's burst is under way
    b = waiting(factory, 2, 3, start=T0 + dt.timedelta(minutes=5))
    end(factory, a[0])

    order = []
    while (job_id := claim(factory, limit=1)) is not None:
        order.append(job_id)
        end(factory, job_id)

    assert order == [b[0], a[1], b[1], a[2], b[2], *a[3:]]


def test_a_tenant_that_begins_waiting_catches_up_to_an_equal_share_of_the_slots(
    factory: Factory,
) -> None:
    a = waiting(factory, 1, 10)
    for job_id in a[:4]:  # A alone had all four slots
        assert claim(factory, limit=4) == job_id
    b = waiting(factory, 2, 3, start=T0 + dt.timedelta(minutes=5))
    for job_id in a[:4]:  # they end together
        end(factory, job_id)

    order = [claim(factory, limit=4) for _ in range(4)]

    # B takes slots until it holds as many of the last four as A (2-2), then turns
    # alternate, the older turn first: A's.
    assert order == [b[0], b[1], a[4], b[2]]


def test_tenants_never_started_go_first_then_take_turns(factory: Factory) -> None:
    a = waiting(factory, 7, 3)
    b = waiting(factory, 3, 2, start=T0 + dt.timedelta(hours=1))
    c = waiting(factory, 5, 1, start=T0 + dt.timedelta(hours=2))
    with factory.begin() as s:  # 5 started long ago, 3 and 7 never
        s.add(TenantTurn(user_id=5, last_started_at=T0 - dt.timedelta(days=1)))

    order = [claim(factory) for _ in range(6)]

    assert order == [b[0], a[0], c[0], b[1], a[1], a[2]]
    assert claim(factory) is None


def test_a_refused_job_is_skipped_until_it_is_due_again(factory: Factory) -> None:
    first, second = waiting(factory, 1, 2)
    now = utcnow()
    assert claim(factory, limit=1, now=now) == first
    with factory.begin() as s:  # PiAPI answered 429 with Retry-After: 30
        assert jobs.release_claim(s, first, retry_at=now + dt.timedelta(seconds=30))

    assert claim(factory, limit=1, now=now) == second
    end(factory, second)
    assert claim(factory, limit=1, now=now + dt.timedelta(seconds=10)) is None
    assert claim(factory, limit=1, now=now + dt.timedelta(seconds=31)) == first


def test_a_job_canceled_before_its_claim_is_passed_over(factory: Factory) -> None:
    first, second = waiting(factory, 1, 2)
    with factory.begin() as s:
        assert jobs.cancel(s, first)

    assert claim(factory) == second


def test_waiting_due_counts_up_to_the_cap(factory: Factory) -> None:
    ids = waiting(factory, 1, 5)
    now = utcnow()
    with factory.begin() as s:
        s.execute(
            update(Job).where(Job.id == ids[0]).values(next_poll_at=now + dt.timedelta(hours=1))
        )

    with factory() as s:
        assert budget.waiting_due(s, now=now, cap=100) == 4
        assert budget.waiting_due(s, now=now, cap=2) == 2


def test_each_waiting_jobs_place_is_the_order_it_starts_in(factory: Factory) -> None:
    a = waiting(factory, 1, 6)
    assert claim(factory, limit=1) == a[0]
    end(factory, a[0])
    waiting(factory, 2, 3, start=T0 + dt.timedelta(minutes=1))
    waiting(factory, 3, 1, start=T0 + dt.timedelta(minutes=2))
    with factory.begin() as s:  # 3 had its turn before A's
        s.add(TenantTurn(user_id=3, last_started_at=T0 - dt.timedelta(days=1)))
    with factory() as s:
        queued = s.scalars(select(Job).where(Job.phase == Phase.QUEUED)).all()
        places = {job.id: fair_share.place_in_line(s, job, slots=1).position for job in queued}

    order = []
    while (job_id := claim(factory, limit=1)) is not None:
        order.append(job_id)
        end(factory, job_id)

    assert [places[job_id] for job_id in order] == list(range(1, len(order) + 1))
    assert fair_share.Place(3, 4).as_dict() == {"waiting": True, "position": 3, "slots": 4}


# --- under concurrency, on Postgres -------------------------------------------------


@pytest.fixture
def committed(committed_sessions: Factory, engine: Engine) -> Iterator[Factory]:
    yield committed_sessions
    with engine.begin() as conn:
        conn.execute(delete(TenantTurn))
        conn.execute(delete(SlotOwner))


def test_racing_starters_never_hold_more_than_the_limit(committed: Factory) -> None:
    limit, starters, total = 4, 12, 60
    for user_id in range(1, 5):
        waiting(committed, user_id, total // 4)
    most = [0]
    stop = threading.Event()
    errors: list[BaseException] = []

    def watch() -> None:
        while not stop.is_set():
            with committed() as s:
                count = s.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.phase.not_in([Phase.QUEUED, Phase.DONE]))
                )
            most[0] = max(most[0], count or 0)

    def start_and_end() -> None:
        try:
            while True:
                job_id = claim(committed, limit=limit)
                if job_id is None:
                    with committed() as s:
                        if budget.waiting_due(s, now=utcnow(), cap=1) == 0:
                            return
                    time.sleep(0.001)
                    continue
                time.sleep(0.1)  # the task runs at PiAPI
                end(committed, job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=start_and_end) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stop.set()
    watcher.join(10)

    assert not errors
    with committed() as s:
        done = s.scalar(select(func.count()).select_from(Job).where(Job.phase == Phase.DONE))
    assert done == total
    assert most[0] == limit  # reached, and never passed


def test_the_pick_reads_the_waiting_index_not_the_backlog(committed: Factory, engine) -> None:  # type: ignore[no-untyped-def]
    """10,000 jobs of one tenant waiting and a few of others: the pick stays a few ms."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO video_generations (user_id, provider, model_name, task_type,"
                " generation_mode, prompt, script, style, aspect_ratio, requested_duration,"
                " actual_duration, cost, status, phase, progress, poll_count, submit_attempts,"
                " storage_attempts, created_at, updated_at, deadline_at)"
                " SELECT 1, 'piapi_hunyuan_fast', 'hunyuan-fast', 'fast-txt2video',"
                " 'text_to_video', 'p', 's', 'social', '16:9', 5, 5, 0.03, 'processing',"
                " 'queued', 0, 0, 0, 0, now() - interval '1 hour' + n * interval '1 ms',"
                " now(), now() + interval '1 day' FROM generate_series(1, 10000) AS n"
            )
        )
        conn.execute(text("ANALYZE video_generations"))
    others = [waiting(committed, user_id, 1, start=utcnow())[0] for user_id in (2, 3, 4)]

    claims = []
    for _ in range(4):  # the burst's oldest and the three others (never started: by id)
        t0 = time.perf_counter()
        claim(committed, limit=100)  # the pick, the claim and a durable commit
        claims.append(time.perf_counter() - t0)
    picks = []
    with committed() as s:
        for _ in range(9):
            t0 = time.perf_counter()
            assert fair_share.next_job(s, limit=100, now=utcnow()) is not None
            picks.append(time.perf_counter() - t0)
    with committed() as s:
        deep = s.scalars(
            select(Job).where(Job.user_id == 1, Job.phase == Phase.QUEUED).order_by(Job.id.desc())
        ).first()
        assert deep is not None
        t0 = time.perf_counter()
        place = fair_share.place_in_line(s, deep, slots=4)
        placed_in = time.perf_counter() - t0
        plan = "\n".join(
            s.execute(
                text("EXPLAIN (ANALYZE, BUFFERS) " + fair_share._NEXT_TENANT.text),
                {"now": utcnow(), "limit": 100},
            ).scalars()
        )
        phases = {s.get_one(Job, job_id).phase for job_id in others}

    assert phases == {Phase.SUBMITTING}
    assert place.position == 9_999  # the 9,998 older ones of its own tenant go first
    assert "ix_video_generations_waiting" in plan
    assert "Seq Scan on video_generations" not in plan
    ms = [round(t * 1000, 2) for t in picks], [round(t * 1000, 1) for t in claims]
    print(f"\nat 10,000 waiting: pick {ms[0]} ms; claim with commit {ms[1]} ms;")  # noqa: T201
    print(f"place of the newest of 10,000: {placed_in * 1000:.2f} ms")  # noqa: T201
    # Pages read by the whole pick: a few per waiting tenant, not the 10,000 rows' worth.
    top = next(line for line in plan.splitlines() if "Buffers:" in line)
    pages = sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", top))
    print(f"pages read by the pick: {pages}")  # noqa: T201
    assert 0 < pages < 100, plan
    assert sorted(picks)[len(picks) // 2] < 0.05  # a loose bound: the machine is shared
