"""PiAPI's concurrency budget: the start lock, tenants' shares, indexes of waiting and holding jobs

PIAPI_MAX_CONCURRENT_TASKS counts the jobs holding a PiAPI slot from the rows (every phase
between queued and done, models/budget.py) and starts waiting jobs fairly across tenants
(models/fair_share.py). Both partial indexes hold only rows in flight, so they stay small
whatever the history; without the setting they are kept but never read.

On Postgres the indexes are built CONCURRENTLY (as in 0006), so a big table keeps taking
writes while they build; an index left invalid by an interrupted build is built again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from contextlib import AbstractContextManager, nullcontext

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "video_generations"
INDEXES = {
    # Rows holding a slot: counting them reads at most the limit's worth.
    "ix_video_generations_holding": ("phase", "phase NOT IN ('queued', 'done')"),
    # Waiting rows, in the order tenants and their jobs are picked.
    "ix_video_generations_waiting": ("user_id, created_at, id", "phase = 'queued'"),
}


def _is_postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _outside_transaction(postgres: bool) -> AbstractContextManager[None]:
    return op.get_context().autocommit_block() if postgres else nullcontext()


def _drop(name: str, postgres: bool) -> None:
    op.execute(f"DROP INDEX{' CONCURRENTLY' if postgres else ''} IF EXISTS {name}")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "piapi_budget",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("locked_at", ts, nullable=True),
        sa.Column("starts", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_piapi_budget"),
    )
    op.execute("INSERT INTO piapi_budget (id) VALUES (1)")
    op.create_table(
        "piapi_turns",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_started_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_piapi_turns"),
    )
    op.create_table(
        "piapi_slots",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("slot", name="pk_piapi_slots"),
    )
    postgres = _is_postgres()
    with _outside_transaction(postgres):
        if postgres and not op.get_context().as_sql:  # offline (--sql) has no database to ask
            invalid = op.get_bind().exec_driver_sql(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE NOT i.indisvalid AND c.relname = ANY(%(names)s)",
                {"names": list(INDEXES)},
            )
            for (name,) in invalid.all():
                _drop(name, postgres)
        concurrently = " CONCURRENTLY" if postgres else ""
        for name, (columns, where) in INDEXES.items():
            op.execute(
                f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {TABLE} ({columns})"
                f" WHERE {where}"
            )


def downgrade() -> None:
    postgres = _is_postgres()
    with _outside_transaction(postgres):
        for name in INDEXES:
            _drop(name, postgres)
    op.drop_table("piapi_slots")
    op.drop_table("piapi_turns")
    op.drop_table("piapi_budget")
