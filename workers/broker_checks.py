"""Start-up checks of the broker that protect job messages."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class _ConfigReader(Protocol):
    def config_get(self, pattern: str) -> Any: ...


def redis_eviction_policy_is_safe(client: _ConfigReader) -> bool:
    """False (and a warning) unless Redis is set never to evict keys.

    Redis under memory pressure with an evicting policy drops queued messages,
    and a dropped countdown poll is a job the sweeper has to rescue.
    """
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except Exception as exc:  # noqa: BLE001 - managed Redis may forbid CONFIG
        log.warning(
            "could not read Redis maxmemory-policy (%s); make sure it is noeviction",
            type(exc).__name__,
        )
        return False
    if policy != "noeviction":
        log.warning(
            "Redis maxmemory-policy is %r: under memory pressure it will drop queued "
            "job messages. Set it to noeviction.",
            policy,
        )
        return False
    return True


# Quorum queues dead-letter at least once, and honour message TTLs, from RabbitMQ 3.10:
# Celery's native delayed delivery needs both to move a countdown along its queues.
RABBITMQ_MIN_VERSION = (3, 10)


def rabbitmq_version_is_enough(server_properties: dict[str, Any]) -> bool:
    """False (and a warning) unless the RabbitMQ server can hold countdowns itself."""
    raw = server_properties.get("version", b"")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        version = tuple(int(part) for part in text.split(".")[:2])
    except ValueError:
        log.warning("could not read the RabbitMQ version (%r); 3.10 or newer is needed", text)
        return False
    if version < RABBITMQ_MIN_VERSION:
        log.warning(
            "RabbitMQ %s is older than 3.10: quorum queues there cannot move countdown "
            "messages through Celery's delayed-delivery queues. Upgrade RabbitMQ.",
            text,
        )
        return False
    return True


def declare_queues(connection: Any, queues: Iterable[Any]) -> bool:
    """Declare every queue with its exchange and binding; False (and a warning) on failure.

    On RabbitMQ each worker binds every queue, not only its own, to the delayed-delivery
    exchange when it starts; a queue no worker has declared yet cannot be bound, and a
    countdown message for it would be dropped when due.
    """
    try:
        # About two minutes: a broker that starts with the workers gets time to answer.
        connection.ensure_connection(max_retries=10)
        channel = connection.default_channel
        for queue in queues:
            queue.bind(channel).declare()
    except Exception as exc:  # noqa: BLE001 - each queue's own worker declares it anyway
        log.warning("could not declare the task queues (%s)", type(exc).__name__)
        return False
    return True
