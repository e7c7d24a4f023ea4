"""Prompt text and the exact create-task bodies sent to PiAPI, per provider and mode."""

from __future__ import annotations

from typing import Any

import pytest

from providers.catalogue import (
    ASPECT_RATIOS,
    BY_KEY,
    CATALOGUE,
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
)
from providers.prompts import build_prompt, build_task_request
from providers.sandbox.rules import I2V, T2V, check_request
from providers.selection import select_provider

PROMPT = "Professional, engaging marketing video with smooth transitions. 5-second clip. Script: x"
IMAGE = "https://example.com/product.jpg"

# (provider, mode, clip_s, image_url, the exact body PiAPI must receive)
BODIES: list[tuple[str, str, int, str | None, dict[str, Any]]] = [
    (
        "piapi_hunyuan_fast",
        TEXT_TO_VIDEO,
        5,
        None,
        {
            "model": "Qubico/hunyuan",
            "task_type": "fast-txt2video",
            "input": {"prompt": PROMPT, "aspect_ratio": "16:9"},
        },
    ),
    (
        "piapi_hunyuan_fast",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {
            "model": "Qubico/hunyuan",
            "task_type": "img2video-concat",
            "input": {"prompt": PROMPT, "aspect_ratio": "16:9", "image": IMAGE},
        },
    ),
    (
        "piapi_wanx_1.3b",
        TEXT_TO_VIDEO,
        5,
        None,
        {
            "model": "Qubico/wanx",
            "task_type": "txt2video-1.3b",
            "input": {"prompt": PROMPT, "aspect_ratio": "16:9"},
        },
    ),
    (
        "piapi_wanx_1.3b",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {
            "model": "Qubico/wanx",
            "task_type": "img2video-14b",
            "input": {"prompt": PROMPT, "aspect_ratio": "16:9", "image": IMAGE},
        },
    ),
    (
        "piapi_wanx_14b",
        TEXT_TO_VIDEO,
        5,
        None,
        {
            "model": "Qubico/wanx",
            "task_type": "txt2video-14b",
            "input": {"prompt": PROMPT, "aspect_ratio": "16:9"},
        },
    ),
    (
        "piapi_wanx_14b",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {
            "model": "Qubico/wanx",
            "task_type": "img2video-14b",
            "input": {"prompt": PROMPT, "aspect_ratio": "16:9", "image": IMAGE},
        },
    ),
    (
        "piapi_luma",
        TEXT_TO_VIDEO,
        5,
        None,
        {
            "model": "luma",
            "task_type": "video_generation",
            "input": {
                "prompt": PROMPT,
                "aspect_ratio": "16:9",
                "model": "ray-v2",
                "duration": 5,
            },
        },
    ),
    (
        "piapi_luma",
        TEXT_TO_VIDEO,
        10,
        None,
        {
            "model": "luma",
            "task_type": "video_generation",
            "input": {
                "prompt": PROMPT,
                "aspect_ratio": "16:9",
                "model": "ray-v2",
                "duration": 10,
            },
        },
    ),
    (
        "piapi_luma",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {
            "model": "luma",
            "task_type": "video_generation",
            "input": {
                "prompt": PROMPT,
                "aspect_ratio": "16:9",
                "model": "ray-v2",
                "duration": 5,
                "start_image": IMAGE,
            },
        },
    ),
    (
        "piapi_luma",
        IMAGE_TO_VIDEO,
        10,
        IMAGE,
        {
            "model": "luma",
            "task_type": "video_generation",
            "input": {
                "prompt": PROMPT,
                "aspect_ratio": "16:9",
                "model": "ray-v2",
                "duration": 10,
                "start_image": IMAGE,
            },
        },
    ),
]


def _build(key: str, mode: str, clip_s: int, image_url: str | None) -> dict[str, Any]:
    model = BY_KEY[key]
    return build_task_request(
        model,
        mode=mode,
        task_type=model.modes[mode].task_type,
        prompt=PROMPT,
        aspect_ratio="16:9",
        clip_s=clip_s,
        image_url=image_url,
    )


def test_every_catalogue_provider_and_mode_has_a_body_case() -> None:
    covered = {(key, mode) for key, mode, *_ in BODIES}

    assert covered == {(m.key, mode) for m in CATALOGUE for mode in m.modes}


@pytest.mark.parametrize(
    ("key", "mode", "clip_s", "image_url", "expected"),
    BODIES,
    ids=[f"{b[0]}-{b[1]}-{b[2]}s" for b in BODIES],
)
def test_task_body_is_exactly_what_piapi_documents(
    key: str, mode: str, clip_s: int, image_url: str | None, expected: dict[str, Any]
) -> None:
    assert _build(key, mode, clip_s, image_url) == expected


@pytest.mark.parametrize(
    ("key", "mode", "clip_s", "image_url", "expected"),
    BODIES,
    ids=[f"{b[0]}-{b[1]}-{b[2]}s" for b in BODIES],
)
def test_task_body_is_accepted_by_the_sandbox_rules(
    key: str, mode: str, clip_s: int, image_url: str | None, expected: dict[str, Any]
) -> None:
    accepted = check_request(_build(key, mode, clip_s, image_url))

    assert accepted.model == expected["model"]
    assert accepted.task_type == expected["task_type"]
    assert accepted.image_url == image_url
    if expected["model"] != "luma":  # luma runs both modes as one task type
        assert accepted.kind == (I2V if mode == IMAGE_TO_VIDEO else T2V)


@pytest.mark.parametrize("key", ["piapi_hunyuan_fast", "piapi_wanx_1.3b", "piapi_wanx_14b"])
def test_qubico_bodies_carry_the_image_in_input_image_and_no_duration(key: str) -> None:
    body = _build(key, IMAGE_TO_VIDEO, 5, IMAGE)

    assert body["input"]["image"] == IMAGE
    assert "start_image" not in body["input"]
    assert "duration" not in body["input"]
    assert "duration" not in _build(key, TEXT_TO_VIDEO, 5, None)["input"]


@pytest.mark.parametrize("clip_s", [5, 10])
def test_luma_body_carries_start_image_duration_and_ray_v2(clip_s: int) -> None:
    body = _build("piapi_luma", IMAGE_TO_VIDEO, clip_s, IMAGE)

    assert body["input"]["start_image"] == IMAGE
    assert "image" not in body["input"]
    assert body["input"]["duration"] == clip_s
    assert body["input"]["model"] == "ray-v2"


def test_text_to_video_ignores_a_stray_image_url() -> None:
    body = _build("piapi_hunyuan_fast", TEXT_TO_VIDEO, 5, IMAGE)

    assert "image" not in body["input"]
    check_request(body)


@pytest.mark.parametrize("image_url", [None, ""])
def test_image_to_video_without_an_image_is_refused(image_url: str | None) -> None:
    with pytest.raises(ValueError, match="image URL"):
        _build("piapi_wanx_14b", IMAGE_TO_VIDEO, 5, image_url)


def test_building_a_luma_body_does_not_mutate_the_catalogue() -> None:
    _build("piapi_luma", IMAGE_TO_VIDEO, 10, IMAGE)

    assert dict(BY_KEY["piapi_luma"].extra_input) == {"model": "ray-v2"}


@pytest.mark.parametrize("key", sorted(BY_KEY))
@pytest.mark.parametrize("mode", [TEXT_TO_VIDEO, IMAGE_TO_VIDEO])
@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
@pytest.mark.parametrize("duration_s", [5, 6, 600])
def test_every_selectable_request_yields_a_body_piapi_accepts(
    key: str, mode: str, ratio: str, duration_s: int
) -> None:
    # The path api/submissions.py and workers/submission.py take, end to end.
    chosen = select_provider(duration_s=duration_s, mode=mode, tier="pro", forced=key)
    model = chosen.model
    prompt = build_prompt(model, style="social", clip_s=chosen.clip_s, script="A cat")
    body = build_task_request(
        model,
        mode=mode,
        task_type=chosen.spec.task_type,
        prompt=prompt,
        aspect_ratio=model.aspect_ratio_for(ratio),
        clip_s=chosen.clip_s,
        image_url=IMAGE if mode == IMAGE_TO_VIDEO else None,
    )

    check_request(body)


# (provider, style, clip_s, exact prompt)
PROMPTS = [
    (
        "piapi_hunyuan_fast",
        "marketing",
        5,
        "Professional, engaging marketing video with smooth transitions. "
        "Duration: 5s. Script: Launch day",
    ),
    (
        "piapi_hunyuan_fast",
        "educational",
        5,
        "Clear, informative educational video with clean visuals. Duration: 5s. Script: Launch day",
    ),
    (
        "piapi_hunyuan_fast",
        "social",
        5,
        "Dynamic, eye-catching social media video optimized for mobile. "
        "Duration: 5s. Script: Launch day",
    ),
    (
        "piapi_wanx_1.3b",
        "marketing",
        5,
        "Professional, engaging marketing video with smooth transitions. "
        "5-second clip. Script: Launch day",
    ),
    (
        "piapi_wanx_14b",
        "educational",
        5,
        "Clear, informative educational video with clean visuals. "
        "5-second clip. Script: Launch day",
    ),
    (
        "piapi_luma",
        "social",
        10,
        "Dynamic, eye-catching social media video optimized for mobile. "
        "10-second clip. Script: Launch day",
    ),
]


@pytest.mark.parametrize(("key", "style", "clip_s", "expected"), PROMPTS)
def test_build_prompt_exact_text(key: str, style: str, clip_s: int, expected: str) -> None:
    prompt = build_prompt(BY_KEY[key], style=style, clip_s=clip_s, script="  Launch day\n")

    assert prompt == expected


def test_build_prompt_keeps_the_script_verbatim_inside() -> None:
    script = 'Say "hi" {not a field} 100%'

    prompt = build_prompt(BY_KEY["piapi_wanx_14b"], style="marketing", clip_s=5, script=script)

    assert prompt.endswith(f"Script: {script}")


def test_build_prompt_unknown_style_is_an_error() -> None:
    with pytest.raises(KeyError):
        build_prompt(BY_KEY["piapi_luma"], style="cinematic", clip_s=5, script="x")
