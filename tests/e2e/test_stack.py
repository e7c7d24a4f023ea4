"""The running stack, started by `bin/up` (what `make up` runs), driven over HTTP.

Runs twice: on local Postgres and Redis, and on the embedded default (SQLite and the
file broker) that `make up` falls back to when neither is configured or reachable.
"""

from __future__ import annotations

import requests

from providers.sandbox.app import MEDIA_DIR
from providers.sandbox.engine import FAIL_MARKER
from tests.bodies import SPEC_I2V, SPEC_T2V
from tests.e2e.conftest import Stack, storing_settled
from tests.stack import wait_until


def _finished(stack: Stack, video_id: str) -> dict:
    def done() -> dict | None:
        body = stack.http().get(f"{stack.api}/api/video/status/{video_id}", timeout=5).json()
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
    accepted = stack.http().post(f"{stack.api}/api/video/generate", json=SPEC_T2V, timeout=10)
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

    # The library shows what status shows. Both show PiAPI's URL until our copy is
    # stored, so compare once storing has settled, not across that change.
    settled = storing_settled(stack, first["video_id"])
    library = (
        stack.http().get(f"{stack.api}/api/video/library?page=1&per_page=20", timeout=10).json()
    )
    listed = next(v for v in library["videos"] if v["video_id"] == first["video_id"])
    assert (listed["status"], listed["video_url"]) == ("completed", settled["video_url"])


def test_spec_image_to_video_end_to_end(stack: Stack) -> None:
    first = stack.http().post(f"{stack.api}/api/video/generate", json=SPEC_I2V, timeout=10).json()
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
    first = stack.http().post(f"{stack.api}/api/video/generate", json=body, timeout=10).json()

    done = _finished(stack, first["video_id"])
    assert (done["status"], done["error_code"]) == ("failed", "10000")
    assert "told to fail" in done["error_message"]
