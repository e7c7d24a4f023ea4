"""The in-flight shards, kept by triggers, always count the user's processing jobs exactly."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from models import create_outcome, jobs
from models.accounts import ensure_user
from models.db import make_engine, make_session_factory, utcnow
from models.in_flight import SHARDS, InFlightShard, count_in_flight
from models.jobs import Job, Phase, Status
from models.migrate import upgrade_to_head
from tests.integration.conftest import insert_job, mark_polling
from tests.stack import ROOT, fresh_database

pytestmark = pytest.mark.integration

BEFORE = "0010-1"  # the schema this revision migrates from, whatever it is re-chained to

# A row as the migrations before 0010 knew it: the columns without defaults.
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
OLD_JOBS = sa.table(
    "video_generations", *(sa.column(c) for c in (*JOB_COLUMNS, "user_id", "status"))
)


def counted(factory: sessionmaker[Session], user_id: int) -> tuple[int, int]:
    """(the trigger-kept sum of the user's shards, a real count); checks each shard too."""
    with factory() as s:
        kept = count_in_flight(s, user_id)
        real = Counter(
            dict(
                s.execute(
                    select(Job.in_flight_shard, func.count())
                    .where(Job.user_id == user_id, Job.status == Status.PROCESSING)
                    .group_by(Job.in_flight_shard)
                ).all()
            )
        )
        shards = dict(
            s.execute(
                select(InFlightShard.shard, InFlightShard.count).where(
                    InFlightShard.user_id == user_id
                )
            ).all()
        )
    assert {k: v for k, v in shards.items() if v} == dict(real)
    return kept, sum(real.values())


def exercise(factory: sessionmaker[Session]) -> None:
    """Every way a job's status changes, checking the count after each."""
    with factory.begin() as s:
        ensure_user(s, 71, "enterprise")
        ensure_user(s, 72, "pro")
    ids = [insert_job(factory, user_id=71, in_flight_shard=i % 3) for i in range(7)]
    insert_job(factory, user_id=72, in_flight_shard=SHARDS - 1)
    insert_job(factory, user_id=73)  # a user made without its shards
    assert counted(factory, 71) == (7, 7)
    assert counted(factory, 72) == (1, 1)
    assert counted(factory, 73) == (1, 1)

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
    assert counted(factory, 71) == (7, 7)

    with factory.begin() as s:  # the poll's verdicts, and cancel
        assert jobs.finish(s, ids[0], status=Status.COMPLETED)
        assert not jobs.finish(s, ids[0], status=Status.FAILED)  # once only
        assert jobs.finish(s, ids[1], status=Status.FAILED, error_code="provider_error")
        assert jobs.cancel(s, ids[2])
        assert not jobs.cancel(s, ids[2])
    assert counted(factory, 71) == (4, 4)

    with factory.begin() as s:  # the sweeper's bulk endings: timeouts and lost submissions
        s.execute(
            update(Job)
            .where(Job.id.in_(ids[3:5]))
            # past the request's own deadline (a model's allowance starts at the claim)
            .values(deadline_at=utcnow() - dt.timedelta(seconds=1), run_deadline_s=None)
        )
        assert len(jobs.expire_overdue(s, now=utcnow())) == 2
        attempt = jobs.claim_for_submit(s, ids[5])
        assert attempt is not None
        assert create_outcome.mark_create_sent(s, ids[5], attempt=attempt)
        s.execute(
            update(Job)
            .where(Job.id == ids[5])
            .values(
                submitting_since=utcnow() - dt.timedelta(hours=1),
                create_sent_at=utcnow() - dt.timedelta(hours=1),
            )
        )
        assert jobs.fail_stuck_submissions(s, older_than=utcnow(), now=utcnow()) == [ids[5]]
    assert counted(factory, 71) == (1, 1)

    with factory.begin() as s:  # moved by hand: to another shard, to another user
        s.execute(update(Job).where(Job.id == ids[6]).values(in_flight_shard=9))
    assert counted(factory, 71) == (1, 1)
    with factory.begin() as s:
        s.execute(update(Job).where(Job.id == ids[6]).values(user_id=72))
    assert counted(factory, 71) == (0, 0)
    assert counted(factory, 72) == (2, 2)

    with factory.begin() as s:  # deleting a finished job, and a processing one
        s.execute(delete(Job).where(Job.id.in_([ids[0], ids[6]])))
    assert counted(factory, 71) == (0, 0)
    assert counted(factory, 72) == (1, 1)

    with factory.begin() as s:  # back to processing by hand: counted again
        s.execute(
            update(Job).where(Job.id == ids[1]).values(status=Status.PROCESSING, phase=Phase.QUEUED)
        )
    assert counted(factory, 71) == (1, 1)


def test_the_count_follows_every_change_on_postgres(session_factory) -> None:
    exercise(session_factory)


def test_the_count_follows_every_change_on_sqlite(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/in-flight.sqlite3")
    upgrade_to_head(engine)
    exercise(make_session_factory(engine))


def test_a_new_user_has_all_its_shards(session_factory) -> None:
    with session_factory.begin() as s:
        ensure_user(s, 81, "free")
    with session_factory() as s:
        shards = s.scalars(select(InFlightShard.shard).where(InFlightShard.user_id == 81)).all()
    assert sorted(shards) == list(range(SHARDS))


def _alembic(conn: sa.Connection, action: str, revision: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = conn
    config.attributes["configure_logger"] = False
    getattr(command, action)(config, revision)


def _migrate_there_and_back(engine: Engine) -> None:
    """Jobs made before 0010 are counted by it, and again by its downgrade."""
    # Alembic owns its connection's transactions: migrations built CONCURRENTLY (0006,
    # 0007) need to step out of one.
    with engine.connect() as conn:
        _alembic(conn, "upgrade", BEFORE)
    with engine.begin() as conn:
        for user_id in (5, 6):
            conn.execute(
                text(
                    "INSERT INTO users (id, tier, webhook_secret, created_at)"
                    " VALUES (:id, 'pro', 'whsec_x', '2026-01-01')"
                ),
                {"id": user_id},
            )
        statuses = ["processing"] * (SHARDS + 3) + ["completed", "failed"]
        for status in statuses:
            conn.execute(
                sa.insert(OLD_JOBS).values({**JOB_COLUMNS, "user_id": 5, "status": status})
            )
        conn.execute(
            sa.insert(OLD_JOBS).values({**JOB_COLUMNS, "user_id": 9, "status": "processing"})
        )
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    assert counted(factory, 5) == (SHARDS + 3, SHARDS + 3)
    assert counted(factory, 6) == (0, 0)
    assert counted(factory, 9) == (1, 1)  # jobs of a user with no users row count too
    with factory() as s:  # spread round-robin: within the quotas of a limit of their number
        per_shard = s.scalars(
            select(InFlightShard.count)
            .where(InFlightShard.user_id == 5)
            .order_by(InFlightShard.shard)
        ).all()
        assert per_shard == [2, 2, 2] + [1] * (SHARDS - 3)
        shards_of_6 = s.scalar(select(func.count()).where(InFlightShard.user_id == 6))
        assert shards_of_6 == SHARDS

    with engine.connect() as conn:
        _alembic(conn, "downgrade", BEFORE)
    with engine.begin() as conn:
        kept = dict(conn.execute(text("SELECT id, in_flight FROM users")).all())
        assert kept == {5: SHARDS + 3, 6: 0}
        conn.execute(text("UPDATE video_generations SET status = 'canceled' WHERE user_id = 5"))
        assert conn.execute(text("SELECT in_flight FROM users WHERE id = 5")).scalar() == 0
        assert "user_in_flight_shards" not in sa.inspect(conn).get_table_names()
    upgrade_to_head(engine)
    assert counted(factory, 5) == (0, 0)
    assert counted(factory, 9) == (1, 1)


def test_the_migration_and_its_downgrade_on_sqlite(tmp_path) -> None:
    _migrate_there_and_back(create_engine(f"sqlite:///{tmp_path}/before.sqlite3"))


def test_the_migration_and_its_downgrade_on_postgres() -> None:
    engine = create_engine(fresh_database("videogen_migrate_in_flight"))
    try:
        _migrate_there_and_back(engine)
    finally:
        engine.dispose()
