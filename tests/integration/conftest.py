"""Real Postgres, migrated by Alembic once per session, with a rollback per test."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from infra.settings import Settings
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory
from models.jobs import Job
from models.migrate import upgrade_to_head
from tests.bodies import SPEC_I2V, SPEC_T2V  # noqa: F401 - re-exported
from tests.fakes import RecordingMessages
from tests.stack import SandboxServer, fresh_database, sandbox_server

BASE_SETTINGS = Settings.from_env()


@pytest.fixture(scope="session")
def database_url() -> str:
    return fresh_database("videogen_test")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)  # exactly as production sets a database up
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    # Every session in the test joins this outer transaction; their commit() only
    # releases a SAVEPOINT, and the test's writes vanish at the end.
    with engine.connect() as conn:
        outer = conn.begin()
        yield sessionmaker(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        outer.rollback()


@pytest.fixture
def committed_sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that really commit, for tests with several threads; the table is emptied after."""
    yield make_session_factory(engine)
    with engine.begin() as conn:
        tables = "video_generations, users, api_keys, user_in_flight_shards"
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return dataclasses.replace(BASE_SETTINGS, database_url=database_url)


@pytest.fixture
def messages() -> RecordingMessages:
    return RecordingMessages()


@pytest.fixture
def enqueued(messages: RecordingMessages) -> list[int]:
    return messages.submits


def new_key(factory: sessionmaker[Session], user_id: int, tier: str) -> str:
    """Create (or re-tier) a user and return a fresh API key for it."""
    with factory.begin() as session:
        return issue_key(session, ensure_user(session, user_id, tier)).secret


@pytest.fixture
def make_client(settings: Settings, session_factory: sessionmaker[Session], messages):  # type: ignore[no-untyped-def]
    """A test client authenticated as user_id with tier (a new key each time)."""

    def _client(user_id: int = 1, tier: str = "pro", **overrides: object) -> FlaskClient:
        app = create_app(
            dataclasses.replace(settings, **overrides),
            session_factory=session_factory,
            messages=messages,
        )
        client = app.test_client()
        key = new_key(session_factory, user_id, tier)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        return client

    return _client


@pytest.fixture
def client(make_client) -> FlaskClient:  # type: ignore[no-untyped-def]
    return make_client()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox over real HTTP whose clock the test moves by hand."""
    now = [0.0]
    with sandbox_server(clock=lambda: now[0]) as server:
        server.clock = now  # type: ignore[attr-defined]
        yield server


def insert_job(
    factory: sessionmaker[Session], body: dict | None = None, *, user_id: int = 1, **columns: object
) -> int:
    """Commit a job as the API would accept it; returns its id."""
    from api.auth import Principal
    from api.schemas import GenerateRequest
    from api.submissions import new_job_values

    values = new_job_values(GenerateRequest().load(body or SPEC_T2V), Principal(user_id, "pro"))
    job = Job(**(values | columns))
    with factory.begin() as session:
        session.add(job)
        session.flush()
        return job.id


@pytest.fixture
def make_job(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """insert_job inside the test's rolled-back transaction."""
    return functools.partial(insert_job, session_factory)


def mark_polling(factory: sessionmaker[Session], job_id: int, task_id: str) -> None:
    """Move a queued job to polling, as a successful submission would."""
    import uuid

    from models import jobs
    from models.db import utcnow

    with factory.begin() as session:
        assert jobs.claim_for_submit(session, job_id)
        assert jobs.mark_submitted(
            session,
            job_id,
            task_id=task_id,
            token=uuid.uuid4(),
            next_poll_at=utcnow(),
            response=None,
        )
