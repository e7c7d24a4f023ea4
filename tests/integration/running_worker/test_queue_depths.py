"""Queue depths read from a real Redis and a real RabbitMQ, as /metrics reads them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from kombu import Connection
from prometheus_client import CollectorRegistry

from celeryconfig import QUEUE_NAMES, task_queues_for
from infra.queue_depths import QueueDepthCollector
from tests.integration.running_worker import rabbitmq

REDIS_URL = "redis://127.0.0.1:6379/7"  # a db of its own (see the e2e modules' list)
VHOST = "videogen_metrics_test"


def _depths(url: str) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(url, QUEUE_NAMES))
    return registry


def _queued(registry: CollectorRegistry) -> dict[str, float | None]:
    return {
        queue: registry.get_sample_value("videogen_queue_messages", {"queue": queue})
        for queue in QUEUE_NAMES
    }


@pytest.fixture
def empty_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def test_redis_depth_is_each_queue_list_and_unacked_is_the_hash(empty_redis: redis.Redis) -> None:
    empty_redis.rpush("poll", "m1", "m2", "m3")
    empty_redis.rpush("submit", "m4")
    empty_redis.hset("unacked", mapping={"tag-1": "m5", "tag-2": "m6"})

    registry = _depths(REDIS_URL)

    assert _queued(registry) == {"submit": 1, "poll": 3, "callbacks": 0, "store": 0}
    assert registry.get_sample_value("videogen_broker_unacked_messages") == 2
    assert registry.get_sample_value("videogen_broker_up") == 1


@pytest.fixture
def amqp_vhost() -> Iterator[str]:
    yield rabbitmq.fresh_vhost(VHOST)
    rabbitmq.drop_vhost(VHOST)


def test_rabbitmq_depth_comes_from_a_passive_declare(amqp_vhost: str) -> None:
    with Connection(amqp_vhost) as conn:
        channel = conn.default_channel
        for queue in task_queues_for(amqp_vhost):
            if queue.name != "store":  # a queue no worker declared yet reads as empty
                queue(channel).declare()
        with conn.Producer() as producer:
            for _ in range(2):
                producer.publish({}, exchange="poll", routing_key="poll", declare=[])

    registry = _depths(amqp_vhost)

    assert _queued(registry) == {"submit": 0, "poll": 2, "callbacks": 0, "store": 0}
    assert registry.get_sample_value("videogen_broker_up") == 1
