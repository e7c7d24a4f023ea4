"""Publish many task messages through Celery, from a child process with its own BROKER_URL.

Usage: python -m bench.publish TASK QUEUE COUNTDOWN ARGS_JSON_FILE
Going through send_task keeps Celery's own routing: on RabbitMQ with native delayed
delivery, a countdown message goes to the broker's delay queues exactly as a poll would.
"""

from __future__ import annotations

import json
import sys

from workers.celery_app import app


def main(argv: list[str]) -> None:
    task, queue, countdown, path = argv
    with open(path) as f:
        args_list = json.load(f)
    wait = float(countdown) or None
    # A connection of our own, closed cleanly: a process that exits with a pooled one
    # still open can lose the last messages it wrote.
    with app.connection_for_write() as conn:
        producer = conn.Producer()
        for args in args_list:
            app.send_task(task, args, queue=queue, countdown=wait, producer=producer)


if __name__ == "__main__":
    main(sys.argv[1:])
