"""a model's run allowance starts when the job does; the sweeper's deadline pass is indexed

`run_deadline_s` is the model's deadline, set when the request gave no deadline_seconds:
it counts from the job's first claim, so a job waiting for a PiAPI slot (under
PIAPI_MAX_CONCURRENT_TASKS) is not timed out by waiting. Jobs made before have none, and
keep the deadline they had. The partial index serves the sweeper's pass over unfinished
jobs' deadlines, which read the whole table before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from contextlib import AbstractContextManager, nullcontext

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_video_generations_open_deadline"


def _is_postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _outside_transaction(postgres: bool) -> AbstractContextManager[None]:
    # CREATE INDEX CONCURRENTLY: a big table stays writable while the index is built.
    return op.get_context().autocommit_block() if postgres else nullcontext()


def upgrade() -> None:
    op.add_column("video_generations", sa.Column("run_deadline_s", sa.Integer(), nullable=True))
    postgres = _is_postgres()
    with _outside_transaction(postgres):
        if postgres:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")  # left invalid by a failure
        concurrently = " CONCURRENTLY" if postgres else ""
        op.execute(
            f"CREATE INDEX{concurrently} {INDEX} ON video_generations (deadline_at)"
            " WHERE phase <> 'done'"
        )


def downgrade() -> None:
    postgres = _is_postgres()
    with _outside_transaction(postgres):
        op.execute(f"DROP INDEX{' CONCURRENTLY' if postgres else ''} IF EXISTS {INDEX}")
    # A plain ALTER TABLE ... DROP COLUMN on SQLite too (3.35+): copying the table, as a
    # batch would, drops its triggers (0010's in-flight counts).
    op.drop_column("video_generations", "run_deadline_s")
