"""How many messages wait in each queue, read from the broker when Prometheus scrapes.

A scrape must never hang on a broker that is down: every read has a short timeout, and
a broker that does not answer is reported as `videogen_broker_up 0` with no depths.
Countdown messages (the next poll of every job) are held by the workers, not queued:
on Redis they are counted apart, as `videogen_broker_unacked_messages`. On RabbitMQ they
wait in the broker's delay queues instead, counted as `videogen_broker_delayed_messages`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import redis
from kombu import Connection
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

TIMEOUT_S = 0.5
# Celery's native delayed delivery keeps countdown messages in these (RabbitMQ only).
DELAYED_QUEUES = tuple(f"celery_delayed_{level}" for level in range(28))


class QueueDepthCollector(Collector):
    """A custom collector: the depth of each Celery queue, read from the broker at scrape time."""

    def __init__(
        self,
        broker_url: str,
        queues: Iterable[str],
        *,
        transport_options: Mapping[str, Any] | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self._url = broker_url
        self._queues = tuple(queues)
        self._options = dict(transport_options or {})
        self._timeout_s = timeout_s
        self._redis: redis.Redis | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the depths, or only videogen_broker_up 0 when the broker cannot be read."""
        up = GaugeMetricFamily("videogen_broker_up", "1 if the broker answered this scrape")
        depths = GaugeMetricFamily(
            "videogen_queue_messages", "Messages waiting in each queue", labels=["queue"]
        )
        extra: list[GaugeMetricFamily] = []
        try:
            counts, unacked, delayed = self._read()
        except Exception as exc:  # noqa: BLE001 - a scrape reports the broker down, never fails
            log.warning("queue depths unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for queue, count in counts.items():
            depths.add_metric([queue], count)
        if unacked is not None:
            held = GaugeMetricFamily(
                "videogen_broker_unacked_messages",
                "Messages delivered to workers and not yet acknowledged (countdowns included)",
            )
            held.add_metric([], unacked)
            extra.append(held)
        if delayed is not None:
            waiting = GaugeMetricFamily(
                "videogen_broker_delayed_messages",
                "Countdown messages waiting in RabbitMQ's delay queues until they are due",
            )
            waiting.add_metric([], delayed)
            extra.append(waiting)
        yield up
        yield depths
        yield from extra

    def _read(self) -> tuple[dict[str, int], int | None, int | None]:
        scheme = self._url.split("://", 1)[0]
        if scheme in ("redis", "rediss"):
            return (*self._read_redis(), None)
        if scheme == "filesystem":
            return self._read_folder(), None, None
        counts = self._read_amqp((*self._queues, *DELAYED_QUEUES))
        delayed = sum(counts.pop(name) for name in DELAYED_QUEUES)
        return counts, None, delayed

    def _read_redis(self) -> tuple[dict[str, int], int | None]:
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                self._url, socket_timeout=self._timeout_s, socket_connect_timeout=self._timeout_s
            )
        # Kombu keeps each queue as a list under the queue's name, and every delivered,
        # unacknowledged message in the `unacked` hash.
        with self._redis.pipeline(transaction=False) as pipe:
            for queue in self._queues:
                pipe.llen(queue)
            pipe.hlen("unacked")
            *counts, unacked = pipe.execute()
        return dict(zip(self._queues, counts, strict=True)), int(unacked)

    def _read_folder(self) -> dict[str, int]:
        # Kombu's file-system transport names each message <time>_<id>.<queue>.msg.
        folder = Path(self._options["data_folder_in"])
        counts = dict.fromkeys(self._queues, 0)
        for path in folder.iterdir():
            queue = path.name.rsplit(".", 2)[-2] if path.name.endswith(".msg") else None
            if queue in counts:
                counts[queue] += 1
        return counts

    def _read_amqp(self, queues: Iterable[str]) -> dict[str, int]:
        with Connection(
            self._url, connect_timeout=self._timeout_s, transport_options=self._options
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=self._timeout_s)
            channel = conn.channel()
            try:
                counts = {}
                for queue in queues:
                    # Passive: only reads the queue; a queue not yet declared is empty.
                    try:
                        counts[queue] = channel.queue_declare(queue=queue, passive=True)[1]
                    except conn.channel_errors:
                        counts[queue] = 0
                        channel = conn.channel()  # a failed passive declare closes it
                return counts
            finally:
                channel.close()
