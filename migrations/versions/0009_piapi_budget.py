"""PiAPI's concurrency budget: the start lock, tenants' shares, indexes of waiting and holding jobs

PIAPI_MAX_CONCURRENT_TASKS counts the jobs holding a PiAPI slot from the rows (every phase
between queued and done, models/budget.py) and starts waiting jobs fairly across tenants
(models/fair_share.py). Both partial indexes hold only rows in flight, so they stay small
whatever the history; without the setting they are kept but never read.

Revision ID: 0009
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

_FREE = "phase NOT IN ('queued', 'done')"
_WAITING = "phase = 'queued'"


def upgrade() -> None:
    op.create_table(
        "piapi_budget",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_piapi_budget"),
    )
    op.execute("INSERT INTO piapi_budget (id) VALUES (1)")
    op.create_table(
        "piapi_turns",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_piapi_turns"),
    )
    op.create_table(
        "piapi_slots",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slot", name="pk_piapi_slots"),
    )
    op.create_index(
        "ix_video_generations_holding",
        "video_generations",
        ["phase"],
        postgresql_where=sa.text(_FREE),
        sqlite_where=sa.text(_FREE),
    )
    op.create_index(
        "ix_video_generations_waiting",
        "video_generations",
        ["user_id", "created_at", "id"],
        postgresql_where=sa.text(_WAITING),
        sqlite_where=sa.text(_WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_video_generations_waiting", "video_generations")
    op.drop_index("ix_video_generations_holding", "video_generations")
    op.drop_table("piapi_slots")
    op.drop_table("piapi_turns")
    op.drop_table("piapi_budget")
