"""celeryconfig picks quorum queues and broker-held countdowns on RabbitMQ, nothing else."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType

import pytest
from celery import Celery

import celeryconfig
from infra import file_broker
from infra.settings import get_settings

AMQP = "amqp://guest:guest@rabbit:5672/videogen"
REDIS = "redis://127.0.0.1:6379/0"
RABBITMQ_ONLY = (
    "task_default_queue_type",
    "task_default_exchange_type",
    "broker_native_delayed_delivery_queue_type",
    "worker_detect_quorum_queues",
)


@pytest.fixture
def config_for(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A fresh copy of celeryconfig, as a process with this BROKER_URL would load it."""

    def load(url: str) -> ModuleType:
        monkeypatch.setenv("BROKER_URL", url)
        get_settings.cache_clear()
        spec = importlib.util.spec_from_file_location("celeryconfig_copy", celeryconfig.__file__)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    monkeypatch.undo()
    get_settings.cache_clear()


def test_rabbitmq_gets_quorum_queues_on_topic_exchanges(config_for) -> None:
    config = config_for(AMQP)

    assert [q.name for q in config.task_queues] == ["submit", "poll", "callbacks", "store"]
    for queue in config.task_queues:
        assert queue.queue_arguments == {"x-queue-type": "quorum", "x-delivery-limit": 20}
        assert (queue.exchange.name, queue.exchange.type) == (queue.name, "topic")
        assert queue.routing_key == queue.name
    assert config.task_default_queue_type == "quorum"
    assert config.task_default_exchange_type == "topic"
    assert config.broker_native_delayed_delivery_queue_type == "quorum"
    assert config.worker_detect_quorum_queues is True
    # Confirmed publishes; Redis' visibility timeout means nothing to RabbitMQ.
    assert config.broker_transport_options == {"confirm_publish": True}


@pytest.mark.parametrize("url", [REDIS, "rediss://cache:6380/1"])
def test_redis_keeps_plain_queues_on_direct_exchanges(config_for, url: str) -> None:
    config = config_for(url)

    for queue in config.task_queues:
        assert queue.queue_arguments is None
        assert (queue.exchange.name, queue.exchange.type) == (queue.name, "direct")
    assert config.broker_transport_options == {"visibility_timeout": 3600}
    assert [name for name in RABBITMQ_ONLY if hasattr(config, name)] == []
    # One Redis client per channel (infra/redis_broker.py); rediss:// keeps kombu's own,
    # which turns TLS on from the scheme's name.
    expected = "infra.redis_broker:Transport" if url.startswith("redis://") else None
    assert getattr(config, "broker_transport", None) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("amqp://guest@localhost//", True),
        ("amqps://u:p@mq.example:5671/v", True),
        ("pyamqp://localhost", True),
        (REDIS, False),
        ("filesystem://", False),
    ],
)
def test_rabbitmq_is_told_by_the_url_scheme(url: str, expected: bool) -> None:
    assert celeryconfig.uses_rabbitmq(url) is expected


@pytest.mark.parametrize(("interval", "expires"), [("5", 60.0), ("30", 120.0), ("60", 240.0)])
def test_a_sweep_outlives_a_short_submit_backlog(
    config_for, monkeypatch: pytest.MonkeyPatch, interval: str, expires: float
) -> None:
    # One interval was too short: a few seconds of backlog dropped every sweep.
    monkeypatch.setenv("SWEEP_INTERVAL_SECONDS", interval)
    options = config_for(REDIS).beat_schedule["sweep-jobs"]["options"]
    assert options["expires"] == expires


def test_the_file_broker_is_ours_and_connects_with_whole_message_writes(
    config_for, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    config = config_for("filesystem://")

    app = Celery("videogen", set_as_current=False)
    app.config_from_object(config)
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, file_broker.Transport)
        assert connection.default_channel.data_folder_in == str(tmp_path / "broker" / "queue")
