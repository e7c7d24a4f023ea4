"""Start-up checks of RabbitMQ."""

from __future__ import annotations

import pytest

from workers.broker_checks import declare_queues, rabbitmq_version_is_enough


@pytest.mark.parametrize(
    ("version", "enough"),
    [(b"3.10.8", True), (b"4.1.0", True), ("3.13.7", True), (b"3.9.29", False), (b"", False)],
)
def test_rabbitmq_needs_3_10_for_broker_held_countdowns(version, enough: bool) -> None:
    assert rabbitmq_version_is_enough({"version": version}) is enough


class _Queue:
    def __init__(self, declared: list[str], name: str) -> None:
        self.declared, self.name = declared, name

    def bind(self, channel: object) -> _Queue:
        return self

    def declare(self) -> None:
        self.declared.append(self.name)


class _Connection:
    def __init__(self, up: bool) -> None:
        self.up = up
        self.default_channel = object()

    def ensure_connection(self, max_retries: int) -> None:
        if not self.up:
            raise ConnectionRefusedError


def test_every_queue_is_declared_before_workers_bind_them() -> None:
    declared: list[str] = []
    queues = [_Queue(declared, name) for name in ("submit", "poll", "callbacks", "store")]

    assert declare_queues(_Connection(up=True), queues) is True
    assert declared == ["submit", "poll", "callbacks", "store"]


def test_an_unreachable_broker_is_a_warning_not_a_crash(caplog) -> None:
    assert declare_queues(_Connection(up=False), [_Queue([], "poll")]) is False
    assert "could not declare the task queues (ConnectionRefusedError)" in caplog.text
