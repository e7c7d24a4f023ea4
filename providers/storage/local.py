"""Files under a directory, served by the API at /media/<key>."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO


class LocalStorage:
    """The embedded default. Writes go to a temporary file and are renamed into place."""

    def __init__(self, root: str, *, public_base: str) -> None:
        self.root = Path(root).resolve()
        self.public_base = public_base.rstrip("/")
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where key lives; refuses keys that would escape the root."""
        target = (self.root / key).resolve()
        if self.root not in target.parents:
            raise ValueError(f"key {key!r} escapes the storage root")
        return target

    def put(self, key: str, source: BinaryIO, *, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, length=1024 * 1024)
            os.replace(tmp, target)  # readers see the whole file or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str, *, ttl_s: int | None = None) -> str:
        return f"{self.public_base}/{key}"  # served for as long as the file exists
