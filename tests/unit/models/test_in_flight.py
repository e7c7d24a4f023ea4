"""The escrow split of a tier's limit, and the retry after a deadlock (no database server)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from models import in_flight
from models.in_flight import SHARDS, InFlightShard


@pytest.fixture(scope="module")
def quotas_of():  # type: ignore[no-untyped-def]
    """The quota of every shard for a limit, as the SQL computes it (on in-memory SQLite)."""
    engine = create_engine("sqlite://")
    InFlightShard.__table__.create(engine)
    with engine.begin() as conn:
        conn.execute(
            InFlightShard.__table__.insert(),
            [{"user_id": 1, "shard": i, "count": 0} for i in range(SHARDS)],
        )

    def quotas(limit: int) -> list[int]:
        stmt = (
            select(in_flight._quota(InFlightShard))
            .where(InFlightShard.user_id == 1)
            .order_by(InFlightShard.shard)
        )
        with engine.connect() as conn:
            return list(conn.scalars(stmt, in_flight._params(1, limit)))

    return quotas


@pytest.mark.parametrize("limit", [0, 1, 2, 15, 16, 17, 50, 100_000, 100_007])
def test_the_quotas_add_up_to_the_limit_and_differ_by_at_most_one(quotas_of, limit: int) -> None:
    quotas = quotas_of(limit)
    assert len(quotas) == SHARDS
    assert sum(quotas) == limit
    assert max(quotas) - min(quotas) <= 1
    assert quotas == sorted(quotas, reverse=True)  # the extra ones go to the first shards


def test_a_free_user_has_two_shards_of_one(quotas_of) -> None:
    assert quotas_of(2) == [1, 1] + [0] * (SHARDS - 2)


class _Deadlocked(Exception):
    pgcode = "40P01"


class _FakeSession:
    """Answers the reserve the given ways in turn: an exception is raised."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.rollbacks = 0

    def get_bind(self) -> Any:
        return type("Bind", (), {"dialect": type("D", (), {"name": "postgresql"})})()

    def connection(self) -> _FakeSession:  # the session's connection answers the same
        return self

    def scalar(self, *_: Any) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def rollback(self) -> None:
        self.rollbacks += 1


def _deadlock() -> OperationalError:
    return OperationalError("SELECT ...", {}, _Deadlocked())


def test_a_deadlock_rolls_back_and_tries_again() -> None:
    session = _FakeSession(_deadlock(), 5)
    assert in_flight.reserve(session, 1, 50) == 5  # type: ignore[arg-type]
    assert session.rollbacks == 1


def test_deadlocks_every_time_are_raised() -> None:
    session = _FakeSession(*[_deadlock()] * 3)
    with pytest.raises(OperationalError):
        in_flight.reserve(session, 1, 50)  # type: ignore[arg-type]


def test_other_database_errors_are_raised_at_once() -> None:
    session = _FakeSession(OperationalError("SELECT ...", {}, Exception("gone")), 5)
    with pytest.raises(OperationalError):
        in_flight.reserve(session, 1, 50)  # type: ignore[arg-type]
    assert session.rollbacks == 0
