"""library indexes: the library's order, alone and after each filter

The library reads a user's jobs newest first (created_at DESC, id DESC), optionally by
status, generation_mode, provider or campaign_id. One index per shape, each ending in
that order, makes every page a range of one index: no sort, and no read of the history
before the page. The old (user_id, created_at) index is a prefix of the first and goes.

On Postgres the indexes are built CONCURRENTLY, so a big table keeps taking writes while
they build; that cannot run inside a transaction, hence the autocommit block (which
commits the migrations before it). An index left invalid by an interrupted build is
dropped and built again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from contextlib import AbstractContextManager, nullcontext

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "video_generations"
ORDER = ("created_at DESC", "id DESC")
INDEXES = {
    "ix_video_generations_library": ("user_id",),
    "ix_video_generations_library_status": ("user_id", "status"),
    "ix_video_generations_library_mode": ("user_id", "generation_mode"),
    "ix_video_generations_library_provider": ("user_id", "provider"),
    "ix_video_generations_library_campaign": ("user_id", "campaign_id"),
}
REPLACED = {"ix_video_generations_user_created": ("user_id", "created_at")}


def _outside_transaction(postgres: bool) -> AbstractContextManager[None]:
    return op.get_context().autocommit_block() if postgres else nullcontext()


def _create(name: str, columns: tuple[str, ...], postgres: bool) -> None:
    concurrently = " CONCURRENTLY" if postgres else ""
    op.execute(f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {TABLE} ({', '.join(columns)})")


def _drop(name: str, postgres: bool) -> None:
    op.execute(f"DROP INDEX{' CONCURRENTLY' if postgres else ''} IF EXISTS {name}")


def _is_postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
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
        for name, columns in INDEXES.items():
            _create(name, columns + ORDER, postgres)
        for name in REPLACED:
            _drop(name, postgres)


def downgrade() -> None:
    postgres = _is_postgres()
    with _outside_transaction(postgres):
        for name, columns in REPLACED.items():
            _create(name, columns, postgres)
        for name in INDEXES:
            _drop(name, postgres)
