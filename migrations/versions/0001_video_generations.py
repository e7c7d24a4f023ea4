"""video_generations: the spec's table plus the job's life-cycle columns

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "video_generations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.String(255), nullable=True),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("model_name", sa.String(100), nullable=False),
        sa.Column("task_type", sa.String(64), nullable=False),
        sa.Column("generation_mode", sa.String(50), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("style", sa.String(50), nullable=False),
        sa.Column("aspect_ratio", sa.String(10), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("requested_duration", sa.Integer(), nullable=False),
        sa.Column("actual_duration", sa.Integer(), nullable=False),
        sa.Column("video_url", sa.Text(), nullable=True),
        sa.Column("video_raw_url", sa.Text(), nullable=True),
        sa.Column("thumbnail_url", sa.Text(), nullable=True),
        sa.Column("last_frame_url", sa.Text(), nullable=True),
        sa.Column("video_width", sa.Integer(), nullable=True),
        sa.Column("video_height", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="processing"),
        sa.Column("progress", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost", sa.Numeric(10, 4), nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("completed_at", ts, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(50), nullable=True),
        sa.Column("phase", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("poll_token", sa.Uuid(), nullable=True),
        sa.Column("next_poll_at", ts, nullable=True),
        sa.Column("poll_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("submit_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("submitting_since", ts, nullable=True),
        sa.Column("deadline_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False, server_default=sa.func.now()),
        sa.Column("provider_response", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_video_generations"),
        sa.UniqueConstraint("task_id", name="uq_video_generations_task_id"),
    )
    op.create_index(
        "ix_video_generations_user_created",
        "video_generations",
        ["user_id", "created_at"],
    )
    op.create_index(
        "ix_video_generations_phase_next_poll",
        "video_generations",
        ["phase", "next_poll_at"],
    )


def downgrade() -> None:
    op.drop_table("video_generations")
