"""One job's logs, from request to completion: every line JSON with the job's ids, no secret.

The stack runs with a PiAPI key, a PiAPI webhook secret and a user webhook, so every
secret the service holds is in play; PiAPI is the sandbox, served from this process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from tests.bodies import SPEC_T2V
from tests.e2e.conftest import Stack, run_stack
from tests.e2e.test_webhooks import Receiver
from tests.stack import sandbox_server, wait_until

PIAPI_KEY = "piapi-key-that-must-never-be-logged-8f3a"
PIAPI_WEBHOOK_SECRET = "piapi-hook-secret-never-logged-77c1"
SIGNATURE = "c2lnbmF0dXJlLXRoYXQtbXVzdC1iZS1oaWRkZW4"
CREDENTIAL = "AKIAEXAMPLENEVERLOGGED"
# Our processes (honcho names them); Flower is not ours to format.
OURS = ("api", "submit", "poll", "callbacks", "store", "beat")
HONCHO_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<proc>[\w-]+)\.?\d*\s+\| (?P<text>.*)$")
# Celery's signal handler writes this straight to the terminal (logging is not safe inside
# a signal handler), after a blank line; it is the one plain line a worker may print.
SHUTDOWN_NOTICE = re.compile(r"^(worker: (Warm|Cold) shutdown \(MainProcess\))?$")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Run one job to its end (stored, webhook delivered), then stop the stack."""
    data_dir = tmp_path_factory.mktemp("logs")
    with (
        sandbox_server(time_scale=0.02) as piapi,
        run_stack(
            data_dir,
            "postgres-redis",
            database="videogen_e2e_logs",
            redis_db=9,
            PIAPI_API_KEY=PIAPI_KEY,
            PIAPI_BASE_URL=piapi.url,
            PUBLIC_BASE_URL="{api}",
            PIAPI_WEBHOOK_SECRET=PIAPI_WEBHOOK_SECRET,
            LOG_FORMAT="json",
        ) as stack,
    ):
        found = _one_job(stack)
    found["log"] = stack.log.read_text(errors="replace")
    found["key"] = stack.key
    yield found


def _one_job(stack: Stack) -> dict:
    http = stack.http()
    whsec = http.get(f"{stack.api}/api/account", timeout=10).json()["webhook_secret"]
    with Receiver() as receiver:
        job = http.post(
            f"{stack.api}/api/video/generate",
            json={**SPEC_T2V, "webhook_url": receiver.url, "webhook_events": ["completed"]},
            timeout=10,
        ).json()
        status_url = f"{stack.api}/api/video/status/{job['video_id']}"

        def finished() -> dict | None:
            body = http.get(status_url, timeout=10).json()
            deliveries = body.get("webhook_deliveries") or [{}]
            done = (
                body["status"] == "completed"
                and body["storage"]["state"] == "stored"
                and deliveries[0].get("state") == "delivered"
            )
            return body if done else None

        body = wait_until(finished, timeout_s=90, what="the job stored and its webhook delivered")
    # A client that leaks its credentials into a URL: the access line must not repeat them.
    leaky = f"X-Amz-Signature={SIGNATURE}&X-Amz-Credential={CREDENTIAL}&api_key={stack.key}"
    requests.get(f"{status_url}?{leaky}", timeout=10)
    return {"job_id": int(job["video_id"]), "task_id": body["task_id"], "whsec": whsec}


def _lines(log: str) -> list[tuple[str, str]]:
    """(process, text) for every line our processes wrote, but Celery's shutdown notice."""
    out = []
    for raw in log.splitlines():
        if (m := HONCHO_LINE.match(raw)) and m["proc"] in OURS:
            if m["proc"] != "api" and SHUTDOWN_NOTICE.match(m["text"]):
                continue
            out.append((m["proc"], m["text"]))
    return out


def test_every_line_of_our_processes_is_one_json_object(run: dict) -> None:
    lines = _lines(run["log"])
    assert {proc for proc, _ in lines} >= set(OURS)
    for proc, text in lines:
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            pytest.fail(f"{proc} wrote a line that is not JSON: {text!r}")
        assert isinstance(record, dict)
        assert {"ts", "level", "logger", "message"} <= record.keys(), text


def test_every_line_about_the_job_carries_its_ids(run: dict) -> None:
    job_id, task_id = run["job_id"], run["task_id"]
    records = [json.loads(text) for _, text in _lines(run["log"])]
    ours = [r for r in records if r.get("job_id") == job_id]
    celery_ids = {r["celery_task_id"] for r in ours if "celery_task_id" in r}
    # Anything naming the job's PiAPI task, one of its Celery tasks, or its status URL.
    markers = {task_id, *celery_ids, f"/status/{job_id}", f"job {job_id} ", f"job {job_id}:"}
    about_job = [r for r in records if any(m in json.dumps(r) for m in markers)]
    # PiAPI calls the job's own endpoint, its hook token redacted from the line. Its call at
    # task creation may beat the submit worker's recording of the task id; the endpoint
    # names the job, so that line carries the job id too (it adopts the task).
    piapi_calls = [r for r in about_job if r.get("path", "").startswith("/api/webhooks/piapi/pwh_")]
    assert all("[REDACTED]" in r["path"] for r in piapi_calls)
    creation_call = piapi_calls[0] if piapi_calls and "job_id" not in piapi_calls[0] else None
    strays = [r for r in about_job if r.get("job_id") != job_id and r is not creation_call]
    assert not strays, strays[:5]
    assert len(piapi_calls) == 2  # the sandbox calls at creation and at the end

    def seen(logger_part: str, message_part: str | tuple[str, ...], **fields: object) -> bool:
        parts = (message_part,) if isinstance(message_part, str) else message_part
        return any(
            logger_part in r["logger"]
            and any(part in r["message"] for part in parts)
            and all(r.get(k) == v for k, v in fields.items())
            for r in ours
        )

    # From the request to the end: the API, each queue's worker, and Celery's own lines.
    expected = [
        ("gunicorn.access", "POST /api/video/generate", {"status": 202}),
        ("gunicorn.access", f"GET /api/video/status/{job_id}", {"task_id": task_id}),
        ("celery.worker.strategy", "workers.tasks.submit_job", {}),  # "Task ... received"
        # Whichever recorded the task first: the create's answer, or PiAPI's callback.
        (
            "workers.submission",
            ("submitted as PiAPI task", "was already adopted from its callback"),
            {"task_id": task_id},
        ),
        ("celery.app.trace", "succeeded", {"task_id": task_id}),
        ("workers.polling", "completed at PiAPI", {"task_id": task_id}),
        ("workers.storing", "stored", {"task_id": task_id}),
        ("workers.callbacks", "attempt 2: 200", {"task_id": task_id}),
    ]
    missing = [e for e in expected if not seen(e[0], e[1], **e[2])]
    assert not missing, (missing, [(r["logger"], r["message"]) for r in ours])
    assert all(r["celery_task_id"] for r in ours if r["logger"].startswith("workers."))


def test_no_secret_appears_anywhere_in_the_log(run: dict) -> None:
    # Every process's output (Flower's and honcho's included); bin/up's banner before them
    # shows the development key to whoever ran `make up`, on purpose.
    log = "\n".join(raw for raw in run["log"].splitlines() if HONCHO_LINE.match(raw))
    for name, secret in {
        "API key": run["key"],
        "user webhook secret": run["whsec"],
        "user webhook secret (base64 part)": run["whsec"].removeprefix("whsec_"),
        "PIAPI_API_KEY": PIAPI_KEY,
        "PIAPI_WEBHOOK_SECRET": PIAPI_WEBHOOK_SECRET,
        "signed URL signature": SIGNATURE,
        "signed URL credential": CREDENTIAL,
    }.items():
        assert secret not in log, f"the {name} is in the log"
    # The leaky request itself was logged, with its secrets masked.
    assert "X-Amz-Signature=[REDACTED]" in log
