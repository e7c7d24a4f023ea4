"""Declarative base and session plumbing shared by api/ and workers/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Row,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic diffs readable.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on Postgres and SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        # SQLite hands back naive values; they were written as UTC.
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, *, pool_size: int = 20, **kwargs: Any) -> Engine:
    """An engine that survives restarts of the database (pre-ping) and SQLite's locking.

    pool_size should cover the process's threads: a thread that finds the pool empty
    opens (and later closes) a connection of its own, which cost polls more than their
    query did when SQLAlchemy's default of 5 served a 16-thread poll pool.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; the embedded default runs
    # several processes on one file.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def read_connection(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection from bind's pool for a read that needs no session.

    A Session's transaction bookkeeping (begin, its connection, close) cost a tenth of a
    status request's CPU beside the read itself. Tests bind their sessions to one open
    connection whose writes roll back at the end; that connection is read as it is.
    """
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


@contextmanager
def own_transaction(session: Session) -> Iterator[Connection]:
    """A transaction apart from the session's, on a connection from its pool.

    Committed when the block ends, rolled back if it raises. For a write that needs
    nothing the session holds: the session's own transaction (its begin, its connection,
    its commit and close) cost about 0.4 ms of a generate request's CPU beside the
    INSERT itself. Tests bind sessions to one open connection whose writes roll back at
    the end: there the transaction is a savepoint on that connection.
    """
    bind = session.get_bind()
    if isinstance(bind, Connection):
        with bind.begin_nested():
            yield bind
        return
    with bind.begin() as conn:
        yield conn


def make_session_factory(bind: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit, so a view can dump a saved row."""
    return sessionmaker(bind=bind, expire_on_commit=False)


def take_rows(
    session: Session,
    model: type[Base],
    conditions: Sequence[ColumnElement[bool]],
    *,
    values: Mapping[str, Any],
    returning: Sequence[Any],
    limit: int,
) -> Sequence[Row[Any]]:
    """Update up to `limit` rows that match `conditions`, and return them.

    The UPDATE re-checks the conditions, and `values` must make them false, so callers
    running at once (several sweepers) never take the same row twice.
    """
    pick = (
        select(model.id)  # type: ignore[attr-defined]
        .where(*conditions)
        .order_by(model.id)  # type: ignore[attr-defined]
        .limit(limit)
        .scalar_subquery()
    )
    return session.execute(
        update(model)
        .where(model.id.in_(pick), *conditions)  # type: ignore[attr-defined]
        .values(**values)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    ).all()
