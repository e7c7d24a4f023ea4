"""Publish many task messages through Celery, from a child process with its own BROKER_URL.

Usage: python -m bench.publish TASK QUEUE COUNTDOWN ARGS_JSON_FILE
Going through send_task keeps Celery's own routing: on RabbitMQ with native delayed
delivery, a countdown message goes to the broker's delay queues exactly as a poll would.
On RabbitMQ every message is confirmed by the broker; a refused one (basic.nack) is
counted and sent again, so the phase measures every job it meant to hold.
"""

from __future__ import annotations

import json
import sys
import time

from amqp.exceptions import MessageNacked

from workers.celery_app import app


def main(argv: list[str]) -> None:
    task, queue, countdown, path = argv
    with open(path) as f:
        args_list = json.load(f)
    wait = float(countdown) or None
    if app.conf.broker_url.startswith(("amqp", "pyamqp")):
        app.conf.broker_transport_options = {
            **(app.conf.broker_transport_options or {}),
            "confirm_publish": True,
        }
    refused = 0
    # A connection of our own, closed cleanly: a process that exits with a pooled one
    # still open can lose the last messages it wrote.
    with app.connection_for_write() as conn:
        producer = conn.Producer()
        for args in args_list:
            while True:
                try:
                    app.send_task(task, args, queue=queue, countdown=wait, producer=producer)
                    break
                except MessageNacked:
                    refused += 1
                    time.sleep(0.05)
    print(json.dumps({"published": len(args_list), "refused": refused}))  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
