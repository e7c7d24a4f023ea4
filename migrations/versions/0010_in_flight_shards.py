"""user_in_flight_shards: each user's jobs in flight in 16 counters, kept by triggers

users.in_flight (0004) was one row per user, locked by generate from its check until
its commit: one tenant's concurrent requests queued behind each other's disk flushes.
The count moves to SHARDS rows per user (models/in_flight.py); each processing job
names the row that counts it (video_generations.in_flight_shard), and the API locks
one row with room per request. Triggers keep the rows, as 0004's kept the column.
Processing jobs are spread round-robin over their user's shards, which fits the
quotas of any limit at least their number.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SHARDS = 16  # models/in_flight.py's; frozen here as this migration made it
_TRIGGERS = ("insert", "delete", "update")

_POSTGRES = """
CREATE FUNCTION videogen_count_in_flight_shards() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'processing' THEN
    UPDATE user_in_flight_shards SET count = count - 1
      WHERE user_id = OLD.user_id AND shard = OLD.in_flight_shard;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'processing' THEN
    UPDATE user_in_flight_shards SET count = count + 1
      WHERE user_id = NEW.user_id AND shard = NEW.in_flight_shard;
    IF NOT FOUND THEN
      INSERT INTO user_in_flight_shards (user_id, shard, count)
        VALUES (NEW.user_id, NEW.in_flight_shard, 1)
        ON CONFLICT (user_id, shard) DO UPDATE SET count = user_in_flight_shards.count + 1;
    END IF;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER video_generations_in_flight_insert AFTER INSERT ON video_generations
  FOR EACH ROW WHEN (NEW.status = 'processing')
  EXECUTE FUNCTION videogen_count_in_flight_shards();
CREATE TRIGGER video_generations_in_flight_delete AFTER DELETE ON video_generations
  FOR EACH ROW WHEN (OLD.status = 'processing')
  EXECUTE FUNCTION videogen_count_in_flight_shards();
CREATE TRIGGER video_generations_in_flight_update AFTER UPDATE ON video_generations
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.user_id IS DISTINCT FROM NEW.user_id
        OR OLD.in_flight_shard IS DISTINCT FROM NEW.in_flight_shard)
  EXECUTE FUNCTION videogen_count_in_flight_shards();
"""

_SQLITE_COUNT_NEW = """
      INSERT INTO user_in_flight_shards (user_id, shard, count)
        SELECT NEW.user_id, NEW.in_flight_shard, 1 WHERE NEW.status = 'processing'
        ON CONFLICT (user_id, shard) DO UPDATE SET count = count + 1;"""
_SQLITE_UNCOUNT_OLD = """
      UPDATE user_in_flight_shards SET count = count - 1
        WHERE user_id = OLD.user_id AND shard = OLD.in_flight_shard
          AND OLD.status = 'processing';"""
_SQLITE = (
    f"""CREATE TRIGGER video_generations_in_flight_insert AFTER INSERT ON video_generations
    WHEN NEW.status = 'processing'
    BEGIN {_SQLITE_COUNT_NEW} END""",
    f"""CREATE TRIGGER video_generations_in_flight_delete AFTER DELETE ON video_generations
    WHEN OLD.status = 'processing'
    BEGIN {_SQLITE_UNCOUNT_OLD} END""",
    f"""CREATE TRIGGER video_generations_in_flight_update AFTER UPDATE ON video_generations
    WHEN OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id
      OR OLD.in_flight_shard IS NOT NEW.in_flight_shard
    BEGIN {_SQLITE_UNCOUNT_OLD} {_SQLITE_COUNT_NEW} END""",
)

# 0004's, for the downgrade.
_POSTGRES_0004 = """
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
_SQLITE_0004 = (
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

# Works on Postgres and on SQLite 3.33+ (UPDATE ... FROM, window functions).
_SPREAD_JOBS = f"""
UPDATE video_generations SET in_flight_shard = spread.shard
FROM (
  SELECT id, (row_number() OVER (PARTITION BY user_id ORDER BY id) - 1) % {SHARDS} AS shard
  FROM video_generations WHERE status = 'processing'
) AS spread
WHERE video_generations.id = spread.id AND spread.shard <> 0
"""
_NUMBERS = " UNION ALL ".join(f"SELECT {i} AS shard" for i in range(SHARDS))
_SHARDS_FOR_USERS = f"""
INSERT INTO user_in_flight_shards (user_id, shard, count)
SELECT users.id, numbers.shard, 0 FROM users CROSS JOIN ({_NUMBERS}) AS numbers
"""
_COUNT_JOBS = """
INSERT INTO user_in_flight_shards (user_id, shard, count)
SELECT user_id, in_flight_shard, count(*) FROM video_generations
WHERE status = 'processing' GROUP BY user_id, in_flight_shard
ON CONFLICT (user_id, shard) DO UPDATE SET count = excluded.count
"""


def _drop_triggers(postgres: bool, function: str) -> None:
    on_table = " ON video_generations" if postgres else ""  # SQLite's DROP TRIGGER names none
    for event in _TRIGGERS:
        op.execute(f"DROP TRIGGER video_generations_in_flight_{event}{on_table}")
    if postgres:
        op.execute(f"DROP FUNCTION {function}()")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(postgres, "videogen_count_in_flight")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("in_flight")
    op.create_table(
        "user_in_flight_shards",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("user_id", "shard", name="pk_user_in_flight_shards"),
    )
    op.add_column(
        "video_generations",
        sa.Column("in_flight_shard", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    op.execute(_SPREAD_JOBS)
    op.execute(_SHARDS_FOR_USERS)
    op.execute(_COUNT_JOBS)
    if postgres:
        op.execute(_POSTGRES)
    else:
        for statement in _SQLITE:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(postgres, "videogen_count_in_flight_shards")
    with op.batch_alter_table("video_generations") as batch:
        batch.drop_column("in_flight_shard")
    op.drop_table("user_in_flight_shards")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("in_flight", sa.Integer(), nullable=False, server_default="0"))
    if postgres:
        op.execute(_POSTGRES_0004)
    else:
        for statement in _SQLITE_0004:
            op.execute(statement)
    op.execute(
        "UPDATE users SET in_flight = (SELECT count(*) FROM video_generations"
        " WHERE video_generations.user_id = users.id AND status = 'processing')"
    )
