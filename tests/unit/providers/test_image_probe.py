"""Format and dimensions from an image's bytes: the three formats, and everything else refused."""

from __future__ import annotations

import io

import pytest

from providers.image_probe import MAX_PIXELS, ImageTooLargeError, NotAnImageError, probe
from tests.images import HTML, image_bytes, png_header_only


def _probe(data: bytes):
    return probe(io.BytesIO(data), len(data))


@pytest.mark.parametrize(
    ("fmt", "save"),
    [
        ("jpeg", {}),
        ("jpeg", {"progressive": True}),  # SOF2 rather than SOF0
        ("png", {}),
        ("webp", {}),  # lossy: VP8
        ("webp", {"lossless": True}),  # VP8L
        ("webp", {"exif": b"Exif\0\0MM\0*\0\0\0\x08\0\0"}),  # extended: VP8X
    ],
)
def test_each_format_and_its_dimensions_come_from_the_bytes(fmt: str, save: dict) -> None:
    data = image_bytes(fmt, 641, 359, **save)

    facts = _probe(data)

    assert (facts.fmt, facts.width, facts.height, facts.size) == (fmt, 641, 359, len(data))
    assert facts.content_type == f"image/{fmt}"


def test_the_source_is_left_at_its_start_for_whoever_copies_it() -> None:
    source = io.BytesIO(image_bytes("png", 10, 10))
    source.seek(5)

    probe(source, 10)

    assert source.tell() == 0


@pytest.mark.parametrize(
    "data",
    [
        HTML,
        b"GIF89a" + b"\0" * 64,  # an image, but not one the models take
        b"\xff\xd8\xff",  # a JPEG's first bytes, and nothing more
        image_bytes("png")[:20],  # a PNG cut inside its header
        b"RIFF\0\0\0\0WEBPVP8 ",  # a WebP with no frame
        b"%PDF-1.7\n",
    ],
)
def test_anything_else_is_not_an_image(data: bytes) -> None:
    with pytest.raises(NotAnImageError):
        _probe(data)


def test_a_header_claiming_a_huge_canvas_is_refused_without_decoding_it() -> None:
    side = int(MAX_PIXELS**0.5) + 1  # just over our limit, under Pillow's own warning
    with pytest.raises(ImageTooLargeError, match="megapixels"):
        _probe(png_header_only(side, side))


def test_a_decompression_bomb_past_pillows_limit_is_refused() -> None:
    with pytest.raises(ImageTooLargeError):
        _probe(png_header_only(60_000, 60_000))
