"""users.in_flight: each user's jobs in flight, kept by triggers

The API checks a tier's in-flight limit on every generate request. Counting the user's
processing jobs there costs O(jobs in flight): at the enterprise tier's 100,000 it
dominated the request. Triggers keep the count on the user's row, in the same
transaction as every change of a job's status, whichever code (or person) makes it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_POSTGRES = """
CREATE FUNCTION videogen_count_in_flight() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'processing' THEN
    UPDATE users SET in_flight = in_flight - 1 WHERE id = OLD.user_id;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'processing' THEN
    UPDATE users SET in_flight = in_flight + 1 WHERE id = NEW.user_id;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER video_generations_in_flight_insert AFTER INSERT ON video_generations
  FOR EACH ROW WHEN (NEW.status = 'processing') EXECUTE FUNCTION videogen_count_in_flight();
CREATE TRIGGER video_generations_in_flight_delete AFTER DELETE ON video_generations
  FOR EACH ROW WHEN (OLD.status = 'processing') EXECUTE FUNCTION videogen_count_in_flight();
CREATE TRIGGER video_generations_in_flight_update AFTER UPDATE ON video_generations
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.user_id IS DISTINCT FROM NEW.user_id)
  EXECUTE FUNCTION videogen_count_in_flight();
"""

_SQLITE = (
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

_TRIGGERS = ("insert", "delete", "update")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("in_flight", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES)
    else:
        for statement in _SQLITE:
            op.execute(statement)
    op.execute(
        "UPDATE users SET in_flight = (SELECT count(*) FROM video_generations"
        " WHERE video_generations.user_id = users.id AND status = 'processing')"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    on_table = " ON video_generations" if postgres else ""  # SQLite's DROP TRIGGER names none
    for event in _TRIGGERS:
        op.execute(f"DROP TRIGGER video_generations_in_flight_{event}{on_table}")
    if postgres:
        op.execute("DROP FUNCTION videogen_count_in_flight()")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("in_flight")
