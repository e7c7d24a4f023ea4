"""Queue depths read at scrape time from a broker that accepts a connection and never answers."""

from __future__ import annotations

import socket

import pytest
from prometheus_client import CollectorRegistry

from infra.queue_depths import QueueDepthCollector

QUEUES = ("submit", "poll", "callbacks", "store")


def _registry(collector: QueueDepthCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


# Without the collector's own timeout this read would wait forever on the silent
# listener below; the test's timeout turns that into a failure.
@pytest.mark.timeout(20)
def test_a_broker_that_does_not_answer_is_reported_down() -> None:
    with socket.socket() as listener:  # accepts connections and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        registry = _registry(
            QueueDepthCollector(f"redis://127.0.0.1:{port}/0", QUEUES, timeout_s=0.2)
        )

        up = registry.get_sample_value("videogen_broker_up")

    assert up == 0
    assert registry.get_sample_value("videogen_queue_messages", {"queue": "poll"}) is None
