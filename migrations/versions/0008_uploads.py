"""uploads: images sent to POST /api/uploads, and the jobs that use them

A new table, and four nullable columns on video_generations (each upload's id and
storage key, for the first and the last frame). On Postgres the ids are foreign keys to
uploads, so no upload a job uses can be removed. Adding the columns and the constraints
(NOT VALID) is quick; the slow part, reading the whole table, comes after that commits
and blocks no writes: the indexes the sweeper asks through are built CONCURRENTLY (as
0006's are) and the constraints are validated. SQLite (the embedded stack) gets the
columns and indexes without the foreign keys: adding one there means copying the table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from contextlib import AbstractContextManager, nullcontext

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "video_generations"
UPLOAD_COLUMNS = ("image_upload_id", "end_image_upload_id")


def _is_postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _outside_transaction(postgres: bool) -> AbstractContextManager[None]:
    return op.get_context().autocommit_block() if postgres else nullcontext()


def upgrade() -> None:
    postgres = _is_postgres()
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(28), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sweep_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
        sa.UniqueConstraint("key", name="uq_uploads_key"),
    )
    op.create_index("ix_uploads_sweep_at", "uploads", ["sweep_at"])
    for column in UPLOAD_COLUMNS:
        op.add_column(TABLE, sa.Column(column, sa.String(28), nullable=True))
    op.add_column(TABLE, sa.Column("image_key", sa.Text(), nullable=True))
    op.add_column(TABLE, sa.Column("end_image_key", sa.Text(), nullable=True))
    if postgres:
        for column in UPLOAD_COLUMNS:
            op.execute(
                f"ALTER TABLE {TABLE} ADD CONSTRAINT fk_{TABLE}_{column}_uploads"
                f" FOREIGN KEY ({column}) REFERENCES uploads (id) NOT VALID"
            )
    with _outside_transaction(postgres):
        concurrently = " CONCURRENTLY" if postgres else ""
        names = [f"ix_{TABLE}_{column}" for column in UPLOAD_COLUMNS]
        if postgres and not op.get_context().as_sql:
            # An index left invalid by an interrupted build is dropped and built again.
            invalid = op.get_bind().exec_driver_sql(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE NOT i.indisvalid AND c.relname = ANY(%(names)s)",
                {"names": names},
            )
            for (name,) in invalid.all():
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        for name, column in zip(names, UPLOAD_COLUMNS, strict=True):
            op.execute(
                f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {TABLE} ({column})"
                f" WHERE {column} IS NOT NULL"
            )
        if postgres:
            for column in UPLOAD_COLUMNS:
                op.execute(f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT fk_{TABLE}_{column}_uploads")


def downgrade() -> None:
    postgres = _is_postgres()
    for column in UPLOAD_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_{TABLE}_{column}")
        if postgres:
            op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS fk_{TABLE}_{column}_uploads")
    # Plain DROP COLUMN (SQLite has it since 3.35): a batch copy of the table would drop
    # 0004's triggers on SQLite.
    for column in (*UPLOAD_COLUMNS, "image_key", "end_image_key"):
        op.drop_column(TABLE, column)
    op.drop_index("ix_uploads_sweep_at", table_name="uploads")
    op.drop_table("uploads")
