"""The pipeline through a real Celery worker process, Redis, Postgres and the sandbox."""

from __future__ import annotations

from models.jobs import Job
from providers.sandbox.engine import FAIL_MARKER
from tests.integration.conftest import SPEC_I2V, SPEC_T2V
from tests.stack import wait_until


def _finished(live_client, video_id: str) -> dict:
    def done() -> dict | None:
        body = live_client.get(f"/api/video/status/{video_id}").get_json()
        return body if body["status"] != "processing" else None

    return wait_until(done, timeout_s=30, what=f"job {video_id} to finish")


def test_text_to_video_completes_through_the_worker(
    live_client, live_sandbox, worker_sessions
) -> None:
    accepted = live_client.post("/api/video/generate", json=SPEC_T2V).get_json()

    body = _finished(live_client, accepted["video_id"])

    assert body["status"] == "completed"
    assert body["progress"] == 100
    assert body["video_url"].startswith(f"{live_sandbox.url}/media/{body['task_id']}/")
    with worker_sessions() as s:
        job = s.get(Job, int(accepted["video_id"]))
        assert job.poll_count >= 1
        assert job.next_poll_at is None


def test_image_to_video_completes_and_sent_the_image(live_client, live_sandbox) -> None:
    accepted = live_client.post("/api/video/generate", json=SPEC_I2V).get_json()

    body = _finished(live_client, accepted["video_id"])

    assert body["status"] == "completed"
    task = next(t for t in live_sandbox.sandbox._tasks.values() if t.task_id == body["task_id"])
    assert task.body["input"]["image"] == SPEC_I2V["image_url"]


def test_a_provider_failure_reaches_the_status_endpoint(live_client) -> None:
    accepted = live_client.post(
        "/api/video/generate", json={**SPEC_T2V, "script": f"please fail {FAIL_MARKER}"}
    ).get_json()

    body = _finished(live_client, accepted["video_id"])

    assert (body["status"], body["error_code"]) == ("failed", "10000")
    assert body["error_message"] == "task failed: the sandbox was told to fail this task"


def test_duplicated_submit_messages_create_one_piapi_task(
    live_client, live_sandbox, sender
) -> None:
    before = live_sandbox.sandbox.create_calls
    accepted = live_client.post("/api/video/generate", json=SPEC_T2V).get_json()
    for _ in range(3):  # redeliveries of the same message
        sender.send_task("workers.tasks.submit_job", kwargs={"job_id": int(accepted["video_id"])})

    assert _finished(live_client, accepted["video_id"])["status"] == "completed"
    assert live_sandbox.sandbox.create_calls - before == 1


def test_refused_creates_are_retried_by_the_worker_until_piapi_accepts(
    live_client, live_sandbox
) -> None:
    import requests

    faults = f"{live_sandbox.url}/sandbox/faults"
    requests.put(faults, data='{"create": {"429": 1}, "retry_after_s": 1}', timeout=5)
    try:
        accepted = live_client.post(
            "/api/video/generate", json={**SPEC_T2V, "script": "refused at first"}
        ).get_json()

        def attempts() -> int:
            counts = dict(live_sandbox.sandbox.create_attempts)
            return sum(n for prompt, n in counts.items() if "refused at first" in prompt)

        wait_until(lambda: attempts() >= 2, timeout_s=20, what="a retried create")
    finally:
        requests.put(faults, data="{}", timeout=5)

    assert _finished(live_client, accepted["video_id"])["status"] == "completed"
