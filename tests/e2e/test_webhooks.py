"""Webhooks both ways and idempotency, end to end over HTTP against the sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks import Webhook

from tests.bodies import SPEC_T2V
from tests.e2e.conftest import Stack, run_stack
from tests.stack import free_port, wait_until


class Receiver:
    """A local HTTP endpoint that answers 500 to the first delivery and 200 after."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.received else 200
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/video"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_signed_webhook_is_retried_with_the_same_id_after_a_500(stack: Stack) -> None:
    http = stack.http()
    secret = http.get(f"{stack.api}/api/account", timeout=10).json()["webhook_secret"]
    with Receiver() as receiver:
        job = http.post(
            f"{stack.api}/api/video/generate",
            json={**SPEC_T2V, "webhook_url": receiver.url, "webhook_events": ["completed"]},
            timeout=10,
        ).json()
        wait_until(lambda: len(receiver.received) >= 2, timeout_s=60, what="a retried delivery")

    (first_headers, first_body, first_status), (headers, body, status) = receiver.received[:2]
    assert (first_status, status) == (500, 200)
    assert headers["webhook-id"] == first_headers["webhook-id"]
    assert body == first_body
    for h, b in ((first_headers, first_body), (headers, body)):
        # The reference library, not our code, checks the signature and timestamp.
        payload = Webhook(secret).verify(b, {k.lower(): v for k, v in h.items()})
    assert payload["type"] == "video.completed"
    assert payload["data"]["video_id"] == job["video_id"]
    assert payload["data"]["status"] == "completed"
    shown = http.get(f"{stack.api}/api/video/status/{job['video_id']}", timeout=10).json()
    (delivery,) = shown["webhook_deliveries"]
    wait_until(
        lambda: (
            http.get(f"{stack.api}/api/video/status/{job['video_id']}", timeout=10).json()[
                "webhook_deliveries"
            ][0]["state"]
            == "delivered"
        ),
        timeout_s=10,
        what="the delivery recorded as delivered",
    )
    assert delivery["id"] == headers["webhook-id"]


def test_concurrent_retries_with_one_idempotency_key_make_one_job_and_one_submission(
    stack: Stack,
) -> None:
    body = {**SPEC_T2V, "script": f"idempotent {time.time_ns()}"}
    headers = {"Idempotency-Key": f"key-{time.time_ns()}"}

    def post(_: int) -> requests.Response:
        return stack.http().post(
            f"{stack.api}/api/video/generate", json=body, headers=headers, timeout=30
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, range(24)))

    assert sorted({r.status_code for r in answers}) in ([200, 202], [202])
    assert sum(r.status_code == 202 for r in answers) == 1
    assert len({r.json()["video_id"] for r in answers}) == 1

    def created() -> list[dict]:
        tasks = requests.get(f"{stack.sandbox}/sandbox/tasks", timeout=10).json()["tasks"]
        return [t for t in tasks if body["script"] in t["prompt"]]

    # The shared stack may still be working through earlier tests' jobs (schemathesis sends
    # many valid ones): the submission waits its turn in the submit queue.
    wait_until(lambda: created(), timeout_s=240, what="the submission", every_s=1)
    time.sleep(2)  # any duplicate submission would have arrived by now
    assert len(created()) == 1


@pytest.fixture(scope="module")
def webhook_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Polls every 60 s, and PiAPI (the sandbox) calls us back at {api}/api/webhooks/piapi."""
    with run_stack(
        tmp_path_factory.mktemp("piapi-webhooks"),
        "postgres-redis",
        database="videogen_e2e_hooks",
        redis_db=12,
        POLL_POLICY="fixed",
        POLL_INTERVAL_SECONDS="60",
        PUBLIC_BASE_URL="{api}",
        PIAPI_WEBHOOK_SECRET="e2e-shared-secret",
        SANDBOX_TIME_SCALE="0.03",
    ) as running:
        yield running


def test_piapi_webhooks_complete_a_job_before_the_next_poll(webhook_stack: Stack) -> None:
    stack = webhook_stack
    http = stack.http()
    started = time.monotonic()
    job = http.post(f"{stack.api}/api/video/generate", json=SPEC_T2V, timeout=10).json()

    def done() -> dict | None:
        body = http.get(f"{stack.api}/api/video/status/{job['video_id']}", timeout=10).json()
        return body if body["status"] != "processing" else None

    finished = wait_until(done, timeout_s=30, what="the webhook-driven completion")
    assert finished["status"] == "completed"
    assert time.monotonic() - started < 30  # the first poll was due 60 s after submission


def test_a_piapi_webhook_with_a_wrong_secret_is_refused(webhook_stack: Stack) -> None:
    stack = webhook_stack
    job = stack.http().post(f"{stack.api}/api/video/generate", json=SPEC_T2V, timeout=10).json()
    resp = requests.post(
        f"{stack.api}/api/webhooks/piapi",
        json={"timestamp": 1, "data": {"task_id": "whatever", "status": "completed"}},
        headers={"x-webhook-secret": "not-the-secret"},
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"
    status = stack.http().get(f"{stack.api}/api/video/status/{job['video_id']}", timeout=10)
    assert status.json()["status"] in ("processing", "completed")  # untouched by the forgery
