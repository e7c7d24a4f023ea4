"""The Redis broker's channel sends every message through one client, on the real Redis."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_py
from celery import Celery
from kombu import Connection
from kombu.transport import redis as kombu_redis

from infra import redis_broker
from infra.messages import CeleryMessages

# The only db of the local Redis no other test uses, and this module flushes it: the e2e
# stacks take 1, 2, 4-6, 9-12 and 14 (run_stack's default), the running-worker tests 3,
# 7, 13 and 15.
BROKER_URL = "redis://127.0.0.1:6379/8"


@pytest.fixture
def flushed() -> Iterator[redis_py.Redis]:
    client = redis_py.Redis.from_url(BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every synchronous client kombu's channel builds, in order."""
    clients: list[Any] = []
    real = kombu_redis.Channel._create_client

    def counted(self: kombu_redis.Channel, asynchronous: bool = False) -> Any:
        client = real(self, asynchronous)
        if not asynchronous:
            clients.append(client)
        return client

    monkeypatch.setattr(kombu_redis.Channel, "_create_client", counted)
    return clients


def _app() -> Celery:
    app = Celery("videogen", set_as_current=False)
    app.config_from_object("celeryconfig")
    app.conf.broker_url = BROKER_URL
    app.conf.broker_transport = "infra.redis_broker:Transport"  # as celeryconfig picks it
    return app


def _submitted(client: redis_py.Redis) -> list[int]:
    bodies = [json.loads(raw) for raw in client.lrange("submit", 0, -1)]
    return sorted(json.loads(_decoded(body))[1]["job_id"] for body in bodies)


def _decoded(message: dict[str, Any]) -> str:
    return base64.b64decode(message["body"]).decode()


def test_messages_and_their_events_go_through_one_client(flushed, made) -> None:
    app = _app()
    messages = CeleryMessages(app)

    for job_id in range(50):
        messages.submit(job_id)

    assert _submitted(flushed) == list(range(50))
    # kombu's own channel builds two here per message: one for it, one for its event.
    assert len(made) == 1
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, redis_broker.Transport)


def test_a_client_is_made_again_for_the_pool_kombu_makes_after_an_error(flushed, made) -> None:
    with Connection(BROKER_URL, transport="infra.redis_broker:Transport") as connection:
        channel = connection.default_channel
        channel._put("work", {"n": 1})
        # What kombu does to a channel when a command fails on a broken connection.
        channel._disconnect_pools()
        channel._put("work", {"n": 2})

    assert [json.loads(raw) for raw in flushed.lrange("work", 0, -1)] == [{"n": 2}, {"n": 1}]
    assert len(made) == 2
    assert made[1].connection_pool is not made[0].connection_pool


def test_threads_share_the_client_and_every_message_arrives(flushed, made) -> None:
    app = _app()
    messages = CeleryMessages(app)
    failures: list[BaseException] = []

    def send(first: int) -> None:
        try:
            for job_id in range(first, first + 100):
                messages.submit(job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(n * 100,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert _submitted(flushed) == list(range(800))
