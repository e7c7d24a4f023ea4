"""Migration 0006: the library's indexes, built concurrently, rebuilt if a build was cut short."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from models.db import make_engine
from models.jobs import LIBRARY_INDEXES
from models.migrate import upgrade_to_head
from tests.stack import fresh_database

ROOT = Path(__file__).resolve().parents[3]
ORDER = "created_at DESC, id DESC"


def _alembic(engine: Engine, verb: str, revision: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        config.attributes["configure_logger"] = False
        getattr(command, verb)(config, revision)


def _indexes(engine: Engine) -> dict[str, tuple[bool, str]]:
    """Each index on video_generations: whether it is valid, and its definition."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, i.indisvalid, pg_get_indexdef(i.indexrelid)"
                " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = 'video_generations'::regclass"
            )
        ).all()
    return {name: (valid, definition) for name, valid, definition in rows}


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = make_engine(fresh_database("videogen_library_indexes"))
    yield engine
    engine.dispose()


def test_an_index_left_invalid_by_an_interrupted_build_is_built_again(engine) -> None:
    _alembic(engine, "upgrade", "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, tier, webhook_secret, created_at)"
                          " VALUES (1, 'pro', 'whsec_x', now())"))  # fmt: skip
    # A concurrent build that fails (duplicates under UNIQUE) leaves an invalid index behind.
    raw = psycopg2.connect(
        engine.url.render_as_string(hide_password=False).replace("+psycopg2", "")
    )
    raw.autocommit = True
    with raw.cursor() as cur:
        cur.execute(
            "INSERT INTO video_generations (user_id, provider, model_name, task_type,"
            " generation_mode, prompt, script, style, aspect_ratio, requested_duration,"
            " actual_duration, cost, deadline_at) SELECT 1, 'p', 'm', 't', 'text_to_video',"
            " 's', 's', 'social', '16:9', 5, 5, 0, now() FROM generate_series(1, 2)"
        )
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY ix_video_generations_library"
                " ON video_generations (user_id)"
            )
    raw.close()
    assert _indexes(engine)["ix_video_generations_library"][0] is False

    upgrade_to_head(engine)

    indexes = _indexes(engine)
    assert "ix_video_generations_user_created" not in indexes  # a prefix of the new one
    for name, columns in LIBRARY_INDEXES.items():
        valid, definition = indexes[name]
        assert valid, name
        assert definition.endswith(f"({', '.join(('user_id', *columns))}, {ORDER})"), definition


def test_downgrade_restores_the_old_index_and_upgrade_builds_them_again(engine) -> None:
    upgrade_to_head(engine)

    _alembic(engine, "downgrade", "0004")
    after_down = _indexes(engine)
    upgrade_to_head(engine)

    assert "ix_video_generations_user_created" in after_down
    assert not set(LIBRARY_INDEXES) & set(after_down)
    assert set(LIBRARY_INDEXES) <= set(_indexes(engine))
