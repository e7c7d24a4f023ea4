"""The running stack, started by `bin/up` (what `make up` runs), driven over HTTP.

Runs twice: on local Postgres and Redis, and on the embedded default (SQLite and the
file broker) that `make up` falls back to when neither is configured or reachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from providers.sandbox.app import MEDIA_DIR
from providers.sandbox.engine import FAIL_MARKER
from tests.stack import ROOT, free_port, fresh_database, process, wait_http, wait_until

SPEC_T2V = {
    "campaign_id": "123",
    "generation_mode": "text_to_video",
    "script": "A cat playing with a ball",
    "style": "social",
    "duration": 5,
    "aspect_ratio": "16:9",
}
SPEC_I2V = {
    "campaign_id": "123",
    "generation_mode": "image_to_video",
    "image_url": "https://example.com/product.jpg",
    "script": "Animate this product with subtle movement and professional lighting",
    "style": "marketing",
    "duration": 5,
    "aspect_ratio": "16:9",
    "provider": "piapi_wanx_1.3b",
}


@dataclass
class Stack:
    api: str
    sandbox: str
    log: Path


@pytest.fixture(scope="module", params=["postgres-redis", "embedded"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp(request.param)
    api_port, sandbox_port, flower_port = free_port(), free_port(), free_port()
    env = {
        "API_PORT": str(api_port),
        "SANDBOX_PORT": str(sandbox_port),
        "FLOWER_PORT": str(flower_port),
        "DATA_DIR": str(data_dir),
        "PIAPI_API_KEY": "",
        "PIAPI_BASE_URL": "",
        "SANDBOX_URL": "",
        "POLL_INTERVAL_SECONDS": "0.5",
        "SANDBOX_TIME_SCALE": "0.02",
        "API_WORKERS": "1",
        "POLL_CONCURRENCY": "4",
    }
    if request.param == "embedded":
        env |= {"EMBEDDED": "1", "DATABASE_URL": "", "BROKER_URL": ""}
    else:
        redis.Redis.from_url("redis://127.0.0.1:6379/14").flushdb()
        env |= {
            "DATABASE_URL": fresh_database("videogen_e2e"),
            "BROKER_URL": "redis://127.0.0.1:6379/14",
        }
    log = data_dir / "stack.log"
    with process([str(ROOT / "bin" / "up")], env=env, log_path=log) as proc:
        api = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api}/healthz", proc=proc, log_path=log)
        wait_http(f"http://127.0.0.1:{sandbox_port}/healthz", proc=proc, log_path=log)
        yield Stack(api, f"http://127.0.0.1:{sandbox_port}", log)


def _finished(stack: Stack, video_id: str) -> dict:
    def done() -> dict | None:
        body = requests.get(f"{stack.api}/api/video/status/{video_id}", timeout=5).json()
        return body if body["status"] != "processing" else None

    try:
        return wait_until(done, timeout_s=60, what=f"job {video_id}", every_s=0.3)
    except AssertionError:
        print(stack.log.read_text(errors="replace")[-6000:])  # noqa: T201 - shown on failure
        raise


def test_make_up_says_what_it_chose(stack: Stack) -> None:
    head = stack.log.read_text()
    assert "database :" in head and "broker   :" in head
    assert "built-in PiAPI sandbox" in head


def test_spec_text_to_video_end_to_end(stack: Stack) -> None:
    accepted = requests.post(f"{stack.api}/api/video/generate", json=SPEC_T2V, timeout=10)
    assert accepted.status_code == 202
    first = accepted.json()
    assert (first["status"], first["duration"], first["cost"]) == (
        "processing",
        5,
        0.03,
    )
    assert {"video_id", "created_at"} <= first.keys()

    done = _finished(stack, first["video_id"])
    assert (done["status"], done["progress"]) == ("completed", 100)

    video = requests.get(done["video_url"], timeout=10)
    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content == (MEDIA_DIR / "sample.mp4").read_bytes()
    assert video.content[4:8] == b"ftyp"  # an MP4 container, not an error page

    library = requests.get(f"{stack.api}/api/video/library?page=1&per_page=20", timeout=10).json()
    listed = next(v for v in library["videos"] if v["video_id"] == first["video_id"])
    assert (listed["status"], listed["video_url"]) == ("completed", done["video_url"])


def test_spec_image_to_video_end_to_end(stack: Stack) -> None:
    first = requests.post(f"{stack.api}/api/video/generate", json=SPEC_I2V, timeout=10).json()
    assert first["status"] == "processing"

    done = _finished(stack, first["video_id"])
    assert done["status"] == "completed"
    assert requests.get(done["video_url"], timeout=10).content[4:8] == b"ftyp"

    tasks = requests.get(f"{stack.sandbox}/sandbox/tasks", timeout=10).json()["tasks"]
    sent = next(t for t in tasks if t["task_id"] == done["task_id"])
    assert (sent["task_type"], sent["input"]["image"]) == (
        "img2video-14b",
        SPEC_I2V["image_url"],
    )


def test_provider_failure_end_to_end(stack: Stack) -> None:
    body = {**SPEC_T2V, "script": f"this one fails {FAIL_MARKER}"}
    first = requests.post(f"{stack.api}/api/video/generate", json=body, timeout=10).json()

    done = _finished(stack, first["video_id"])
    assert (done["status"], done["error_code"]) == ("failed", "10000")
    assert "told to fail" in done["error_message"]
