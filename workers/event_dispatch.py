"""Celery's monitoring events, published without waiting for RabbitMQ's confirm.

celeryconfig.py turns publisher confirms on for every RabbitMQ connection, for the sake
of task messages. A worker's event loop also reads its events connection (to take the
broker's heartbeats), while a thread-pool task publishes its task events on that same
connection and, in confirm mode, waits there for the broker's confirm. When the loop
reads the confirm first, the publisher waits for a frame that may not come for a
heartbeat interval or longer, holding the dispatcher's lock; the loop then blocks on
that lock and the worker takes no message at all. The chaos run on RabbitMQ saw a poll
worker stop for three minutes that way (py-spy: a pool thread in basic_publish_confirm,
the main thread in EventDispatcher.flush), and jobs ran out of time. Events are
monitoring, sent best effort (Celery's own default): they need no confirm.
"""

from __future__ import annotations

from typing import Any

from celery.app.events import Events as CeleryEvents
from celery.events.dispatcher import EventDispatcher as CeleryEventDispatcher


class Events(CeleryEvents):
    """Celery's events app, with the dispatcher below."""

    dispatcher_cls = "workers.event_dispatch:EventDispatcher"


class EventDispatcher(CeleryEventDispatcher):
    """Celery's event dispatcher; its publishes never wait for a publisher confirm."""

    def _publish(self, event: Any, producer: Any, routing_key: str, *args: Any, **kw: Any) -> Any:
        if producer is not None:
            publish_unconfirmed(producer.channel)
        # The stubs leave out this private method; it is what send() and flush() call.
        return super()._publish(event, producer, routing_key, *args, **kw)  # type: ignore[misc]


def publish_unconfirmed(channel: Any) -> None:
    """Make a py-amqp channel publish without confirms, unless it already asked for them.

    py-amqp puts a channel in confirm mode by binding basic_publish to
    basic_publish_confirm on the channel itself; without that binding the class's plain
    publish is used. Other transports' channels have no such binding and are left alone.
    """
    if "basic_publish" in vars(channel) and not getattr(channel, "_confirm_selected", True):
        del channel.basic_publish
