"""A job's ending is counted once its transaction commits, and never after a rollback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from infra.metrics import note_job_ended

PROVIDER = "unit_test_provider"  # a label no other test touches
ENDED = dt.datetime(2026, 1, 7, 1, 40, tzinfo=dt.UTC)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _finished(state: str = "completed") -> float:
    return _value("videogen_jobs_finished_total", state=state, provider=PROVIDER)


@pytest.fixture
def session() -> Iterator[Session]:
    # An in-memory database: the listener needs a real transaction, not a server.
    with Session(create_engine("sqlite://")) as session:
        yield session


def test_an_ending_is_counted_only_when_the_transaction_commits(session: Session) -> None:
    before = _finished()
    session.begin()
    note_job_ended(
        session,
        state="completed",
        provider=PROVIDER,
        created_at=ENDED - dt.timedelta(seconds=90),
        ended_at=ENDED,
    )
    assert _finished() == before  # noted, not yet true

    session.commit()

    assert _finished() - before == 1
    session.begin()
    session.commit()  # a later transaction does not count it again
    assert _finished() - before == 1


def test_a_rolled_back_ending_is_forgotten(session: Session) -> None:
    before = _finished("failed")
    session.begin()
    note_job_ended(session, state="failed", provider=PROVIDER, created_at=None, ended_at=ENDED)
    session.rollback()
    session.begin()
    session.commit()

    assert _finished("failed") == before


def test_duration_and_detection_lag_are_observed_in_seconds(session: Session) -> None:
    labels = {"state": "canceled", "provider": PROVIDER}
    count = _value("videogen_job_duration_seconds_count", **labels)
    total = _value("videogen_job_duration_seconds_sum", **labels)
    lags = _value("videogen_job_detection_lag_seconds_count", provider=PROVIDER)
    lag_total = _value("videogen_job_detection_lag_seconds_sum", provider=PROVIDER)

    with session.begin():
        note_job_ended(
            session,
            state="canceled",
            provider=PROVIDER,
            # SQLite hands back naive datetimes: they are UTC.
            created_at=(ENDED - dt.timedelta(seconds=90)).replace(tzinfo=None),
            ended_at=ENDED,
            remote_ended_at=ENDED - dt.timedelta(seconds=4.5),
        )
        note_job_ended(
            session,
            state="canceled",
            provider=PROVIDER,
            created_at=ENDED - dt.timedelta(seconds=10),
            ended_at=ENDED,
            # PiAPI's clock ahead of ours: a lag of zero, never negative.
            remote_ended_at=ENDED + dt.timedelta(seconds=2),
        )

    assert _value("videogen_job_duration_seconds_count", **labels) - count == 2
    assert _value("videogen_job_duration_seconds_sum", **labels) - total == pytest.approx(100)
    assert _value("videogen_job_detection_lag_seconds_count", provider=PROVIDER) - lags == 2
    assert _value(
        "videogen_job_detection_lag_seconds_sum", provider=PROVIDER
    ) - lag_total == pytest.approx(4.5)
