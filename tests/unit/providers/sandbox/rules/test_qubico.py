"""Skyreels and WanX LoRA (the Qubico models MODELS.md adds): bodies, refusals, price, runtime."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.sandbox.rules import I2V, T2V, RequestRejectedError, check_request
from tests.examples import EXAMPLES

IMAGE = "https://example.com/girl.webp"
DROP = object()


def _example(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    body.pop("config")  # Skyreels' webhook endpoint and secret are the doc's "string"
    task_input = {**body["input"], **changes}
    body["input"] = {k: v for k, v in task_input.items() if v is not DROP}
    return body


def skyreels(**changes: Any) -> dict[str, Any]:
    return _example("skyreels_img2video_request.json", **changes)


def lora_t2v(**changes: Any) -> dict[str, Any]:
    return _example("wanx_txt2video-14b-lora_request_thirdparty.json", **changes)


def lora_i2v(**changes: Any) -> dict[str, Any]:
    return _example("wanx_img2video-14b-lora_request_thirdparty.json", **changes)


def test_the_documented_skyreels_body_is_accepted() -> None:
    accepted = check_request(skyreels())

    assert (accepted.model, accepted.task_type, accepted.kind) == (
        "Qubico/skyreels",
        "img2video",
        I2V,
    )
    assert accepted.images == {"image": "https://i.ibb.co/wbw9GLY/girl.webp"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"image": DROP}, r"input\.image must be an image URL"),
        ({"image": ""}, r"input\.image must be an image URL"),
        ({"image": "girl.webp"}, r"input\.image must be an image URL"),
        ({"prompt": DROP}, r"input\.prompt is required"),
        ({"aspect_ratio": "4:3"}, r"input\.aspect_ratio"),
        ({"guidance_scale": 10.5}, r"input\.guidance_scale must be a number from 0 to 10"),
        ({"guidance_scale": -1}, r"input\.guidance_scale"),
        ({"guidance_scale": "3.5"}, r"input\.guidance_scale"),
        ({"duration": 5}, r"input\.duration is not an input of Qubico/skyreels"),
    ],
)
def test_skyreels_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(skyreels(**changes))


def test_skyreels_has_no_text_to_video() -> None:
    with pytest.raises(RequestRejectedError, match="no task_type"):
        check_request({**skyreels(), "task_type": "txt2video"})


def test_the_documented_lora_bodies_are_accepted() -> None:
    t2v, i2v = check_request(lora_t2v()), check_request(lora_i2v())

    assert (t2v.model, t2v.task_type, t2v.kind, t2v.image_url) == (
        "Qubico/wanx",
        "txt2video-14b-lora",
        T2V,
        None,
    )
    assert (i2v.task_type, i2v.kind, i2v.image_url) == (
        "img2video-14b-lora",
        I2V,
        "https://i.ibb.co/wbw9GLY/girl.webp",
    )


def test_several_loras_with_strengths_are_accepted() -> None:
    settings = [{"lora_type": "ghibli", "lora_strength": 0}, {"lora_type": "flat-color"}]

    assert check_request(lora_t2v(lora_settings=settings)).kind == T2V


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lora_settings": DROP}, r"input\.lora_settings must be a non-empty list"),
        ({"lora_settings": []}, r"input\.lora_settings must be a non-empty list"),
        ({"lora_settings": {"lora_type": "ghibli"}}, r"input\.lora_settings must be a non-empty"),
        ({"lora_settings": ["ghibli"]}, r"input\.lora_settings\[0\] must be an object"),
        ({"lora_settings": [{"lora_strength": 1.0}]}, r"lora_settings\[0\]\.lora_type is required"),
        ({"lora_settings": [{"lora_type": ""}]}, r"lora_settings\[0\]\.lora_type is required"),
        ({"lora_settings": [{"lora_type": 3}]}, r"lora_settings\[0\]\.lora_type is required"),
        (
            {"lora_settings": [{"lora_type": "ghibli", "lora_strength": 1.5}]},
            r"lora_settings\[0\]\.lora_strength must be a number from 0 to 1",
        ),
        (
            {"lora_settings": [{"lora_type": "ghibli", "lora_strength": "1"}]},
            r"lora_settings\[0\]\.lora_strength",
        ),
        (
            {"lora_settings": [{"lora_type": "ghibli"}, {"lora_type": "x", "weight": 1}]},
            r"lora_settings\[1\]\.weight is not a LoRA setting",
        ),
        ({"aspect_ratio": "1:1"}, "16:9 or 9:16"),
        ({"duration": 5}, "duration is not an input"),
        ({"image": IMAGE}, r"input\.image is only for img2video"),
    ],
)
def test_lora_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(lora_t2v(**changes))


def test_lora_image_to_video_needs_an_image() -> None:
    with pytest.raises(RequestRejectedError, match=r"input\.image must be an image URL"):
        check_request(lora_i2v(image=DROP))


@pytest.mark.parametrize("task_type", ["txt2video-14b", "txt2video-1.3b"])
def test_lora_settings_only_go_to_the_lora_task_types(task_type: str) -> None:
    with pytest.raises(RequestRejectedError, match=r"input\.lora_settings is only for the LoRA"):
        check_request({**lora_t2v(), "task_type": task_type})


@pytest.mark.parametrize(
    ("body", "points", "runtime_s"),
    [
        (lora_t2v(), 2_800_000, 480),  # $0.28 [3p], as long as WanX 14b
        (lora_i2v(), 2_800_000, 480),
        (skyreels(), 1_500_000, 300),  # the sandbox's stand-in price; runtime an estimate
    ],
)
def test_points_and_runtimes(body: dict[str, Any], points: int, runtime_s: float) -> None:
    accepted = check_request(body)

    assert (accepted.points, accepted.runtime_s) == (points, runtime_s)
