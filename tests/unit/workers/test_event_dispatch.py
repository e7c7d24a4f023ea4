"""Monitoring events never wait for a publisher confirm (workers/event_dispatch.py)."""

from __future__ import annotations

import amqp

from workers.celery_app import app
from workers.event_dispatch import EventDispatcher, publish_unconfirmed


class _Connection:
    """Just what amqp.Channel's constructor reads from its connection."""

    def __init__(self, confirm_publish: bool) -> None:
        self.confirm_publish = confirm_publish
        self.channels: dict[int, object] = {}

    def _claim_channel_id(self, channel_id: int) -> None:
        pass


def _channel(*, confirm_publish: bool) -> amqp.Channel:
    return amqp.Channel(_Connection(confirm_publish), channel_id=1)


def test_a_confirming_channel_publishes_plainly_for_events() -> None:
    channel = _channel(confirm_publish=True)
    assert channel.basic_publish == channel.basic_publish_confirm  # what celeryconfig asks

    publish_unconfirmed(channel)

    assert channel.basic_publish == channel._basic_publish


def test_a_channel_already_confirming_is_left_alone() -> None:
    channel = _channel(confirm_publish=True)
    channel._confirm_selected = True  # the broker already sends it confirms

    publish_unconfirmed(channel)

    assert channel.basic_publish == channel.basic_publish_confirm


def test_a_plain_channel_stays_plain() -> None:
    channel = _channel(confirm_publish=False)
    publish_unconfirmed(channel)
    assert channel.basic_publish == channel._basic_publish


def test_the_workers_send_events_through_it() -> None:
    assert issubclass(app.events.Dispatcher, EventDispatcher)
