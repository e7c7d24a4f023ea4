"""Each user's jobs in flight, counted in shards so one tenant's requests do not queue.

A user's count lives in SHARDS rows of user_in_flight_shards; a processing job is
counted in the shard its `in_flight_shard` names. Database triggers (migration 0010)
keep the counts, in the same transaction as every change of a job's status, whichever
code (or person) makes it: read them, never write them.

The tier's limit is split across the shards (an escrow): shard i may hold
limit // SHARDS, plus one for the first limit % SHARDS shards. A request locks one
shard that has room, and keeps that lock until its job's row commits, so concurrent
requests of one user take different shards instead of waiting for each other's
commit (a commit waits for the disk). While every shard is within its quota the sum
is within the limit; the quotas are computed from the limit the request passes in,
so a change of tier needs no change of data.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Row,
    SmallInteger,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from models.db import Base

SHARDS = 16
_DEADLOCK = "40P01"  # Postgres' SQLSTATE deadlock_detected
_ATTEMPTS = 3


class InFlightShard(Base):
    """One of a user's SHARDS counters of processing jobs; kept by triggers."""

    __tablename__ = "user_in_flight_shards"

    # No foreign key: like video_generations.user_id, a count may exist before its user.
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


def _quota(row: type[InFlightShard]) -> ColumnElement[int]:
    # In SQL from the limit the request binds (as limit // SHARDS and limit % SHARDS),
    # so each request uses its own tier's limit.
    return bindparam("base", type_=Integer) + case(
        (row.shard < bindparam("extra", type_=Integer), 1), else_=0
    )


def _params(user_id: int, limit: int) -> dict[str, int]:
    base, extra = divmod(limit, SHARDS)
    return {"for_user": user_id, "base": base, "extra": extra}


_USER = bindparam("for_user", type_=Integer)
_over = aliased(InFlightShard)
# Statements are built once: composing one cost more than running it, on every request.
# A shard with room, while no shard is over its quota. A shard over its quota (after a
# move to a smaller tier) means the sum may be at the limit with other shards under
# theirs: such users go the counted way until it drains.
_WITH_ROOM = (
    InFlightShard.user_id == _USER,
    InFlightShard.count < _quota(InFlightShard),
    ~exists().where(_over.user_id == _USER, _over.count > _quota(_over)),
)
# One that no other request holds, at random; the usual answer, in one round trip.
_FREE_SHARD = (
    select(InFlightShard.shard)
    .where(*_WITH_ROOM)
    .order_by(func.random())
    .limit(1)
    .with_for_update(skip_locked=True)
)
# When each one with room is held: wait for one alone (holding nothing else, so no
# deadlock) and take it if it still has room when its holder commits.
_THIS_SHARD = (
    select(InFlightShard.shard)
    .where(*_WITH_ROOM, InFlightShard.shard == bindparam("shard", type_=Integer))
    .with_for_update()
)
_SHARDS = (
    select(InFlightShard.shard, InFlightShard.count, _quota(InFlightShard))
    .where(InFlightShard.user_id == _USER)
    .order_by(InFlightShard.shard)
)
# All the user's shards, locked in order: requests that lock them all cannot deadlock.
_ALL_SHARDS = _SHARDS.with_for_update()
_SUM = select(func.coalesce(func.sum(InFlightShard.count), 0)).where(InFlightShard.user_id == _USER)
# SQLite has one writer at a time and no row locks: a write first takes the database's
# write lock, so the count read after it cannot change until commit.
_TAKE_WRITE_LOCK = (
    update(InFlightShard)
    .where(InFlightShard.user_id == _USER)
    .values(count=InFlightShard.count)
    .execution_options(synchronize_session=False)
)


def count_in_flight(session: Session, user_id: int) -> int:
    """The user's jobs with status processing: the sum of the user's shards."""
    return int(session.scalar(_SUM, {"for_user": user_id}) or 0)


def create_shards(session: Session, user_id: int) -> None:
    """Make sure every one of the user's SHARDS rows exists (existing ones are kept)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"user_id": user_id, "shard": shard, "count": 0} for shard in range(SHARDS)]
    session.execute(dialect.insert(InFlightShard).values(rows).on_conflict_do_nothing())


def reserve(session: Session, user_id: int, limit: int) -> int | None:
    """A shard with room for one more of the user's jobs, locked until the session ends.

    The caller inserts its job with in_flight_shard = the answer in this transaction.
    None means the user had `limit` (or more) jobs in flight at one moment during the
    call: every shard full in one snapshot of the committed counts, or a count under a
    lock on all the user's shards when some shard is over its quota. The session's
    transaction may be rolled back before the answer (call this first in a
    transaction): on the way, and on a deadlock with a transaction that ends several
    of the user's jobs at once.
    """
    for attempt in range(_ATTEMPTS):
        try:
            return _reserve(session, user_id, limit)
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) != _DEADLOCK or attempt == _ATTEMPTS - 1:
                raise
            session.rollback()
    raise AssertionError("unreachable")


def insert_in_a_free_shard(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    *,
    returning: tuple[Column[Any], ...],
    user_id: int,
    limit: int,
) -> Row[Any] | None:
    """INSERT values into table counted in a free shard, chosen in the same statement.

    The usual case in one round trip (Postgres): the shard reserve() would take first,
    locked until conn's transaction ends, and the inserted row's `returning` columns.
    None when no shard was free at once (all held, or full, or some over quota), on
    SQLite, or when nothing was inserted: roll back, then reserve() and insert as before.
    """
    if conn.dialect.name != "postgresql":
        return None
    statement = _insert_in_free_shard(table, tuple(values), returning)
    return conn.execute(statement, values | _params(user_id, limit)).first()


@lru_cache(maxsize=8)
def _insert_in_free_shard(
    table: Table, names: tuple[str, ...], returning: tuple[Column[Any], ...]
) -> Insert:
    # Built once per set of columns: composing it cost more than running it.
    slot = _FREE_SHARD.subquery("slot")
    chosen = select(*(bindparam(n, type_=table.c[n].type) for n in names), slot.c.shard)
    return insert(table).from_select([*names, "in_flight_shard"], chosen).returning(*returning)


def _reserve(session: Session, user_id: int, limit: int) -> int | None:
    params = _params(user_id, limit)
    if session.get_bind().dialect.name == "postgresql":
        for _ in range(_ATTEMPTS):
            # On the session's connection, not through the ORM: half the CPU, per request.
            if (shard := session.connection().scalar(_FREE_SHARD, params)) is not None:
                return int(shard)
            # A row that changed under a query stays locked even when it is not
            # returned: release it before waiting for anything.
            session.rollback()
            rows = session.connection().execute(_SHARDS, params).all()
            if len(rows) < SHARDS or any(count > quota for _, count, quota in rows):
                break  # count under a lock on them all, below
            roomy = [shard for shard, count, quota in rows if count < quota]
            if not roomy:
                return None  # one snapshot of the committed counts: the limit was in flight
            this = {**params, "shard": random.choice(roomy)}
            if (shard := session.connection().scalar(_THIS_SHARD, this)) is not None:
                return int(shard)
            session.rollback()
    else:
        session.execute(_TAKE_WRITE_LOCK, {"for_user": user_id})
    return _counted(session, user_id, limit, params)


def _counted(session: Session, user_id: int, limit: int, params: dict[str, int]) -> int | None:
    """Lock all the user's shards and count: exact whatever their quotas say."""
    rows = session.execute(_ALL_SHARDS, params).all()
    if len(rows) < SHARDS:  # a user made without its shards (e.g. by hand in SQL)
        create_shards(session, user_id)
        rows = session.execute(_ALL_SHARDS, params).all()
    if sum(count for _, count, _ in rows) >= limit:
        return None
    # The sum is under the limit, so some shard is under its quota.
    return next(shard for shard, count, quota in rows if count < quota)
