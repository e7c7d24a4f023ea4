"""Run Alembic from code: tests and `make migrate` set a database up the same way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database behind engine to the newest schema."""
    config = Config(str(_INI))
    # A connection outside any transaction: Alembic begins its own, so a migration that
    # must run outside one (CREATE INDEX CONCURRENTLY, 0006) can commit it first.
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
