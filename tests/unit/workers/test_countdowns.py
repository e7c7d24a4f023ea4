"""Countdowns sent to RabbitMQ are whole seconds, never shorter than asked."""

from __future__ import annotations

import pytest
from celery import Celery

from celeryconfig import task_queues_for
from infra.messages import broker_countdown
from workers.countdowns import BrokerCountdownTask


@pytest.mark.parametrize(
    ("countdown", "expected"), [(0.3, 1), (1.0, 1), (1.2, 2), (29.9, 30), (300, 300)]
)
def test_a_broker_held_countdown_is_rounded_up_to_whole_seconds(
    countdown: float, expected: int
) -> None:
    assert broker_countdown(countdown, held_by_broker=True) == expected


@pytest.mark.parametrize("countdown", [None, 0, -2.5])
def test_no_countdown_stays_none_or_immediate(countdown: float | None) -> None:
    assert broker_countdown(countdown, held_by_broker=True) == countdown


def test_other_brokers_keep_fractions() -> None:
    assert broker_countdown(0.3, held_by_broker=False) == 0.3


def _sent_countdown(broker_url: str, countdown: float) -> float:
    app = Celery("countdown-test", task_cls=BrokerCountdownTask, broker=broker_url)
    app.conf.task_queues = task_queues_for(broker_url)
    sent: dict = {}
    app.send_task = lambda *args, **options: sent.update(options)  # type: ignore[method-assign]

    @app.task(name="t")
    def t() -> None: ...

    t.apply_async(countdown=countdown)
    return sent["countdown"]


def test_tasks_round_their_countdowns_only_on_rabbitmq_quorum_queues() -> None:
    assert _sent_countdown("amqp://guest@localhost//", 0.3) == 1
    assert _sent_countdown("redis://localhost:6379/0", 0.3) == 0.3
