"""Where finished videos are kept: one small interface, a local and an S3 backend."""

from __future__ import annotations

from typing import BinaryIO, Protocol
from urllib.parse import urlsplit


class Storage(Protocol):
    """Keeps files by key. put() either stores the whole file or nothing."""

    def put(self, key: str, source: BinaryIO, *, content_type: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def url(self, key: str, *, ttl_s: int | None = None) -> str:
        """Where key can be read; a pre-signed URL lasts ttl_s (default STORAGE_URL_TTL_SECONDS)."""
        ...


def open_storage(url: str, *, public_base: str, url_ttl_s: int) -> Storage:
    """The backend for STORAGE_URL: file:///dir (served by the API) or s3://bucket/prefix."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        from providers.storage.s3 import S3Storage

        return S3Storage(parts.netloc, parts.path.strip("/"), url_ttl_s=url_ttl_s)
    if parts.scheme in ("file", ""):
        from providers.storage.local import LocalStorage

        return LocalStorage(parts.path, public_base=public_base)
    raise ValueError(f"unsupported STORAGE_URL scheme {parts.scheme!r}")
