"""Issue 14, done-when 1: within PiAPI's plan limit, and fair, through a real Celery worker.

PiAPI allows 4 tasks at once (the sandbox refuses a fifth with 429) and a Hunyuan task
lasts about 3 s. One tenant sends 40 jobs, then another sends 3. With
PIAPI_MAX_CONCURRENT_TASKS=4 no create is refused, every job completes, and the second
tenant's jobs start at the next free slots instead of behind the burst.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from infra.messages import CeleryMessages
from infra.settings import Settings
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory
from models.jobs import Job, Status
from models.migrate import upgrade_to_head
from tests.integration.conftest import SPEC_T2V
from tests.integration.running_worker.conftest import WORKER_ARGS
from tests.stack import SandboxServer, fresh_database, process, sandbox_server, wait_until

BROKER_URL = "redis://127.0.0.1:6379/3"  # a Redis db no other test uses
LIMIT = 4
TIME_SCALE = 0.05  # Hunyuan's 60 s become 3 s
TASK_S = 60 * TIME_SCALE
BURST, FEW = 40, 3


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[str, Engine]]:
    url = fresh_database("videogen_fair_share_test")
    engine = make_engine(url)
    upgrade_to_head(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture(scope="module")
def plan_limited_sandbox() -> Iterator[SandboxServer]:
    with sandbox_server(time_scale=TIME_SCALE, max_concurrent_tasks=LIMIT) as server:
        yield server


@pytest.fixture(scope="module")
def worker(database, plan_limited_sandbox, tmp_path_factory) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(BROKER_URL).flushdb()
    log = tmp_path_factory.mktemp("fair") / "worker.log"
    env = {
        "DATABASE_URL": database[0],
        "BROKER_URL": BROKER_URL,
        "PIAPI_BASE_URL": plan_limited_sandbox.url,
        "PIAPI_API_KEY": "",
        "PIAPI_MAX_CONCURRENT_TASKS": str(LIMIT),
        "POLL_RUNTIME_SCALE": str(TIME_SCALE),
        "POLL_MIN_INTERVAL_SECONDS": "0.3",
    }
    args = [*WORKER_ARGS]
    args[args.index("-c") + 1] = "4"
    with process(args, env=env, log_path=log) as proc:
        wait_until(
            lambda: proc.poll() is not None or b"ready." in log.read_bytes(),
            timeout_s=60,
            what="celery worker ready",
        )
        assert proc.poll() is None, log.read_text()
        yield log


def _client(database_url: str, sessions: sessionmaker[Session], user_id: int) -> FlaskClient:
    sender = Celery("fair-share-sender")
    sender.config_from_object("celeryconfig")
    sender.conf.broker_url = BROKER_URL
    settings = dataclasses.replace(
        Settings.from_env(), database_url=database_url, piapi_max_concurrent_tasks=LIMIT
    )
    client = create_app(
        settings, session_factory=sessions, messages=CeleryMessages(sender)
    ).test_client()
    with sessions.begin() as session:
        key = issue_key(session, ensure_user(session, user_id, "enterprise")).secret
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def _send(client: FlaskClient, count: int, label: str) -> list[int]:
    ids = []
    for n in range(count):
        resp = client.post("/api/video/generate", json={**SPEC_T2V, "script": f"{label} {n}"})
        assert resp.status_code == 202, resp.get_json()
        ids.append(int(resp.get_json()["video_id"]))
    return ids


@pytest.mark.timeout(300)  # about 40 s of jobs, and a worker to start, on a shared machine
def test_a_burst_and_a_few_share_the_plan_without_a_refused_create(
    database, plan_limited_sandbox, worker
) -> None:
    url, engine = database
    sessions = make_session_factory(engine)
    burst_client, few_client = _client(url, sessions, 1), _client(url, sessions, 2)

    started = time.monotonic()
    _send(burst_client, BURST, "burst")
    few_sent = dt.datetime.now(dt.UTC)
    few = _send(few_client, FEW, "few")
    # Sent after the whole burst, the few still get a place near the front.
    waiting = few_client.get(f"/api/video/status/{few[0]}").get_json()["queue"]

    def all_ended() -> bool:
        with sessions() as s:
            return all(j.status != Status.PROCESSING for j in s.scalars(select(Job)))

    wait_until(all_ended, timeout_s=120, every_s=0.5, what="every job to end")
    took = time.monotonic() - started

    with sessions() as s:
        jobs = s.scalars(select(Job)).all()
    sandbox = plan_limited_sandbox.sandbox
    assert sandbox.refused_over_limit == 0
    assert sandbox.create_calls == BURST + FEW  # one create per job, none refused
    assert [j.status for j in jobs] == [Status.COMPLETED] * (BURST + FEW)

    few_jobs = [j for j in jobs if j.id in few]
    first_start = min(j.started_at for j in few_jobs) - few_sent
    all_done = max(j.completed_at for j in few_jobs) - few_sent
    print(  # noqa: T201 - the figures the issue asks for
        f"\n{BURST}+{FEW} jobs, limit {LIMIT}, {TASK_S:.0f} s tasks: all in {took:.1f} s; "
        f"the {FEW} of the second tenant: first started {first_start.total_seconds():.1f} s, "
        f"all completed {all_done.total_seconds():.1f} s after they were sent; "
        f"queue at send: {waiting}"
    )
    assert waiting is not None and waiting["waiting"] and waiting["position"] <= 2 * FEW
    # The next free slot is the second tenant's: at most one task length away.
    assert first_start.total_seconds() <= TASK_S + 1.5
    # The first tenant held all four slots: the second takes slots until its share of
    # them equals the first's, so its three start at the next frees and finish about two
    # task lengths after they were sent (the issue's done-when), not behind the 40.
    assert all_done.total_seconds() <= 2 * TASK_S + 1.5
    # Each slot is busy but for detection and the nudge: 11 rounds of ~3 s.
    assert took <= (BURST + FEW) / LIMIT * TASK_S * 1.5
