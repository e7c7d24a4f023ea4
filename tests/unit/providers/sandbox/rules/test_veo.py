"""Veo 3 and 3.1: the documented bodies, the string duration, the price and the runtime."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.sandbox.rules import I2V, T2V, RequestRejectedError, check_request
from tests.examples import EXAMPLES

T2V_EXAMPLE = "veo31_video_fast_txt2video_request.json"
I2V_EXAMPLE = "veo3_video_fast_img2video_request.json"
DROP = object()


def veo(name: str = T2V_EXAMPLE, model: str = "", task_type: str = "", **changes: Any) -> Any:
    body = json.loads((EXAMPLES / name).read_text())
    body["model"] = model or body["model"]
    body["task_type"] = task_type or body["task_type"]
    task_input = {**body["input"], **changes}
    body["input"] = {k: v for k, v in task_input.items() if v is not DROP}
    return body


def test_the_documented_veo31_text_to_video_body_is_accepted() -> None:
    accepted = check_request(veo())

    assert (accepted.model, accepted.task_type, accepted.kind) == (
        "veo3.1",
        "veo3.1-video-fast",
        T2V,
    )


def test_the_documented_veo3_image_to_video_body_is_accepted() -> None:
    accepted = check_request(veo(I2V_EXAMPLE))

    image = "https://storage.theapi.app/images/playground/20250916/oulb2qkbf0f.png"
    assert (accepted.model, accepted.task_type) == ("veo3", "veo3-video-fast")
    assert (accepted.kind, accepted.image_url) == (I2V, image)


@pytest.mark.parametrize(
    ("model", "task_type"),
    [
        ("veo3", "veo3-video"),
        ("veo3", "veo3-video-fast"),
        ("veo3.1", "veo3.1-video"),
        ("veo3.1", "veo3.1-video-fast"),
    ],
)
@pytest.mark.parametrize("duration", ["4s", "6s", "8s"])
def test_every_task_type_takes_each_string_duration(
    model: str, task_type: str, duration: str
) -> None:
    assert check_request(veo(model=model, task_type=task_type, duration=duration)).kind == T2V


@pytest.mark.parametrize(
    ("model", "task_type", "reason"),
    [
        ("veo3", "veo3.1-video", "model veo3 has no task_type"),
        ("veo3.1", "veo3-video-fast", "model veo3.1 has no task_type"),
        ("veo3", "video_generation", "no task_type"),
    ],
)
def test_task_types_belong_to_their_model(model: str, task_type: str, reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(veo(model=model, task_type=task_type))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"duration": 8}, r"input\.duration must be a string, one of 4s, 6s, 8s \(got 8\)"),
        ({"duration": "8"}, r"input\.duration must be a string"),
        ({"duration": "10s"}, r"input\.duration must be a string"),
        ({"duration": ["8s"]}, r"input\.duration must be a string"),
        ({"aspect_ratio": "1:1"}, r"input\.aspect_ratio"),
        ({"resolution": "4k"}, r"input\.resolution"),
        ({"resolution": 720}, r"input\.resolution"),
        ({"generate_audio": "true"}, r"input\.generate_audio"),
        ({"image_url": ""}, r"input\.image_url"),
        ({"image_url": "oulb2qkbf0f.png"}, r"input\.image_url"),
        ({"negative_prompt": ["static"]}, r"input\.negative_prompt"),
        ({"prompt": DROP}, r"input\.prompt"),
        ({"enable_audio": True}, r"input\.enable_audio is not an input of veo3\.1"),
    ],
)
def test_veo_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(veo(**changes))


@pytest.mark.parametrize(
    ("model", "task_type", "audio", "duration", "points"),
    [
        ("veo3", "veo3-video-fast", False, "8s", 4_800_000),  # $0.06/s
        ("veo3", "veo3-video-fast", True, "8s", 7_200_000),  # $0.09/s
        ("veo3", "veo3-video", False, "8s", 9_600_000),  # $0.12/s
        ("veo3", "veo3-video", True, "8s", 19_200_000),  # $0.24/s
        ("veo3", "veo3-video", True, "4s", 9_600_000),
        ("veo3.1", "veo3.1-video-fast", True, "8s", 7_200_000),  # 3.1 priced as 3
        ("veo3.1", "veo3.1-video", False, "6s", 7_200_000),
    ],
)
def test_veo_points_are_per_second_of_the_requested_duration(
    model: str, task_type: str, audio: bool, duration: str, points: int
) -> None:
    body = veo(model=model, task_type=task_type, generate_audio=audio, duration=duration)

    assert check_request(body).points == points


def test_veo_without_generate_audio_is_priced_without_audio() -> None:
    assert check_request(veo(generate_audio=DROP)).points == 4_800_000


@pytest.mark.parametrize(("task_type", "runtime_s"), [("veo3-video", 150), ("veo3-video-fast", 90)])
def test_veo_runtime_estimates(task_type: str, runtime_s: float) -> None:
    assert check_request(veo(model="veo3", task_type=task_type)).runtime_s == runtime_s
