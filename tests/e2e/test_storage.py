"""Finished videos copied into our storage and served from our URLs: local disk and S3."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from providers.sandbox.app import MEDIA_DIR
from tests.e2e.conftest import Stack, run_stack, storing_settled
from tests.stack import free_port

SAMPLE = (MEDIA_DIR / "sample.mp4").read_bytes()
T2V = {"generation_mode": "text_to_video", "script": "A cat playing with a ball", "duration": 5}


def test_a_finished_video_is_served_from_our_storage(stack: Stack) -> None:
    http = stack.http()
    video_id = http.post(f"{stack.api}/api/video/generate", json=T2V, timeout=10).json()["video_id"]

    body = storing_settled(stack, video_id)

    assert body["storage"]["state"] == "stored"
    assert body["video_url"].startswith(f"{stack.api}/media/")
    assert body["provider_media"]["video_url"].startswith(stack.sandbox)  # PiAPI's, kept
    video = requests.get(body["video_url"], timeout=10)
    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content == SAMPLE
    recorded = body["storage"]["files"]["video"]
    assert recorded["sha256"] == hashlib.sha256(SAMPLE).hexdigest()
    assert recorded["size"] == len(SAMPLE)
    if shutil.which("ffmpeg"):  # Hunyuan gives no thumbnail; we make one with ffmpeg
        thumb = requests.get(body["thumbnail_url"], timeout=10)
        assert (thumb.status_code, thumb.headers["Content-Type"]) == (200, "image/jpeg")
        assert body["storage"]["files"]["thumbnail"]["size"] > 0

    # Deleting the job removes its files.
    assert http.delete(f"{stack.api}/api/video/{video_id}", timeout=10).status_code == 204
    assert requests.get(body["video_url"], timeout=10).status_code == 404
    assert http.get(f"{stack.api}/api/video/status/{video_id}", timeout=10).status_code == 404


@pytest.fixture(scope="module")
def s3_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack storing into an S3-compatible server (moto's server mode) through boto3."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket="videos")
    try:
        with run_stack(
            tmp_path_factory.mktemp("s3"),
            "postgres-redis",
            database="videogen_e2e_s3",
            redis_db=11,
            STORAGE_URL="s3://videos/finished",
            STORAGE_URL_TTL_SECONDS="600",
            **creds,
        ) as running:
            yield running
    finally:
        server.stop()


def test_a_finished_video_is_stored_in_s3_and_served_by_a_presigned_url(s3_stack: Stack) -> None:
    http = s3_stack.http()
    video_id = http.post(f"{s3_stack.api}/api/video/generate", json=T2V, timeout=10).json()[
        "video_id"
    ]

    body = storing_settled(s3_stack, video_id)

    assert body["storage"]["state"] == "stored", body["storage"]
    assert "X-Amz-Signature=" in body["video_url"] and "/videos/finished/" in body["video_url"]
    video = requests.get(body["video_url"], timeout=10)
    assert video.status_code == 200
    assert video.content == SAMPLE
    assert body["storage"]["files"]["video"]["sha256"] == hashlib.sha256(SAMPLE).hexdigest()
