"""The URL PiAPI is given for an upload: ours at PUBLIC_BASE_URL, the sandbox's local one, S3's."""

from __future__ import annotations

from typing import Any

import pytest

from providers.storage.local import LocalStorage
from providers.storage.s3 import S3Storage
from providers.upload_urls import MAX_PRESIGN_S, MIN_PRESIGN_S, UploadURLs

KEY = "uploads/0123abcd.png"


class _Presigner:
    """Records what S3Storage asks boto3 to sign."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def generate_presigned_url(self, operation: str, *, Params: dict, ExpiresIn: int) -> str:
        self.asked.append({"operation": operation, **Params, "expires_in": ExpiresIn})
        return f"https://s3.example/{Params['Key']}?X-Amz-Expires={ExpiresIn}"


@pytest.fixture
def local(tmp_path) -> LocalStorage:
    return LocalStorage(str(tmp_path), public_base="http://127.0.0.1:8000/media")


def test_with_the_sandbox_local_storage_url_is_enough(local) -> None:
    urls = UploadURLs(local, public_base_url=None, uses_sandbox=True)

    assert urls.refusal is None
    assert urls.for_piapi(KEY, valid_for_s=60) == f"http://127.0.0.1:8000/media/{KEY}"


def test_with_piapi_local_storage_is_served_at_the_public_base_url(local) -> None:
    urls = UploadURLs(local, public_base_url="https://videos.example.com/", uses_sandbox=False)

    assert urls.refusal is None
    assert urls.for_piapi(KEY, valid_for_s=60) == f"https://videos.example.com/media/{KEY}"


def test_with_piapi_local_storage_and_no_public_url_is_refused_saying_what_to_set(local) -> None:
    urls = UploadURLs(local, public_base_url=None, uses_sandbox=False)

    assert "PiAPI could not fetch" in urls.refusal
    assert "PUBLIC_BASE_URL" in urls.refusal
    assert "s3://" in urls.refusal


@pytest.mark.parametrize(
    ("valid_for_s", "expires_in"),
    [(1800.4, 1800), (3, MIN_PRESIGN_S), (-50, MIN_PRESIGN_S), (30 * 24 * 3600, MAX_PRESIGN_S)],
)
def test_s3_gets_a_presigned_get_lasting_to_the_deadline_within_s3s_limits(
    valid_for_s: float, expires_in: int
) -> None:
    presigner = _Presigner()
    storage = S3Storage("videos", "finished", url_ttl_s=600, client=presigner)
    urls = UploadURLs(storage, public_base_url=None, uses_sandbox=False)

    url = urls.for_piapi(KEY, valid_for_s=valid_for_s)

    assert urls.refusal is None
    assert url == f"https://s3.example/finished/{KEY}?X-Amz-Expires={expires_in}"
    assert presigner.asked == [
        {
            "operation": "get_object",
            "Bucket": "videos",
            "Key": f"finished/{KEY}",
            "expires_in": expires_in,
        }
    ]
