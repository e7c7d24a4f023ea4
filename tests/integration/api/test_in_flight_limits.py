"""Tier limits on jobs in flight hold exactly under concurrent requests, and across tier changes."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import Principal
from api.schemas import GenerateRequest
from api.submissions import TooManyInFlightError, accept
from models import jobs
from models.accounts import ensure_user
from models.db import make_engine, make_session_factory
from models.in_flight import SHARDS, InFlightShard, count_in_flight
from models.jobs import Job, Phase, Status
from models.migrate import upgrade_to_head
from tests.fakes import RecordingMessages
from tests.integration.conftest import SPEC_T2V, new_key

pytestmark = pytest.mark.integration

THREADS = 64
ROUNDS = 3


def race(n: int, request: Callable[[int], int]) -> Counter[int]:
    """Call request(i) from n threads released at once; a count of the answers' statuses."""
    start = threading.Barrier(n)
    answers: list[int] = []
    failures: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            answers.append(request(i))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    return Counter(answers)


def processing(factory: sessionmaker[Session], user_id: int) -> int:
    with factory() as s:
        return s.scalar(
            select(func.count()).where(Job.user_id == user_id, Job.status == Status.PROCESSING)
        )


def end_all(factory: sessionmaker[Session], user_id: int) -> None:
    with factory.begin() as s:
        for job_id in s.scalars(
            select(Job.id).where(Job.user_id == user_id, Job.status == Status.PROCESSING)
        ):
            assert jobs.finish(s, job_id, status=Status.COMPLETED)


def assert_counts_right(factory: sessionmaker[Session], user_id: int, limit: int) -> None:
    """The shards agree with the jobs, and none holds more than its share of the limit."""
    with factory() as s:
        shards = dict(
            s.execute(
                select(InFlightShard.shard, InFlightShard.count).where(
                    InFlightShard.user_id == user_id
                )
            ).all()
        )
        real = Counter(
            s.scalars(
                select(Job.in_flight_shard).where(
                    Job.user_id == user_id, Job.status == Status.PROCESSING
                )
            ).all()
        )
    assert {k: v for k, v in shards.items() if v} == dict(real)
    for shard, count in shards.items():
        assert count <= limit // SHARDS + (1 if shard < limit % SHARDS else 0)


@pytest.fixture
def committed_app(settings, committed_sessions):  # type: ignore[no-untyped-def]
    return create_app(settings, session_factory=committed_sessions, messages=RecordingMessages())


@pytest.mark.parametrize(("user_id", "tier", "limit"), [(31, "free", 2), (32, "pro", 50)])
def test_racing_requests_get_exactly_the_limit(
    committed_app, committed_sessions, user_id: int, tier: str, limit: int
) -> None:
    key = new_key(committed_sessions, user_id, tier)
    headers = {"Authorization": f"Bearer {key}"}

    def generate(_: int) -> int:
        with committed_app.test_client() as client:
            return client.post("/api/video/generate", json=SPEC_T2V, headers=headers).status_code

    for _ in range(ROUNDS):
        got = race(THREADS, generate)
        assert got == {202: limit, 429: THREADS - limit}
        assert processing(committed_sessions, user_id) == limit
        assert_counts_right(committed_sessions, user_id, limit)
        end_all(committed_sessions, user_id)
        assert processing(committed_sessions, user_id) == 0
        assert_counts_right(committed_sessions, user_id, limit)


def test_the_limit_holds_while_jobs_end_concurrently(committed_app, committed_sessions) -> None:
    key = new_key(committed_sessions, 33, "pro")
    headers = {"Authorization": f"Bearer {key}"}
    stop = threading.Event()
    highest = [0]

    def watch() -> None:  # every snapshot of the jobs themselves stays within the limit
        while not stop.is_set():
            highest[0] = max(highest[0], processing(committed_sessions, 33))

    def generate(_: int) -> int:
        with committed_app.test_client() as client:
            return client.post("/api/video/generate", json=SPEC_T2V, headers=headers).status_code

    def churn(i: int) -> int:
        rng, refused = random.Random(i), 0
        with committed_app.test_client() as client:
            for _ in range(12):
                resp = client.post("/api/video/generate", json=SPEC_T2V, headers=headers)
                assert resp.status_code in (202, 429)
                refused += resp.status_code == 429
                if resp.status_code == 202 and rng.random() < 0.5:
                    video_id = resp.get_json()["video_id"]
                    cancel = client.post(f"/api/video/{video_id}/cancel", headers=headers)
                    assert cancel.status_code == 200
        return refused

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        refusals = race(32, churn)
    finally:
        stop.set()
        watcher.join()
    assert highest[0] <= 50
    assert sum(n * times for n, times in refusals.items()) > 0  # it reached the limit
    assert_counts_right(committed_sessions, 33, 50)

    room = 50 - processing(committed_sessions, 33)  # no count was lost or leaked
    assert race(THREADS, generate) == Counter({202: room, 429: THREADS - room})


def test_tier_changes_up_and_down_keep_the_limit_exact(make_client, session_factory) -> None:
    def client_as(tier: str):  # type: ignore[no-untyped-def]
        return make_client(user_id=41, tier=tier)  # ensure_user moves the user to tier

    def generate(client, times: int) -> list[int]:  # type: ignore[no-untyped-def]
        return [client.post("/api/video/generate", json=SPEC_T2V).status_code for _ in range(times)]

    free = client_as("free")
    assert generate(free, 3) == [202, 202, 429]

    pro = client_as("pro")
    assert generate(pro, 49) == [202] * 48 + [429]

    free = client_as("free")  # 50 in flight, over the new limit of 2
    assert generate(free, 1) == [429]
    with session_factory.begin() as s:
        ids = s.scalars(
            select(Job.id)
            .where(Job.user_id == 41, Job.status == Status.PROCESSING)
            .order_by(func.random())
        ).all()
        for job_id in ids[:48]:  # leaves 2: still at the limit, wherever they are counted
            assert jobs.cancel(s, job_id)
    assert generate(free, 1) == [429]
    with session_factory.begin() as s:
        assert jobs.cancel(s, ids[48])
    assert generate(free, 2) == [202, 429]
    assert free.get("/api/account").get_json()["in_flight"] == 2

    pro = client_as("pro")
    assert generate(pro, 49) == [202] * 48 + [429]
    assert pro.get("/api/account").get_json()["in_flight"] == 50


def test_the_account_shows_the_jobs_in_flight(client, session_factory) -> None:
    assert client.get("/api/account").get_json()["in_flight"] == 0
    ids = [client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"] for _ in "abc"]
    assert client.get("/api/account").get_json()["in_flight"] == 3

    assert client.post(f"/api/video/{ids[0]}/cancel").status_code == 200
    with session_factory.begin() as s:
        s.execute(
            update(Job)
            .where(Job.id == int(ids[1]))
            .values(status=Status.COMPLETED, phase=Phase.DONE)
        )
    body = client.get("/api/account").get_json()
    assert (body["in_flight"], body["max_in_flight"]) == (1, 50)


def test_requests_racing_with_one_idempotency_key_count_one_job(
    committed_app, committed_sessions
) -> None:
    key = new_key(committed_sessions, 34, "free")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "same"}

    def generate(_: int) -> int:
        with committed_app.test_client() as client:
            return client.post("/api/video/generate", json=SPEC_T2V, headers=headers).status_code

    got = race(16, generate)
    assert got[202] == 1 and got[202] + got[200] == 16  # the losers' inserts were undone
    assert processing(committed_sessions, 34) == 1
    assert_counts_right(committed_sessions, 34, 2)
    with committed_sessions() as s:
        assert count_in_flight(s, 34) == 1


def test_racing_requests_get_exactly_the_limit_on_sqlite(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/limits.sqlite3")
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    req = GenerateRequest().load(SPEC_T2V)
    with factory.begin() as s:
        ensure_user(s, 51, "free")
        ensure_user(s, 52, "pro")

    def generate_as(user: Principal) -> Callable[[int], int]:
        def generate(i: int) -> int:
            with factory() as s:
                try:
                    accept(s, req, user, key=None, body_hash=str(i))
                except TooManyInFlightError:
                    return 429
            return 202

        return generate

    for user_id, tier, limit in ((51, "free", 2), (52, "pro", 50)):
        got = race(THREADS, generate_as(Principal(user_id, tier)))
        assert got == {202: limit, 429: THREADS - limit}
        with factory() as s:
            assert count_in_flight(s, user_id) == limit
        assert processing(factory, user_id) == limit
    engine.dispose()


def test_a_user_made_without_its_shards_gets_them_at_its_first_request(
    make_client, session_factory
) -> None:
    client = make_client(user_id=43, tier="free")
    with session_factory.begin() as s:  # as if made by hand in SQL, before migration 0010
        s.execute(delete(InFlightShard).where(InFlightShard.user_id == 43))

    got = [client.post("/api/video/generate", json=SPEC_T2V).status_code for _ in range(3)]

    assert got == [202, 202, 429]
    with session_factory() as s:
        shards = s.scalars(select(InFlightShard.shard).where(InFlightShard.user_id == 43)).all()
    assert sorted(shards) == list(range(SHARDS))
    assert_counts_right(session_factory, 43, 2)
