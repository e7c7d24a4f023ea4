"""What a request becomes: the notice for every difference, and prompts a model refuses."""

from __future__ import annotations

from typing import Any

import pytest

from providers.catalogue import BY_KEY, IMAGE_TO_VIDEO, TEXT_TO_VIDEO
from providers.image_probe import ImageFacts
from providers.plans import ImagesError, PromptTooLongError, plan_job
from providers.prompts import STYLE_PROMPTS, build_prompt, max_script_chars


def _plan(**changes: Any) -> Any:
    request: dict[str, Any] = {
        "mode": TEXT_TO_VIDEO,
        "duration_s": 5,
        "tier": "pro",
        "style": "social",
        "script": "A cat",
        "aspect_ratio": "16:9",
    }
    return plan_job(**{**request, **changes})


def test_a_request_as_asked_has_no_notice() -> None:
    plan = _plan()

    assert plan.notice is None
    assert plan.aspect_ratio == "16:9"
    assert plan.prompt.endswith("Duration: 5s. Script: A cat")


@pytest.mark.parametrize(
    ("forced", "asked", "runs_at"),
    [
        ("piapi_hunyuan_fast", "21:9", "16:9"),
        ("piapi_wanx_14b", "1:1", "16:9"),
        (None, "4:3", "16:9"),
    ],
)
def test_an_aspect_ratio_the_model_lacks_is_replaced_and_said(
    forced: str | None, asked: str, runs_at: str
) -> None:
    plan = _plan(forced=forced, aspect_ratio=asked)

    assert plan.aspect_ratio == runs_at
    key = plan.selection.model.key
    assert plan.notice == f"{key} does not take aspect ratio {asked}; it runs at {runs_at}."


def test_a_ratio_the_model_takes_is_kept_without_a_notice() -> None:
    plan = _plan(forced="piapi_luma", aspect_ratio="21:9")

    assert (plan.aspect_ratio, plan.notice) == ("21:9", None)


def test_notices_add_up() -> None:
    plan = _plan(forced="piapi_wanx_1.3b", mode=IMAGE_TO_VIDEO, aspect_ratio="1:1")

    assert plan.notice is not None
    assert plan.notice.startswith("PiAPI has no WanX 1.3b image-to-video")
    assert plan.notice.endswith("piapi_wanx_1.3b does not take aspect ratio 1:1; it runs at 16:9.")


@pytest.mark.parametrize(
    ("forced", "mode", "notice"),
    [
        (
            "piapi_hailuo",
            TEXT_TO_VIDEO,
            "piapi_hailuo takes no aspect ratio for text_to_video; it makes 16:9.",
        ),
        (
            "piapi_kling_3",
            IMAGE_TO_VIDEO,
            "piapi_kling_3 takes no aspect ratio for image_to_video; the clip takes the "
            "image's shape.",
        ),
    ],
)
def test_a_model_that_takes_no_ratio_says_so_when_another_was_asked(
    forced: str, mode: str, notice: str
) -> None:
    assert _plan(forced=forced, mode=mode, aspect_ratio="9:16").notice == notice
    assert _plan(forced=forced, mode=mode, aspect_ratio="16:9").notice is None


def test_a_script_longer_than_the_model_takes_is_refused() -> None:
    limit = max_script_chars(BY_KEY["piapi_hailuo"])
    assert limit is not None
    with pytest.raises(PromptTooLongError) as caught:
        _plan(forced="piapi_hailuo", script="x" * (limit + 1))

    assert f"piapi_hailuo takes scripts of at most {limit} characters" in str(caught.value)
    assert caught.value.field == "script"
    assert _plan(forced="piapi_kling_3", script="x" * 1990).prompt.endswith("x")


@pytest.mark.parametrize("style", sorted(STYLE_PROMPTS))
def test_the_longest_script_fits_in_every_style_and_counts_as_sent(style: str) -> None:
    model = BY_KEY["piapi_hailuo"]
    limit = max_script_chars(model)
    assert limit is not None and model.max_prompt_chars is not None

    plan = _plan(forced="piapi_hailuo", style=style, script="x" * limit)
    assert len(plan.prompt) <= model.max_prompt_chars
    # One number whatever the style: the longest style's sentence leaves exactly room.
    assert (
        max(len(build_prompt(model, style=s, clip_s=6, script="x" * limit)) for s in STYLE_PROMPTS)
        == model.max_prompt_chars
    )
    with pytest.raises(PromptTooLongError):  # spaces count: the limit is on the script as sent
        _plan(forced="piapi_hailuo", style=style, script="x" + " " * limit)


def test_an_over_cap_plan_is_made_but_not_allowed() -> None:
    plan = _plan(forced="piapi_veo3", tier="free")

    assert not plan.selection.allowed
    assert str(plan.selection.cost) == "0.9600"


def _image(fmt: str = "png", width: int = 640, height: int = 480, size: int = 50_000) -> ImageFacts:
    return ImageFacts(fmt, size, width, height)


def _i2v(forced: str, **images: Any) -> Any:
    return _plan(forced=forced, mode=IMAGE_TO_VIDEO, images=images)


@pytest.mark.parametrize(
    ("forced", "image", "says"),
    [
        ("piapi_kling_3", _image(width=200, height=200), "at least 301 px"),
        ("piapi_kling_3", _image("webp"), "must be JPEG or PNG"),
        ("piapi_kling_3", _image(size=11 * 1024 * 1024), "at most 10 MB"),
        ("piapi_wanx_14b", _image(width=100, height=400), "at least 128 px"),
        ("piapi_wanx_14b", _image(width=5000, height=3000), "at most 4096 px"),
        ("piapi_luma", _image(width=2000, height=400), "between 0.25 and 4"),
    ],
)
def test_an_upload_the_model_cannot_take_is_refused_naming_the_field(
    forced: str, image: Any, says: str
) -> None:
    with pytest.raises(ImagesError) as refused:
        _i2v(forced, image_upload_id=image)

    (problem,) = refused.value.problems["image_upload_id"]
    assert problem.startswith(f"{forced}: ")
    assert says in problem
    assert f"{image.width}x{image.height} px" in problem


@pytest.mark.parametrize("forced", ["piapi_kling_3", "piapi_luma", "piapi_wanx_14b"])
def test_an_upload_the_model_takes_plans_as_usual(forced: str) -> None:
    plan = _i2v(forced, image_upload_id=_image("jpeg", 1280, 720))

    assert plan.selection.model.key == forced


@pytest.mark.parametrize("forced", ["piapi_kling_3", "piapi_luma"])
def test_a_last_frame_upload_on_a_model_with_one(forced: str) -> None:
    plan = _i2v(forced, image_upload_id=_image(), end_image_upload_id=_image())

    assert plan.selection.options["end_image_url"] is None  # made from the upload at submit


@pytest.mark.parametrize("forced", ["piapi_kling_turbo", "piapi_wanx_14b", "piapi_hunyuan_fast"])
def test_a_last_frame_upload_on_a_model_without_one_is_refused(forced: str) -> None:
    with pytest.raises(ImagesError) as refused:
        _i2v(forced, image_upload_id=_image(), end_image_upload_id=_image())

    assert refused.value.problems == {
        "end_image_upload_id": [f"{forced} takes no last frame in image_to_video."]
    }


def test_a_last_frame_twice_is_refused() -> None:
    with pytest.raises(ImagesError) as refused:
        _plan(
            forced="piapi_kling_3",
            mode=IMAGE_TO_VIDEO,
            options={"end_image_url": "https://example.com/end.jpg"},
            images={"image_upload_id": _image(), "end_image_upload_id": _image()},
        )

    assert list(refused.value.problems) == ["end_image_upload_id"]
    assert "not both" in refused.value.problems["end_image_upload_id"][0]
