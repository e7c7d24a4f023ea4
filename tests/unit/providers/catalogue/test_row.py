"""A row's clip lengths, duration form, runtime, aspect ratios and image limits."""

from __future__ import annotations

import pytest

from providers.catalogue import BY_KEY, DEFAULT_IMAGE_LIMITS, IMAGE_TO_VIDEO, TEXT_TO_VIDEO


@pytest.mark.parametrize(
    ("key", "asked", "made"),
    [
        ("piapi_kling_3", 1, 3),
        ("piapi_kling_3", 7, 7),
        ("piapi_kling_3", 60, 15),
        ("piapi_kling_turbo", 6, 10),
        ("piapi_sora2", 5, 8),
        ("piapi_sora2", 30, 12),
        ("piapi_veo3_fast", 5, 8),
        ("piapi_hailuo", 5, 6),
        ("piapi_skyreels", 30, 5),
    ],
)
def test_clip_length_for(key: str, asked: int, made: int) -> None:
    assert BY_KEY[key].clip_length_for(asked) == made


@pytest.mark.parametrize(
    ("key", "value"),
    [("piapi_kling_3", 5), ("piapi_veo31", "5s"), ("piapi_hailuo", None), ("piapi_wanx_14b", None)],
)
def test_duration_value_in_the_models_form(key: str, value: object) -> None:
    assert BY_KEY[key].duration_value(5) == value


@pytest.mark.parametrize(
    ("key", "mode", "clip_s", "runtime"),
    [
        ("piapi_kling_3", TEXT_TO_VIDEO, 5, 111),
        ("piapi_kling_3", TEXT_TO_VIDEO, 15, 333),
        ("piapi_kling_turbo", IMAGE_TO_VIDEO, 10, 274),
        ("piapi_sora2", TEXT_TO_VIDEO, 12, 270),
        ("piapi_luma", TEXT_TO_VIDEO, 10, 191),  # Luma's runtime does not grow with the clip
        ("piapi_hunyuan_fast", IMAGE_TO_VIDEO, 5, 120),
    ],
)
def test_runtime_for(key: str, mode: str, clip_s: int, runtime: float) -> None:
    assert BY_KEY[key].runtime_for(mode, clip_s) == runtime


def test_kling_images_follow_piapis_limits() -> None:
    limits = BY_KEY["piapi_kling_3"].image_limits

    assert limits.problems(fmt="png", size=1000, width=301, height=301) == []
    assert limits.problems(fmt="webp", size=11 * 1024 * 1024, width=300, height=500) == [
        "The image must be JPEG or PNG.",
        "The image must be at most 10 MB.",
        "Each side of the image must be at least 301 px.",
    ]


def test_hailuo_images_follow_piapis_limits() -> None:
    limits = BY_KEY["piapi_hailuo"].image_limits

    assert limits.problems(fmt="jpeg", size=1, width=1000, height=400) == []  # 5:2
    assert limits.problems(fmt="jpeg", size=1, width=4097, height=1700) == [
        "Each side of the image must be at most 4096 px."
    ]
    assert limits.problems(fmt="jpeg", size=1, width=1100, height=400) == [
        "The image's width / height must be between 0.4 and 2.5."
    ]


def test_undocumented_limits_say_so() -> None:
    assert BY_KEY["piapi_luma"].image_limits is DEFAULT_IMAGE_LIMITS
    assert not DEFAULT_IMAGE_LIMITS.documented
    assert BY_KEY["piapi_kling_turbo"].image_limits.documented
