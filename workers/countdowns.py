"""Countdowns in a form the broker can hold."""

from __future__ import annotations

import math
from typing import Any

from celery import Task
from celery.utils.quorum_queues import detect_quorum_queues


def broker_countdown(countdown: float | None, *, held_by_broker: bool) -> float | None:
    """The countdown to send: whole seconds, at least 1, when the broker holds it.

    Celery's native delayed delivery (RabbitMQ quorum queues) routes a countdown by its
    whole seconds: it truncates 1.9 s to 1 s and refuses anything under 1 s with a
    ValueError. Rounding up keeps every countdown at least as long as asked and never
    fails a poll; elsewhere fractions are kept as they are.
    """
    if not held_by_broker or countdown is None or countdown <= 0:
        return countdown
    return math.ceil(countdown)


class BrokerCountdownTask(Task):  # type: ignore[misc]
    """A task whose countdowns, retries' included, are rounded as the broker needs."""

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if options.get("countdown"):
            options["countdown"] = broker_countdown(
                options["countdown"], held_by_broker=_native_delayed_delivery(self.app)
            )
        return super().apply_async(args, kwargs, **options)


def _native_delayed_delivery(app: Any) -> bool:
    # The same test Celery applies before routing a countdown through celery_delayed_*.
    driver = "amqp" if app.conf.broker_url.startswith(("amqp", "pyamqp")) else "other"
    return bool(detect_quorum_queues(app, driver)[0])
