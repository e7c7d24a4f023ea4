"""`python -m workers.healthcheck QUEUE`: exit 0 only if this host's worker for QUEUE answers.

docker-compose runs it as each worker service's health check. The worker is named
`QUEUE@%h` (the Procfile and docker-compose.yml), and Celery's `%h` is this host's
name, so the ping goes to that one node, not to whichever worker answers first: a
container is healthy only when its own worker still reads the broker.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

QUEUES = ("submit", "poll", "callbacks", "store")
Ping = Callable[[str, float], Sequence[dict[str, Any]]]


def node_name(queue: str, host: str | None = None) -> str:
    """The worker name the Procfile and docker-compose.yml give QUEUE's pool on this host."""
    return f"{queue}@{host or socket.gethostname()}"


def answered(node: str, replies: Sequence[dict[str, Any]]) -> bool:
    """True when `node` is among the ping replies and said pong."""
    return any(reply.get(node, {}).get("ok") == "pong" for reply in replies)


def _celery_ping(node: str, timeout_s: float) -> Sequence[dict[str, Any]]:
    from workers.celery_app import app  # imported here: `--help` must not need a broker

    return app.control.ping(destination=[node], timeout=timeout_s) or []


def main(argv: Sequence[str] | None = None, ping: Ping = _celery_ping) -> int:
    """Ping this host's worker for one queue; 0 if it answered, 1 if not (or no broker)."""
    parser = argparse.ArgumentParser(prog="python -m workers.healthcheck", description=__doc__)
    parser.add_argument("queue", choices=QUEUES)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (5)")
    args = parser.parse_args(argv)
    node = node_name(args.queue)
    try:
        replies = ping(node, args.timeout)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the broker is "unhealthy"
        print(f"{node}: no answer ({type(exc).__name__})", file=sys.stderr)  # noqa: T201
        return 1
    if answered(node, replies):
        return 0
    print(f"{node}: no answer within {args.timeout:g}s", file=sys.stderr)  # noqa: T201
    return 1


if __name__ == "__main__":
    sys.exit(main())
