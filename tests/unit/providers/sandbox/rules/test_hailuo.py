"""Hailuo: the sub-model in input.model, what each one requires, its price and its runtime."""

from __future__ import annotations

from typing import Any

import pytest

from providers.sandbox.rules import I2V, T2V, RequestRejectedError, check_request

IMAGE = "https://example.com/face.png"


def hailuo(config: dict[str, Any] | None = None, **task_input: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "hailuo", "task_type": "video_generation", "input": task_input}
    if config is not None:
        body["config"] = config
    return body


@pytest.mark.parametrize("sub_model", ["t2v-01", "t2v-01-director", "t2v-02"])
def test_text_sub_models_need_only_a_prompt(sub_model: str) -> None:
    accepted = check_request(hailuo(model=sub_model, prompt="a cat", expand_prompt=True))

    assert (accepted.model, accepted.task_type, accepted.kind) == (
        "hailuo",
        "video_generation",
        T2V,
    )
    assert accepted.images == {}


@pytest.mark.parametrize(
    "sub_model", ["i2v-01", "i2v-01-live", "i2v-01-director", "i2v-02", "s2v-01"]
)
def test_image_sub_models_need_an_image_and_no_prompt(sub_model: str) -> None:
    accepted = check_request(hailuo(model=sub_model, image_url=IMAGE))

    assert (accepted.kind, accepted.image_url) == (I2V, IMAGE)
    assert accepted.images == {"image_url": IMAGE}


def test_a_public_service_mode_is_accepted() -> None:
    body = hailuo({"service_mode": "public"}, model="t2v-01", prompt="a cat")

    assert check_request(body).kind == T2V


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (hailuo(prompt="a cat"), r"input\.model is required for hailuo"),
        (hailuo(model="t2v-03", prompt="a cat"), r"input\.model is required"),
        (hailuo(model="T2V-01", prompt="a cat"), r"input\.model is required"),
        (hailuo(model="t2v-01"), r"input\.prompt is required"),
        (hailuo(model="t2v-01", prompt=" "), r"input\.prompt is required"),
        (hailuo(model="t2v-01", prompt="x" * 2001), r"input\.prompt must be at most 2000"),
        (hailuo(model="i2v-01", prompt="a cat"), r"input\.image_url must be an image URL"),
        (hailuo(model="s2v-01", image_url="face.png"), r"input\.image_url must be an image URL"),
        (hailuo(model="t2v-01", prompt="p", image_url=IMAGE), r"image_url is not an input"),
        (hailuo(model="t2v-01", prompt="p", expand_prompt="yes"), r"input\.expand_prompt"),
        (hailuo(model="t2v-01", prompt="p", duration=6), r"input\.duration is only for t2v-02"),
        (hailuo(model="i2v-01", image_url=IMAGE, resolution=768), r"input\.resolution is only"),
        (hailuo(model="t2v-02", prompt="p", duration=8), r"input\.duration must be an integer"),
        (hailuo(model="t2v-02", prompt="p", duration="6"), r"input\.duration"),
        (hailuo(model="t2v-02", prompt="p", resolution=720), r"input\.resolution"),
        (hailuo(model="t2v-02", prompt="p", resolution="1080"), r"input\.resolution"),
        (
            hailuo(model="t2v-02", prompt="p", duration=10, resolution=1080),
            r"input\.resolution 1080 is not available with duration 10",
        ),
        (hailuo(model="t2v-01", prompt="p", aspect_ratio="16:9"), r"input\.aspect_ratio"),
        (
            hailuo({"service_mode": "private"}, model="t2v-01", prompt="p"),
            r"config\.service_mode must be public",
        ),
    ],
)
def test_hailuo_refusals(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(body)


@pytest.mark.parametrize(
    ("task_input", "points"),
    [
        ({"model": "t2v-01", "prompt": "p"}, 2_000_000),  # $0.20 [doc]
        ({"model": "i2v-01", "image_url": IMAGE}, 2_000_000),
        ({"model": "i2v-01-live", "image_url": IMAGE}, 2_000_000),
        ({"model": "s2v-01", "image_url": IMAGE}, 3_000_000),  # $0.30 [doc]
        # The sandbox's stand-ins (no published price): 02 per second by resolution.
        ({"model": "t2v-02", "prompt": "p"}, 2_700_000),
        ({"model": "i2v-02", "image_url": IMAGE, "duration": 10}, 4_500_000),
        ({"model": "t2v-02", "prompt": "p", "resolution": 1080}, 4_800_000),
    ],
)
def test_hailuo_points(task_input: dict[str, Any], points: int) -> None:
    assert check_request(hailuo(**task_input)).points == points


@pytest.mark.parametrize(
    ("task_input", "runtime_s"),
    [
        ({"model": "t2v-01", "prompt": "p"}, 180),
        ({"model": "t2v-02", "prompt": "p"}, 240),
        ({"model": "t2v-02", "prompt": "p", "duration": 10}, 400),
        ({"model": "i2v-02", "image_url": IMAGE, "resolution": 1080}, 360),
    ],
)
def test_hailuo_runtime_estimates(task_input: dict[str, Any], runtime_s: float) -> None:
    assert check_request(hailuo(**task_input)).runtime_s == runtime_s
