"""The upload body: multipart/form-data read from disk a block at a time, never whole."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request

from client.uploads import CHUNK_BYTES, MultipartFile, sniff_content_type


class SpyFile(io.FileIO):
    """A file that records how much each read asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self.asked: list[int] = []

    def read(self, size: int = -1) -> bytes:  # type: ignore[override] - FileIO's is positional
        self.asked.append(size)
        return super().read(size)


def parse(body: bytes, content_type: str) -> tuple[Any, bytes]:
    request = Request.from_values(
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=content_type,
        method="POST",
    )
    try:
        part = request.files["file"]
        return part.filename, part.read()
    finally:
        request.close()


def test_a_large_file_is_read_a_block_at_a_time(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (CHUNK_BYTES // 64)  # 4 blocks
    path = tmp_path / "big.png"
    path.write_bytes(data)
    sent: list[int] = []

    with SpyFile(path) as handle:
        body = MultipartFile(path, handle, on_chunk=sent.append)
        pieces = list(body)  # as requests streams it
        asked = handle.asked

    whole = b"".join(pieces)
    assert len(whole) == len(body)  # the Content-Length requests sends
    assert max(len(p) for p in pieces) <= CHUNK_BYTES
    assert all(0 < size <= CHUNK_BYTES for size in asked)  # never read(-1): never whole
    assert sum(sent) == len(data) == body.size  # the progress bar sees every byte once
    assert parse(whole, body.content_type) == ("big.png", data)
    assert body.part_content_type == "image/png"


def test_odd_read_sizes_give_the_same_body(tmp_path: Path) -> None:
    data = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"x" * 5000
    path = tmp_path / "a.webp"
    path.write_bytes(data)
    with path.open("rb") as handle:
        body = MultipartFile(path, handle)
        parts = []
        while chunk := body.read(7):
            parts.append(chunk)

    whole = b"".join(parts)
    assert len(whole) == len(body)
    assert parse(whole, body.content_type) == ("a.webp", data)
    assert body.read() == b""  # finished stays finished


def test_a_filename_cannot_break_out_of_its_header(tmp_path: Path) -> None:
    path = tmp_path / 'x"; name="other.png'
    path.write_bytes(b"\xff\xd8\xff")
    with path.open("rb") as handle:
        body = MultipartFile(path, handle)
        whole = body.read()
    # The one field is still `file`, and its name comes back as it was.
    assert parse(whole, body.content_type) == ('x"; name="other.png', b"\xff\xd8\xff")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"<!doctype html>", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_part_type_comes_from_the_bytes(head: bytes, kind: str) -> None:
    assert sniff_content_type(head) == kind
