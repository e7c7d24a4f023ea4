"""what is known about each job's create call: sent, in doubt, adopted; its hook token

create_sent_at marks a create that left (a claim without it sent nothing and is handed
back); hook_token names the job in the webhook endpoint given to PiAPI, so a callback for
a task whose id we never learned finds its job; doubted_at and adopted_at record when a
create's outcome was in doubt and when PiAPI's callback adopted its task. The new phase
`in_doubt` needs no DDL (phases are stored as strings).

Jobs claimed by the previous code have no mark: they are treated as sent (in doubt),
never handed back, since their create may have left.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TIMESTAMPS = ("create_sent_at", "doubted_at", "adopted_at")


def upgrade() -> None:
    with op.batch_alter_table("video_generations") as batch:
        for column in _TIMESTAMPS:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("hook_token", sa.String(64), nullable=True))
    op.create_index(
        "uq_video_generations_hook_token", "video_generations", ["hook_token"], unique=True
    )
    op.execute(
        "UPDATE video_generations SET create_sent_at = submitting_since"
        " WHERE phase = 'submitting' AND create_sent_at IS NULL"
    )


def downgrade() -> None:
    # Jobs in doubt go back to the old code's view of them: an interrupted submission.
    op.execute(
        "UPDATE video_generations SET phase = 'submitting', submitting_since = doubted_at"
        " WHERE phase = 'in_doubt'"
    )
    op.drop_index("uq_video_generations_hook_token", "video_generations")
    with op.batch_alter_table("video_generations") as batch:
        batch.drop_column("hook_token")
        for column in reversed(_TIMESTAMPS):
            batch.drop_column(column)
