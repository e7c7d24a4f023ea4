"""Each body the catalogue builds has the model, task_type and input keys and types of
PiAPI's documented example for it (tests/piapi_examples/), differing only where listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.catalogue import BY_KEY, IMAGE_TO_VIDEO, TEXT_TO_VIDEO
from providers.prompts import build_task_request

EXAMPLES = Path(__file__).resolve().parents[3] / "piapi_examples"
IMAGE = "https://example.com/first.jpg"
LAST = "https://example.com/last.jpg"

# example file -> (provider, mode, clip_s, options, input keys we send beyond the example
# (or it beyond us), each with why)
CASES: dict[str, tuple[str, str, int, dict[str, Any], dict[str, str]]] = {
    "hunyuan_fast-txt2video_request.json": (
        "piapi_hunyuan_fast",
        TEXT_TO_VIDEO,
        5,
        {},
        {"aspect_ratio": "REFERENCE.md lists it as a Hunyuan input; the example leaves it out"},
    ),
    "hunyuan_img2video-concat_request.json": ("piapi_hunyuan_fast", IMAGE_TO_VIDEO, 5, {}, {}),
    "wanx_txt2video-1.3b_request_doc_template.json": (
        "piapi_wanx_1.3b",
        TEXT_TO_VIDEO,
        5,
        {"negative_prompt": "static"},
        {},
    ),
    "wanx_txt2video-14b-lora_request_thirdparty.json": (
        "piapi_wanx_14b_lora",
        TEXT_TO_VIDEO,
        5,
        {"lora_type": "ghibli", "negative_prompt": "chaotic"},
        {},
    ),
    "wanx_img2video-14b-lora_request_thirdparty.json": (
        "piapi_wanx_14b_lora",
        IMAGE_TO_VIDEO,
        5,
        {"lora_type": "inflate-effect"},
        {
            "aspect_ratio": "WanX 14b image-to-video takes it; this third-party example omits it",
            "lora_settings[0].lora_strength": "the same source's table lists it (0-1); we send 1.0",
        },
    ),
    "skyreels_img2video_request.json": (
        "piapi_skyreels",
        IMAGE_TO_VIDEO,
        5,
        {"negative_prompt": "chaotic"},
        {},
    ),
    "luma_video_generation_ray2_start_end_image_request.json": (
        "piapi_luma",
        IMAGE_TO_VIDEO,
        5,
        {"end_image_url": LAST},
        {},
    ),
    "kling_video_generation_v3_request.json": ("piapi_kling_3", TEXT_TO_VIDEO, 5, {}, {}),
    "kling_turbo_video_generation_request.json": ("piapi_kling_turbo", TEXT_TO_VIDEO, 5, {}, {}),
    "veo31_video_fast_txt2video_request.json": (
        "piapi_veo31_fast",
        TEXT_TO_VIDEO,
        8,
        {"negative_prompt": "static background"},
        {},
    ),
    "veo3_video_fast_img2video_request.json": ("piapi_veo3_fast", IMAGE_TO_VIDEO, 8, {}, {}),
}
# Documented request examples the catalogue does not send, and why.
NOT_USED = {
    "hunyuan_txt2video_request.json": "we send fast-txt2video (the spec's $0.03 price)",
    "kling_omni_video_generation_v3_request.json": "omni_video_generation is not offered",
    "luma_video_generation_request_simple.json": "the older Luma form; we send ray-v2's",
}


def _shape(value: Any, path: str = "") -> dict[str, type]:
    """Every leaf's path and JSON type: {"lora_settings[0].lora_type": str, ...}."""
    if isinstance(value, dict):
        shape: dict[str, type] = {}
        for key, inner in value.items():
            shape |= _shape(inner, f"{path}.{key}" if path else key)
        return shape
    if isinstance(value, list):
        shape = {}
        for index, inner in enumerate(value):
            shape |= _shape(inner, f"{path}[{index}]")
        return shape
    return {path: type(value)}


def _ours(key: str, mode: str, clip_s: int, options: dict[str, Any]) -> dict[str, Any]:
    model = BY_KEY[key]
    return build_task_request(
        model,
        mode=mode,
        task_type=model.modes[mode].task_type,
        prompt="A cat",
        aspect_ratio="16:9",
        clip_s=clip_s,
        image_url=IMAGE if mode == IMAGE_TO_VIDEO else None,
        options=model.normalise_options(options, mode),
    )


def test_every_request_example_is_used_or_said_why_not() -> None:
    requests = {p.name for p in EXAMPLES.glob("*_request*.json")}

    assert requests == set(CASES) | set(NOT_USED)


@pytest.mark.parametrize("name", sorted(CASES))
def test_body_matches_the_documented_example(name: str) -> None:
    key, mode, clip_s, options, differences = CASES[name]
    example = json.loads((EXAMPLES / name).read_text())

    ours = _ours(key, mode, clip_s, options)

    assert (ours["model"], ours["task_type"]) == (example["model"], example["task_type"])
    theirs, mine = _shape(example["input"]), _shape(ours["input"])
    assert set(theirs) ^ set(mine) == set(differences)
    for path in set(theirs) & set(mine):
        assert mine[path] is theirs[path], f"{path}: {mine[path]} where PiAPI has {theirs[path]}"
