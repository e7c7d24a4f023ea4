"""Where PiAPI can download an uploaded image from, or why it cannot.

PiAPI fetches a task's images over the internet when it runs the task. From S3 it gets a
pre-signed GET made as the task is created; from local storage, the API's own /media
route at PUBLIC_BASE_URL. The sandbox runs beside us, so the local URL will do for it.
"""

from __future__ import annotations

from providers.storage import Storage
from providers.storage.local import LocalStorage

# S3's longest pre-signed URL (SigV4) is a week; the shortest we hand out leaves PiAPI
# time to queue the task before fetching.
MAX_PRESIGN_S = 7 * 24 * 3600
MIN_PRESIGN_S = 15 * 60


class UploadURLs:
    """The URL to give PiAPI for a stored upload, given how this deployment is reached."""

    def __init__(self, storage: Storage, *, public_base_url: str | None, uses_sandbox: bool):
        self.storage = storage
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.uses_sandbox = uses_sandbox

    @property
    def refusal(self) -> str | None:
        """Why PiAPI could not fetch an upload from here (what to set), or None when it can."""
        if self.uses_sandbox or self.public_base_url or not isinstance(self.storage, LocalStorage):
            return None
        return (
            "PiAPI could not fetch the file from this machine: uploads are kept in local "
            "storage and served at /media, but PUBLIC_BASE_URL is not set, so no address "
            "reaches them from the internet. Set PUBLIC_BASE_URL to this API's public URL, "
            "or use an s3:// STORAGE_URL."
        )

    def for_piapi(self, key: str, *, valid_for_s: float) -> str:
        """A URL PiAPI can GET key from for at least valid_for_s (within S3's limits)."""
        if not isinstance(self.storage, LocalStorage):
            ttl_s = int(min(max(valid_for_s, MIN_PRESIGN_S), MAX_PRESIGN_S))
            return self.storage.url(key, ttl_s=ttl_s)
        if self.uses_sandbox or self.public_base_url is None:
            # Without PUBLIC_BASE_URL only the sandbox can reach this; uploads are refused
            # then with a real key, so only an upload made before a change of settings
            # gets here, and PiAPI says it could not fetch it.
            return self.storage.url(key)
        return f"{self.public_base_url}/media/{key}"
