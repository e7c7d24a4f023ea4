"""An image file as POST /api/uploads takes it: multipart/form-data, read from disk as sent."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 64 * 1024
FIELD = "file"


def sniff_content_type(head: bytes) -> str:
    """The part's Content-Type from the file's first bytes; the server decides again."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _quoted(name: str) -> str:
    # A filename in a header: no quote or line break may end it early (browsers do this too).
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartFile:
    """One file as a multipart body's only field, streamed: never held in memory whole.

    requests sends an object with read() and a length as a stream with a Content-Length,
    reading it a block at a time; on_chunk hears of each block of the file's bytes sent.
    """

    def __init__(
        self,
        path: Path,
        handle: BinaryIO,
        *,
        on_chunk: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self.boundary = uuid.uuid4().hex
        self.size = os.fstat(handle.fileno()).st_size
        head = handle.read(16)
        handle.seek(0)
        self.part_content_type = sniff_content_type(head)
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{FIELD}"; filename="{_quoted(path.name)}"\r\n'
            f"Content-Type: {self.part_content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file = handle
        self._on_chunk = on_chunk
        self._file_left = self.size
        self._segment = 0  # 0: the head, 1: the file, 2: the tail, 3: done
        self._offset = 0

    @property
    def content_type(self) -> str:
        """The request's Content-Type, with this body's boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self.size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield from iter(lambda: self.read(CHUNK_BYTES), b"")

    def read(self, size: int | None = -1) -> bytes:
        """Up to size bytes of the body (all that is left for None or a negative size)."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_BYTES), b""))
        out = bytearray()
        while len(out) < size and self._segment < 3:
            if self._segment == 1:
                want = min(size - len(out), self._file_left, CHUNK_BYTES)
                chunk = self._file.read(want) if want > 0 else b""
                if not chunk:  # the whole file was sent (or it shrank: the server will say)
                    self._segment = 2
                    continue
                self._file_left -= len(chunk)
                self._on_chunk(len(chunk))
                out += chunk
            else:
                data = self._head if self._segment == 0 else self._tail
                piece = data[self._offset : self._offset + size - len(out)]
                out += piece
                self._offset += len(piece)
                if self._offset >= len(data):
                    self._segment += 1
                    self._offset = 0
        return bytes(out)
