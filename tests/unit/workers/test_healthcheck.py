"""The worker health check docker-compose runs: this host's node for one queue must answer."""

from __future__ import annotations

import socket

import pytest

from workers.healthcheck import QUEUES, main, node_name


def test_it_pings_only_this_hosts_node_for_the_queue() -> None:
    asked = []

    def ping(node: str, timeout_s: float) -> list[dict]:
        asked.append((node, timeout_s))
        return [{node: {"ok": "pong"}}]

    assert main(["poll", "--timeout", "2"], ping=ping) == 0
    assert asked == [(f"poll@{socket.gethostname()}", 2.0)]


@pytest.mark.parametrize(
    "replies",
    [
        [],  # nobody answered within the timeout
        [{"poll@elsewhere": {"ok": "pong"}}],  # another host's worker is no proof of ours
        [{node_name("poll"): {"error": "busy"}}],
    ],
)
def test_it_fails_unless_its_own_node_says_pong(replies: list[dict]) -> None:
    assert main(["poll"], ping=lambda node, timeout_s: replies) == 1


def test_an_unreachable_broker_is_unhealthy_and_its_url_is_not_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def ping(node: str, timeout_s: float) -> list[dict]:
        raise ConnectionError("redis://:s3cret@broker:6379/0 refused")

    assert main(["store"], ping=ping) == 1
    assert "s3cret" not in capsys.readouterr().err


def test_only_known_queues_are_accepted() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["nosuch"], ping=lambda node, timeout_s: [])
    assert exited.value.code == 2


def test_it_knows_every_queue_celery_routes_to() -> None:
    import celeryconfig

    assert tuple(queue.name for queue in celeryconfig.task_queues) == QUEUES
