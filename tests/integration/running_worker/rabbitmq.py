"""A RabbitMQ vhost of our own for worker tests, made and read with rabbitmqctl."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

VHOST = "videogen_worker_test"
AMQP_URL = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl quietly; its stdout, or an AssertionError with its stderr."""
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


def fresh_vhost(vhost: str = VHOST) -> str:
    """An empty test vhost (never `/`), or a skip saying why RabbitMQ cannot be used."""
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        pytest.skip("RabbitMQ is not answering on 127.0.0.1:5672")
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: it makes the test vhost and lists queue types")
    drop_vhost(vhost)
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except AssertionError as exc:
        pytest.skip(f"cannot make the RabbitMQ test vhost: {exc}")
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def drop_vhost(vhost: str = VHOST) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, check=False)


def queues() -> dict[str, tuple[str, int]]:
    """Every queue in the test vhost: name -> (type, messages ready or unacknowledged)."""
    out = rabbitmqctl("list_queues", "-p", VHOST, "--no-table-headers", "name", "type", "messages")
    rows = (line.split("\t") for line in out.splitlines() if line.strip())
    return {name: (kind, int(messages)) for name, kind, messages in rows}
