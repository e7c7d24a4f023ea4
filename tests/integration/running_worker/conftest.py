"""A real Celery worker process on Redis, a committed database, and the sandbox over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from infra.messages import CeleryMessages
from infra.settings import Settings
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory
from models.migrate import upgrade_to_head
from tests.stack import (
    SandboxServer,
    fresh_database,
    process,
    sandbox_server,
    wait_until,
)

SANDBOX_TIME_SCALE = 0.015  # a Hunyuan task takes about a second
BROKER_URL = "redis://127.0.0.1:6379/15"  # a Redis db of its own, flushed per session


WORKER_ARGS = ["celery", "-A", "workers", "worker", "-Q", "submit,poll", "-c", "2",
               "--without-mingle", "--without-gossip", "--loglevel", "INFO"]  # fmt: skip


def worker_process(env: dict[str, str], log: Path):  # type: ignore[no-untyped-def]
    """A real Celery worker on the submit and poll queues, stopped afterwards."""
    return process(WORKER_ARGS, env=env, log_path=log)


@pytest.fixture(scope="session")
def worker_db_url() -> str:
    return fresh_database("videogen_worker_test")


@pytest.fixture(scope="session")
def worker_engine(worker_db_url: str) -> Iterator[Engine]:
    engine = make_engine(worker_db_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def live_sandbox() -> Iterator[SandboxServer]:
    with sandbox_server(time_scale=SANDBOX_TIME_SCALE) as server:
        yield server


@pytest.fixture(scope="session")
def celery_worker_process(
    worker_db_url: str,
    live_sandbox: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    redis.Redis.from_url(BROKER_URL).flushdb()
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        "DATABASE_URL": worker_db_url,
        "BROKER_URL": BROKER_URL,
        "PIAPI_BASE_URL": live_sandbox.url,
        "PIAPI_API_KEY": "",
        # The adaptive policy, planning with the sandbox's runtimes.
        "POLL_RUNTIME_SCALE": str(SANDBOX_TIME_SCALE),
        "POLL_MIN_INTERVAL_SECONDS": "0.3",
    }
    with worker_process(env, log) as proc:
        wait_until(
            lambda: proc.poll() is not None or b"ready." in log.read_bytes(),
            timeout_s=60,
            what="celery worker ready",
        )
        assert proc.poll() is None, log.read_text()
        yield log


@pytest.fixture
def worker_sessions(worker_engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(worker_engine)
    # Worker tests commit for real; leave the table empty for the next one.
    with worker_engine.begin() as conn:
        tables = "video_generations, users, api_keys, user_in_flight_shards"
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sender() -> Celery:
    """A Celery client on the test broker, routed by the project's own celeryconfig."""
    app = Celery("test-sender")
    app.config_from_object("celeryconfig")
    app.conf.broker_url = BROKER_URL
    return app


def live_app_client(database_url: str, sessions, sender: Celery, **overrides):  # type: ignore[no-untyped-def]
    """An authenticated API test client whose messages reach a real worker."""
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, **overrides)
    client = create_app(
        settings, session_factory=sessions, messages=CeleryMessages(sender)
    ).test_client()
    with sessions.begin() as session:
        key = issue_key(session, ensure_user(session, 1, "pro")).secret
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


@pytest.fixture
def live_client(worker_db_url, worker_sessions, sender, celery_worker_process):  # type: ignore[no-untyped-def]
    return live_app_client(worker_db_url, worker_sessions, sender)
