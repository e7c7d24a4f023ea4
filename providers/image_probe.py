"""What an image file is, read from its bytes: format and dimensions, never its pixels.

Pillow reads the headers (JPEG's SOF markers, PNG's IHDR, WebP's VP8, VP8L or VP8X
chunk); Image.open is lazy and nothing here calls load(), so no pixel is decoded. The
file's name and the Content-Type it was sent with play no part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

# Pillow's format names -> ours. MPO is the multi-picture JPEG many phone cameras write:
# its first picture is an ordinary JPEG stream.
_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
# Far above what any model takes (most stop at 4096 px a side), far below a canvas that
# would cost memory to describe: a header claiming more is refused before anything else.
MAX_PIXELS = 50_000_000


class NotAnImageError(ValueError):
    """The bytes are not a JPEG, PNG or WebP image."""


class ImageTooLargeError(ValueError):
    """The header describes more than MAX_PIXELS pixels (a decompression bomb, or near one)."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """An image's format ("jpeg", "png", "webp"), size in bytes and dimensions in pixels."""

    fmt: str
    size: int
    width: int
    height: int

    @property
    def content_type(self) -> str:
        """The image's media type, from its format."""
        return CONTENT_TYPES[self.fmt]


def probe(source: BinaryIO, size: int) -> ImageFacts:
    """The facts of the image in source (size bytes long), or NotAnImageError / ImageTooLargeError.

    Only the three formats' readers are tried, so no other Pillow plugin sees the bytes.
    """
    source.seek(0)
    try:
        with Image.open(source, formats=["JPEG", "PNG", "WEBP"]) as image:
            fmt, (width, height) = image.format, image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception where warnings are errors (the tests).
        raise ImageTooLargeError(_too_large()) from exc
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError) as exc:
        # Pillow reports a broken header with any of these, depending on the plugin.
        raise NotAnImageError("The file is not a JPEG, PNG or WebP image.") from exc
    finally:
        source.seek(0)
    ours = _FORMATS.get(fmt or "")
    if ours is None or width <= 0 or height <= 0:
        raise NotAnImageError("The file is not a JPEG, PNG or WebP image.")
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(_too_large())
    return ImageFacts(ours, size, width, height)


def _too_large() -> str:
    return f"The image has more than {MAX_PIXELS // 1_000_000} megapixels."
