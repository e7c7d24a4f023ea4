"""A worker stopped with SIGTERM hands back the countdown polls it holds (no sweeper needed)."""

from __future__ import annotations

import signal

import redis
from celery import Celery

from models.jobs import Job, Phase
from tests.integration.conftest import SPEC_T2V
from tests.integration.running_worker.conftest import live_app_client, worker_process
from tests.stack import wait_until

BROKER_URL = "redis://127.0.0.1:6379/13"


_worker = worker_process


def test_sigterm_hands_back_held_polls(
    worker_db_url, worker_sessions, live_sandbox, tmp_path
) -> None:
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    env = {
        "DATABASE_URL": worker_db_url,
        "BROKER_URL": BROKER_URL,
        "PIAPI_BASE_URL": live_sandbox.url,
        "PIAPI_API_KEY": "",
        "POLL_POLICY": "fixed",
        "POLL_INTERVAL_SECONDS": "4",  # long enough to stop the worker mid-countdown
    }
    sender = Celery("shutdown-test")
    sender.config_from_object("celeryconfig")
    sender.conf.broker_url = BROKER_URL
    client = live_app_client(worker_db_url, worker_sessions, sender)

    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with _worker(env, first_log) as first:
        wait_until(lambda: b"ready." in first_log.read_bytes(), timeout_s=60, what="worker")
        video_id = int(client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"])

        def polling() -> bool:
            with worker_sessions() as s:
                return s.get(Job, video_id).phase is Phase.POLLING

        wait_until(polling, timeout_s=20, what="submission")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)

    # The countdown poll the first worker held is back on the broker, not lost.
    assert broker.llen("poll") == 1
    with _worker(env, second_log):

        def completed() -> bool:
            with worker_sessions() as s:
                return s.get(Job, video_id).phase is Phase.DONE

        wait_until(completed, timeout_s=30, what="the handed-back poll to finish the job")
