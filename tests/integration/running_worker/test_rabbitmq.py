"""The worker on RabbitMQ: quorum queues, and countdown polls held by the broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from celeryconfig import QUEUE_NAMES, task_queues_for
from infra.queue_depths import QueueDepthCollector
from models.jobs import Job, Phase
from tests.integration.conftest import SPEC_T2V
from tests.integration.running_worker import rabbitmq
from tests.integration.running_worker.conftest import live_app_client, worker_process
from tests.stack import SandboxServer, wait_until

HELD = 200  # countdown polls sent to show where they wait


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    yield rabbitmq.fresh_vhost()
    rabbitmq.drop_vhost()


@pytest.fixture(scope="module")
def amqp_sender(amqp_url: str) -> Celery:
    """A Celery client on the test vhost, routed as the workers route on RabbitMQ."""
    app = Celery("amqp-sender")
    app.config_from_object("celeryconfig")
    # celeryconfig chose for this process's BROKER_URL (Redis in tests): redo its amqp part.
    app.conf.update(
        broker_url=amqp_url,
        task_queues=task_queues_for(amqp_url),
        broker_transport_options={"confirm_publish": True},
        broker_transport=None,  # the Redis transport celeryconfig names for redis://
    )
    return app


@pytest.fixture(scope="module")
def amqp_worker(
    amqp_url: str,
    worker_db_url: str,
    live_sandbox: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("amqp-worker") / "worker.log"
    env = {
        "DATABASE_URL": worker_db_url,
        "BROKER_URL": amqp_url,
        "PIAPI_BASE_URL": live_sandbox.url,
        "PIAPI_API_KEY": "",
        # Under a second on purpose: the broker can only delay whole seconds.
        "POLL_INTERVAL_SECONDS": "0.3",
    }
    with worker_process(env, log) as proc:
        wait_until(
            lambda: proc.poll() is not None or b"ready." in log.read_bytes(),
            timeout_s=60,
            what="celery worker ready on RabbitMQ",
        )
        assert proc.poll() is None, log.read_text()
        yield log


def test_a_job_completes_through_submit_and_polls_on_rabbitmq(
    amqp_worker, amqp_sender, worker_db_url, worker_sessions
) -> None:
    client = live_app_client(worker_db_url, worker_sessions, amqp_sender)
    video_id = client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]

    def finished() -> dict | None:
        body = client.get(f"/api/video/status/{video_id}").get_json()
        return body if body["status"] != "processing" else None

    body = wait_until(finished, timeout_s=60, what="the job to finish on RabbitMQ")

    assert body["status"] == "completed"
    with worker_sessions() as s:
        job = s.get(Job, int(video_id))
        assert job.phase is Phase.DONE
        assert job.poll_count >= 1


def test_the_sweeper_runs_on_rabbitmq_with_its_expiry(amqp_worker, amqp_sender) -> None:
    # Beat sends the sweep with an expiry: on a quorum queue that is a per-message TTL.
    result = amqp_sender.send_task("workers.tasks.sweep_jobs", expires=30)

    wait_until(
        lambda: f"sweep_jobs[{result.id}] succeeded".encode() in amqp_worker.read_bytes(),
        timeout_s=30,
        what="the sweep to run",
    )


def test_task_and_delayed_queues_are_quorum(amqp_worker) -> None:
    found = rabbitmq.queues()

    assert {name: found[name][0] for name in QUEUE_NAMES} == dict.fromkeys(QUEUE_NAMES, "quorum")
    delayed = {
        name: kind for name, (kind, _) in found.items() if name.startswith("celery_delayed_")
    }
    assert delayed == {f"celery_delayed_{level}": "quorum" for level in range(28)}


def test_countdown_polls_wait_in_the_broker_not_in_the_worker(amqp_worker, amqp_sender) -> None:
    for job_id in range(HELD):
        # Never due during the test; the vhost is dropped afterwards.
        amqp_sender.send_task("workers.tasks.poll_job", (10**9 + job_id, "0" * 32), countdown=3600)

    def delayed_messages() -> int:
        return sum(n for name, (_, n) in rabbitmq.queues().items() if name.startswith("celery_"))

    wait_until(lambda: delayed_messages() == HELD, timeout_s=30, what="the broker to hold them")
    inspect = amqp_sender.control.inspect(timeout=5)
    scheduled, reserved = inspect.scheduled(), inspect.reserved()
    assert scheduled and reserved, "the worker did not answer inspect()"
    assert [task for tasks in scheduled.values() for task in tasks] == []
    assert [task for tasks in reserved.values() for task in tasks] == []
    assert rabbitmq.queues()["poll"][1] == 0
    # The metrics see them where they are.
    depths = {
        m.name: m.samples
        for m in QueueDepthCollector(
            amqp_sender.conf.broker_url, QUEUE_NAMES, timeout_s=5
        ).collect()
    }
    assert [s.value for s in depths["videogen_broker_delayed_messages"]] == [HELD]
    assert {s.labels["queue"]: s.value for s in depths["videogen_queue_messages"]}["poll"] == 0
