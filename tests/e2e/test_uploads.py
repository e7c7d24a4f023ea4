"""An image-to-video job from uploaded files, against a sandbox that downloads images as PiAPI does.

Its own stack (Postgres, Redis db 2): with SANDBOX_FETCH_IMAGES=1 the sandbox fetches each
input image URL it is sent and records the SHA-256 of what it got, so the test proves the
URL PiAPI was given serves exactly the bytes that were uploaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import Stack, run_stack
from tests.images import HTML, image_bytes
from tests.stack import wait_until

SCRIPT = "Animate this product with subtle movement and professional lighting"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(
        tmp_path_factory.mktemp("uploads"),
        "postgres-redis",
        database="videogen_e2e_uploads",
        redis_db=2,
        SANDBOX_FETCH_IMAGES="1",
    ) as running:
        yield running


def _finished(stack: Stack, video_id: str) -> dict:
    http = stack.http()

    def done() -> dict | None:
        body = http.get(f"{stack.api}/api/video/status/{video_id}", timeout=10).json()
        return body if body["status"] != "processing" else None

    return wait_until(done, timeout_s=90, what=f"job {video_id} finished", every_s=0.3)


def test_a_job_from_uploads_completes_and_piapi_was_sent_the_uploaded_bytes(stack: Stack) -> None:
    http = stack.http()
    first = image_bytes("jpeg", 1280, 720)
    last = image_bytes("png", 1280, 720)
    # One multipart, one raw body: the two ways in.
    made_first = http.post(
        f"{stack.api}/api/uploads",
        files={"file": ("product.jpg", first, "image/jpeg")},
        timeout=10,
    )
    made_last = http.post(
        f"{stack.api}/api/uploads",
        data=last,
        headers={"Content-Type": "image/png"},
        timeout=10,
    )
    assert (made_first.status_code, made_last.status_code) == (201, 201), made_first.text
    up_first, up_last = made_first.json(), made_last.json()
    for upload, data in ((up_first, first), (up_last, last)):
        assert upload["sha256"] == hashlib.sha256(data).hexdigest()
        assert requests.get(upload["url"], timeout=10).content == data  # byte-identical

    accepted = http.post(
        f"{stack.api}/api/video/generate",
        json={
            "generation_mode": "image_to_video",
            "script": SCRIPT,
            "provider": "piapi_kling_3",
            "image_upload_id": up_first["upload_id"],
            "end_image_upload_id": up_last["upload_id"],
        },
        timeout=10,
    )
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert (job["image_url"], job["image_upload_id"]) == (up_first["url"], up_first["upload_id"])

    body = _finished(stack, job["video_id"])

    assert body["status"] == "completed", body
    tasks = requests.get(f"{stack.sandbox}/sandbox/tasks", timeout=10).json()["tasks"]
    (task,) = [t for t in tasks if t["task_id"] == body["task_id"]]
    fetched = {image["field"]: image for image in task["images"]}
    assert set(fetched) == {"image_url", "image_tail_url"}
    for field, upload in (("image_url", up_first), ("image_tail_url", up_last)):
        image = fetched[field]
        assert image["error"] is None, image
        assert image["url"] == task["input"][field]
        assert image["sha256"] == upload["sha256"]  # what PiAPI downloaded is what was sent
        assert image["image_type"] == upload["content_type"].removeprefix("image/")

    # A job holds its uploads: they cannot be deleted from under it.
    assert (
        http.delete(f"{stack.api}/api/uploads/{up_first['upload_id']}", timeout=10).status_code
        == 409
    )


def test_an_upload_refused_over_http_stores_nothing(stack: Stack) -> None:
    http = stack.http()

    resp = http.post(
        f"{stack.api}/api/uploads",
        files={"file": ("photo.jpg", HTML, "image/jpeg")},
        timeout=10,
    )

    assert resp.status_code == 415
    assert resp.json()["error"]["fields"]["file"]
    media = stack.log.parent / "media" / "uploads"
    before = sorted(media.iterdir()) if media.exists() else []

    big = http.post(
        f"{stack.api}/api/uploads",
        data=b"\xff\xd8\xff" + b"\0" * (40 * 1024 * 1024),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )

    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    assert (sorted(media.iterdir()) if media.exists() else []) == before
