"""Real image files made with Pillow, for the upload tests (no fixtures on disk)."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image

PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>\n"


def image_bytes(fmt: str, width: int = 640, height: int = 480, **save: object) -> bytes:
    """An image of fmt ("jpeg", "png", "webp") with a gradient, so encoders do some work."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, PILLOW_FORMATS[fmt], **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height: a decompression bomb's first bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: it barely compresses, so it is about width * height * 3 bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()
