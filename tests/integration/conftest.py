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
from models.db import make_engine, make_session_factory
from models.migrate import upgrade_to_head
from models.settings import Settings
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
        conn.execute(text("TRUNCATE video_generations RESTART IDENTITY"))


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return dataclasses.replace(
        BASE_SETTINGS, database_url=database_url, dev_user_id=1, dev_user_tier="pro"
    )


@pytest.fixture
def enqueued() -> list[int]:
    return []


@pytest.fixture
def client(
    settings: Settings, session_factory: sessionmaker[Session], enqueued: list[int]
) -> FlaskClient:
    app = create_app(settings, session_factory=session_factory, enqueue_submit=enqueued.append)
    return app.test_client()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox over real HTTP whose clock the test moves by hand."""
    now = [0.0]
    with sandbox_server(clock=lambda: now[0]) as server:
        server.clock = now  # type: ignore[attr-defined]
        yield server


SPEC_T2V = {
    "campaign_id": "123",
    "generation_mode": "text_to_video",
    "script": "A cat playing with a ball",
    "style": "social",
    "duration": 5,
    "aspect_ratio": "16:9",
}
SPEC_I2V = {
    "campaign_id": "123",
    "generation_mode": "image_to_video",
    "image_url": "https://example.com/product.jpg",
    "script": "Animate this product with subtle movement and professional lighting",
    "style": "marketing",
    "duration": 5,
    "aspect_ratio": "16:9",
    "provider": "piapi_wanx_1.3b",
}


def insert_job(
    factory: sessionmaker[Session], body: dict | None = None, *, user_id: int = 1, **columns: object
) -> int:
    """Commit a job as the API would accept it; returns its id."""
    from api.identity import User
    from api.schemas import GenerateRequest
    from api.submissions import new_job

    job = new_job(GenerateRequest().load(body or SPEC_T2V), User(user_id, "pro"))
    for name, value in columns.items():
        setattr(job, name, value)
    with factory.begin() as session:
        session.add(job)
        session.flush()
        return job.id


@pytest.fixture
def make_job(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """insert_job inside the test's rolled-back transaction."""
    return functools.partial(insert_job, session_factory)
