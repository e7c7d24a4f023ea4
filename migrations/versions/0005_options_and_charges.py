"""each job's model options, whether its cost is an estimate, and what PiAPI charged

`cost` becomes nullable: PiAPI publishes no price for some models, and the quote then
says so instead of inventing one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_COST = sa.Numeric(10, 4)

# SQLite can only change a column's nullability by copying the table, which drops the
# table's triggers: these are 0004's, put back afterwards.
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER video_generations_in_flight_insert AFTER INSERT ON video_generations
    WHEN NEW.status = 'processing'
    BEGIN UPDATE users SET in_flight = in_flight + 1 WHERE id = NEW.user_id; END""",
    """CREATE TRIGGER video_generations_in_flight_delete AFTER DELETE ON video_generations
    WHEN OLD.status = 'processing'
    BEGIN UPDATE users SET in_flight = in_flight - 1 WHERE id = OLD.user_id; END""",
    """CREATE TRIGGER video_generations_in_flight_update AFTER UPDATE ON video_generations
    WHEN OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id
    BEGIN
      UPDATE users SET in_flight = in_flight - 1
        WHERE id = OLD.user_id AND OLD.status = 'processing';
      UPDATE users SET in_flight = in_flight + 1
        WHERE id = NEW.user_id AND NEW.status = 'processing';
    END""",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _restore_sqlite_triggers() -> None:
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("video_generations") as batch:
        batch.add_column(sa.Column("options", _JSON, nullable=True))
        batch.add_column(sa.Column("charged_usd", sa.Numeric(10, 4), nullable=True))
        batch.add_column(
            sa.Column("cost_estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    if not _sqlite():
        op.alter_column("video_generations", "cost", existing_type=_COST, nullable=True)
        return
    with op.batch_alter_table("video_generations", recreate="always") as batch:
        batch.alter_column("cost", existing_type=_COST, nullable=True)
    _restore_sqlite_triggers()


def downgrade() -> None:
    # A job without a known cost cannot keep a NOT NULL cost: it is recorded as 0.
    op.execute("UPDATE video_generations SET cost = 0 WHERE cost IS NULL")
    sqlite = _sqlite()
    if not sqlite:
        op.alter_column("video_generations", "cost", existing_type=_COST, nullable=False)
    with op.batch_alter_table(
        "video_generations", recreate="always" if sqlite else "auto"
    ) as batch:
        if sqlite:
            batch.alter_column("cost", existing_type=_COST, nullable=False)
        for column in ("cost_estimated", "charged_usd", "options"):
            batch.drop_column(column)
    if sqlite:
        _restore_sqlite_triggers()
