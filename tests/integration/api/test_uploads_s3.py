"""Uploads stored in S3 (moto's server on 127.0.0.1, as tests/e2e/test_storage.py uses it)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.images import HTML, image_bytes
from tests.stack import free_port

BUCKET = "uploads-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """boto3 pointed at moto, and an empty bucket."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    client.close()


@pytest.fixture
def client(make_client, s3):  # type: ignore[no-untyped-def]
    # A real PiAPI key and no PUBLIC_BASE_URL: S3's pre-signed URLs need neither.
    return make_client(
        storage_url=f"s3://{BUCKET}/media", piapi_api_key="pk-real", public_base_url=None
    )


def _keys(s3) -> list[str]:  # type: ignore[no-untyped-def]
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_an_image_comes_back_byte_identical_from_its_presigned_url(client, s3, fmt) -> None:
    data = image_bytes(fmt, 500, 400)

    resp = client.post("/api/uploads", data=data, content_type="image/jpeg")

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert "X-Amz-Signature=" in body["url"]
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    with requests.get(body["url"], timeout=10) as served:
        assert served.status_code == 200
        assert served.content == data
        assert served.headers["Content-Type"] == f"image/{fmt}"
    (key,) = _keys(s3)
    assert key.startswith("media/uploads/")


def test_a_refused_file_leaves_nothing_in_the_bucket(client, s3) -> None:
    resp = client.post("/api/uploads", data=HTML, content_type="image/jpeg")

    assert resp.status_code == 415
    assert _keys(s3) == []


def test_delete_removes_the_object(client, s3) -> None:
    upload_id = client.post(
        "/api/uploads", data=image_bytes("png"), content_type="image/png"
    ).get_json()["upload_id"]

    assert client.delete(f"/api/uploads/{upload_id}").status_code == 204
    assert _keys(s3) == []
