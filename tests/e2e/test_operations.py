"""What an operator sees of the stack bin/up runs: Flower (with its login) and worker health.

One stack for the module, on Postgres and Redis (Flower follows the workers through
broker events).
"""

from __future__ import annotations

import ast
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.bodies import SPEC_T2V
from tests.e2e.conftest import Stack, run_stack
from tests.stack import ROOT, wait_http, wait_until

QUEUES = ("submit", "poll", "callbacks", "store")
REDIS_DB = 9
LOGIN = ("ops", secrets.token_urlsafe(12))


@pytest.fixture(scope="module")
def ops_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(
        tmp_path_factory.mktemp("ops"),
        "postgres-redis",
        database="videogen_e2e_ops",
        redis_db=REDIS_DB,
        FLOWER_BASIC_AUTH=":".join(LOGIN),
    ) as stack:
        wait_http(f"{stack.flower}/healthcheck")  # Flower starts after the API may answer
        yield stack


def _flower(stack: Stack, path: str, **params: str) -> requests.Response:
    return requests.get(f"{stack.flower}{path}", params=params, auth=LOGIN, timeout=10)


def _finished(stack: Stack, video_id: str) -> dict:
    def done() -> dict | None:
        body = stack.http().get(f"{stack.api}/api/video/status/{video_id}", timeout=5).json()
        return body if body["status"] != "processing" else None

    return wait_until(done, timeout_s=60, what=f"job {video_id}", every_s=0.3)


@pytest.fixture(scope="module")
def two_jobs(ops_stack: Stack) -> tuple[int, int]:
    """Two jobs run to completion; Flower must tell their tasks apart."""
    ids = []
    for _ in range(2):
        accepted = ops_stack.http().post(
            f"{ops_stack.api}/api/video/generate", json=SPEC_T2V, timeout=10
        )
        assert accepted.status_code == 202, accepted.text
        ids.append(accepted.json()["video_id"])
    for video_id in ids:
        assert _finished(ops_stack, video_id)["status"] == "completed"
    return int(ids[0]), int(ids[1])


def test_flower_lists_a_worker_for_every_queue(ops_stack: Stack) -> None:
    def consumed_queues() -> set[str] | None:
        answer = _flower(ops_stack, "/api/workers", refresh="1")
        if answer.status_code != 200:
            return None
        found = {
            queue["name"]
            for name, info in answer.json().items()
            for queue in info.get("active_queues") or []
            if name.startswith(f"{queue['name']}@")  # the pool named after its queue
        }
        return found if found >= set(QUEUES) else None

    assert wait_until(consumed_queues, timeout_s=45, what="a Flower worker per queue", every_s=1)


def test_flower_finds_the_tasks_of_one_job_by_its_id(
    ops_stack: Stack, two_jobs: tuple[int, int]
) -> None:
    job_id, other_id = two_jobs

    def tasks_of_job() -> dict | None:
        answer = _flower(ops_stack, "/api/tasks", search=f"kwargs:job_id={job_id}")
        tasks = answer.json() if answer.status_code == 200 else {}
        names = {task["name"] for task in tasks.values()}
        wanted = {"workers.tasks.submit_job", "workers.tasks.poll_job", "workers.tasks.store_job"}
        return tasks if names >= wanted else None

    tasks = wait_until(tasks_of_job, timeout_s=30, what=f"job {job_id}'s tasks", every_s=1)
    for task in tasks.values():
        # What an operator reads in Flower's task list: the job id, by name.
        assert ast.literal_eval(task["kwargs"])["job_id"] == job_id, task
        assert ast.literal_eval(task["args"]) in ((), []), task
    other = _flower(ops_stack, "/api/tasks", search=f"kwargs:job_id={other_id}").json()
    assert other and not other.keys() & tasks.keys()


def test_flower_metrics_answer_prometheus_text_without_a_login(
    ops_stack: Stack, two_jobs: tuple[int, int]
) -> None:
    def scraped() -> str | None:
        answer = requests.get(f"{ops_stack.flower}/metrics", timeout=10)
        assert answer.status_code == 200
        text = answer.text
        return text if 'task="workers.tasks.store_job"' in text else None

    text = wait_until(scraped, timeout_s=30, what="Flower's task metrics", every_s=1)
    assert "# TYPE flower_events_total counter" in text
    assert any(
        line.startswith("flower_events_total{") and 'task="workers.tasks.submit_job"' in line
        for line in text.splitlines()
    )


def test_flower_refuses_its_ui_and_api_without_the_login(ops_stack: Stack) -> None:
    for path in ("/", "/api/workers", "/api/tasks"):
        assert requests.get(f"{ops_stack.flower}{path}", timeout=10).status_code == 401, path
        wrong = requests.get(f"{ops_stack.flower}{path}", auth=(LOGIN[0], "wrong"), timeout=10)
        assert wrong.status_code == 401, path
    assert _flower(ops_stack, "/api/workers").status_code == 200


def _healthcheck(queue: str, broker_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.healthcheck", queue, "--timeout", "5"],
        env={**os.environ, "BROKER_URL": broker_url},
        cwd=Path(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_the_compose_health_check_passes_for_each_running_pool_and_fails_without_one(
    ops_stack: Stack,
) -> None:
    checks = {q: _healthcheck(q, f"redis://127.0.0.1:6379/{REDIS_DB}") for q in QUEUES}
    results = {q: check.communicate(timeout=60)[::-1] for q, check in checks.items()}
    results = {q: (checks[q].returncode, out) for q, (_, out) in results.items()}
    assert all(code == 0 for code, _ in results.values()), results
    # A broker where no worker listens: nobody answers, so the container is unhealthy.
    lonely = _healthcheck("poll", f"redis://127.0.0.1:6379/{REDIS_DB - 1}")
    out, _ = lonely.communicate(timeout=60)
    assert lonely.returncode == 1
    assert b"no answer" in out
