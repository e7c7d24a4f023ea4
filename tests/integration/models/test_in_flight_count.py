"""users.in_flight, kept by triggers, always equals a count of the user's processing jobs."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import column, create_engine, delete, func, insert, select, table, text, update
from sqlalchemy.orm import Session, sessionmaker

from models import jobs
from models.accounts import User, ensure_user
from models.db import make_engine, make_session_factory, utcnow
from models.jobs import Job, Status
from models.migrate import upgrade_to_head
from tests.integration.conftest import insert_job, mark_polling
from tests.stack import ROOT

pytestmark = pytest.mark.integration

# A row as migration 0003 knew it: the columns without defaults.
JOB_COLUMNS = {
    "provider": "piapi_hunyuan_fast",
    "model_name": "hunyuan-fast",
    "task_type": "fast-txt2video",
    "generation_mode": "text_to_video",
    "prompt": "p",
    "script": "s",
    "style": "marketing",
    "aspect_ratio": "16:9",
    "requested_duration": 5,
    "actual_duration": 5,
    "cost": 0.03,
    "progress": 0,
    "phase": "queued",
    "poll_count": 0,
    "submit_attempts": 0,
    "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    "deadline_at": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
}


def counted(factory: sessionmaker[Session], user_id: int) -> tuple[int, int]:
    """(the trigger-kept count, a real count)."""
    with factory() as s:
        kept = s.scalar(select(User.in_flight).where(User.id == user_id))
        real = s.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.user_id == user_id, Job.status == Status.PROCESSING)
        )
    return kept, real


def exercise(factory: sessionmaker[Session]) -> None:
    """Every way a job's status changes, checking the count after each."""
    with factory.begin() as s:
        ensure_user(s, 71, "enterprise")
        ensure_user(s, 72, "pro")
    ids = [insert_job(factory, user_id=71) for _ in range(5)]
    insert_job(factory, user_id=72)
    assert counted(factory, 71) == (5, 5)
    assert counted(factory, 72) == (1, 1)

    mark_polling(factory, ids[0], "task-a")
    with factory.begin() as s:  # a poll that records progress changes nothing
        assert jobs.record_poll(
            s,
            ids[0],
            token=s.get(Job, ids[0]).poll_token,
            progress=40,
            next_poll_at=utcnow(),
            response=None,
        )
    assert counted(factory, 71) == (5, 5)

    with factory.begin() as s:
        assert jobs.finish(s, ids[0], status=Status.COMPLETED)
        assert not jobs.finish(s, ids[0], status=Status.FAILED)  # once only
        assert jobs.cancel(s, ids[1])
    assert counted(factory, 71) == (3, 3)

    with factory.begin() as s:  # the sweeper's bulk endings
        s.execute(
            update(Job)
            .where(Job.id.in_(ids[2:4]))
            .values(deadline_at=utcnow() - dt.timedelta(seconds=1))
        )
        assert len(jobs.expire_overdue(s, now=utcnow())) == 2
    assert counted(factory, 71) == (1, 1)

    with factory.begin() as s:  # deleting a finished job, and a processing one
        s.execute(delete(Job).where(Job.id.in_([ids[0], ids[4]])))
    assert counted(factory, 71) == (0, 0)
    assert counted(factory, 72) == (1, 1)


def test_the_count_follows_every_change_on_postgres(session_factory) -> None:
    exercise(session_factory)


def test_the_count_follows_every_change_on_sqlite(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/in-flight.sqlite3")
    upgrade_to_head(engine)
    exercise(make_session_factory(engine))


def test_the_migration_counts_jobs_that_existed_before_it(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/before.sqlite3")
    config = Config(str(ROOT / "alembic.ini"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["configure_logger"] = False
        command.upgrade(config, "0003")
        conn.execute(
            text(
                "INSERT INTO users (id, tier, webhook_secret, created_at)"
                " VALUES (5, 'pro', 'whsec_x', '2026-01-01')"
            )
        )
        # Only the columns 0003 had: the model's later columns (and their defaults) are not there.
        old_jobs = table(
            "video_generations", *(column(name) for name in (*JOB_COLUMNS, "user_id", "status"))
        )
        for status in ("processing", "processing", "completed"):
            conn.execute(insert(old_jobs).values({**JOB_COLUMNS, "user_id": 5, "status": status}))
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    assert counted(factory, 5) == (2, 2)
