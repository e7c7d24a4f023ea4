"""Retries' countdowns in a form the broker can hold (messages: infra/messages.py)."""

from __future__ import annotations

from typing import Any

from celery import Task

from infra.messages import broker_countdown, broker_holds_countdowns


class BrokerCountdownTask(Task[Any, Any]):
    """A task whose countdowns, retries' included, are rounded as the broker needs."""

    # The stubs spell out every option Celery takes; this passes them all on unchanged.
    def apply_async(  # type: ignore[override]
        self, args: Any = None, kwargs: Any = None, **options: Any
    ) -> Any:
        if options.get("countdown"):
            options["countdown"] = broker_countdown(
                options["countdown"], held_by_broker=broker_holds_countdowns(self.app)
            )
        return super().apply_async(args, kwargs, **options)
