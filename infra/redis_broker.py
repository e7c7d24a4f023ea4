"""kombu's Redis transport, with one Redis client per channel instead of one per command.

kombu's Redis channel builds a new `redis.Redis` for every command it sends outside its
consumer (each message published, each event, each queue size): the client's
constructor fills a case-insensitive table of about 170 response callbacks, which cost
more CPU than the command itself. Measured on this 2-core machine, sending one task
message (with its task-sent event) took 1.8-2.1 ms of CPU through kombu's transport
and 1.0-1.3 ms through this one; the API's generate sends one per request and every
poll sends the next.

A redis-py client holds no connection of its own (each command takes one from the
channel's pool and returns it), so one client serves every thread of a process, as
redis-py documents. kombu drops a channel's pools after a connection error and makes
new ones on the next command; a client made for a dropped pool is made again.

celeryconfig.py names this class as the transport whenever BROKER_URL is redis://.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    """kombu's Redis channel, reusing its synchronous client (see the module)."""

    # celery-types' stubs for the channel predate _create_client, hence the ignores.
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the consumer's client: kombu already keeps one per channel
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        client = self._shared_client
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()  # type: ignore[misc]
        return client


class Transport(redis.Transport):
    """kombu's Redis transport with Channel above."""

    Channel = Channel
