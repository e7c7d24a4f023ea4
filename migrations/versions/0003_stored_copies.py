"""our stored copy of each completed job's files

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("video_generations") as batch:
        batch.add_column(sa.Column("storage_state", sa.String(20), nullable=True))
        batch.add_column(sa.Column("storage_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("storage_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("storage_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("stored_files", _JSON, nullable=True))
    op.create_index(
        "ix_video_generations_storage_due",
        "video_generations",
        ["storage_state", "storage_due_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_video_generations_storage_due", "video_generations")
    with op.batch_alter_table("video_generations") as batch:
        for column in (
            "stored_files",
            "storage_due_at",
            "storage_attempts",
            "storage_error",
            "storage_state",
        ):
            batch.drop_column(column)
