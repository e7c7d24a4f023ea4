"""Kling 3.0 and Kling turbo: the documented bodies, the refusals, the price and the runtime."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.sandbox.rules import I2V, T2V, RequestRejectedError, check_request
from tests.examples import EXAMPLES

IMAGE = "https://example.com/first.jpg"
DROP = object()  # removes the field from the example's input


def _example(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    task_input = {**body["input"], **changes}
    body["input"] = {k: v for k, v in task_input.items() if v is not DROP}
    return body


def kling(**changes: Any) -> dict[str, Any]:
    return _example("kling_video_generation_v3_request.json", **changes)


def omni(**changes: Any) -> dict[str, Any]:
    return _example("kling_omni_video_generation_v3_request.json", **changes)


def turbo(**changes: Any) -> dict[str, Any]:
    return _example("kling_turbo_video_generation_request.json", **changes)


def test_the_documented_kling_3_body_is_accepted_as_text_to_video() -> None:
    accepted = check_request(kling())

    assert (accepted.model, accepted.task_type, accepted.kind) == (
        "kling",
        "video_generation",
        T2V,
    )
    assert accepted.image_url is None
    assert accepted.images == {}


def test_the_documented_omni_body_is_accepted() -> None:
    accepted = check_request(omni())

    assert accepted.task_type == "omni_video_generation"
    assert accepted.points == 3_000_000  # 3 s at 720p without audio, $0.10/s


def test_the_documented_turbo_body_with_empty_strings_is_accepted() -> None:
    accepted = check_request(turbo())

    assert (accepted.model, accepted.kind, accepted.image_url) == ("kling-turbo", T2V, None)


def test_first_and_last_frame_make_it_image_to_video() -> None:
    tail = "https://example.com/last.png"

    accepted = check_request(kling(image_url=IMAGE, image_tail_url=tail))

    assert accepted.kind == I2V
    assert accepted.image_url == IMAGE
    assert accepted.images == {"image_url": IMAGE, "image_tail_url": tail}


@pytest.mark.parametrize("duration", [3, 4, 9, 15])
def test_kling_3_takes_every_whole_second_from_3_to_15(duration: int) -> None:
    assert check_request(kling(duration=duration)).points == duration * 1_000_000


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"duration": 2}, r"input\.duration must be an integer from 3 to 15"),
        ({"duration": 16}, r"input\.duration must be an integer from 3 to 15"),
        ({"duration": "5"}, r"input\.duration"),
        ({"duration": True}, r"input\.duration"),
        ({"duration": 5.0}, r"input\.duration"),
        ({"aspect_ratio": "4:3"}, r"input\.aspect_ratio"),
        ({"mode": "hd"}, r"input\.mode"),
        ({"version": DROP}, r"input\.version"),
        ({"version": "2.5-turbo"}, r"input\.version"),
        ({"version": 3.0}, r"input\.version"),
        ({"prompt": DROP}, r"input\.prompt"),
        ({"negative_prompt": 7}, r"input\.negative_prompt"),
        ({"image_url": ""}, r"input\.image_url"),
        ({"image_url": "file:///tmp/x.jpg"}, r"input\.image_url"),
        ({"image_tail_url": IMAGE}, r"input\.image_tail_url needs input\.image_url"),
        ({"enable_audio": "false"}, r"input\.enable_audio"),
        ({"enable_audio": 1}, r"input\.enable_audio"),
        ({"prefer_multi_shots": None}, r"input\.prefer_multi_shots"),
        ({"cfg_scale": 1.5}, r"input\.cfg_scale"),
        ({"cfg_scale": "0.5"}, r"input\.cfg_scale"),
        ({"cfg_scale": True}, r"input\.cfg_scale"),
        ({"resolution": "1080p"}, r"input\.resolution 1080p contradicts input\.mode std"),
        ({"end_image_url": IMAGE}, r"input\.end_image_url is not an input of kling"),
    ],
)
def test_kling_3_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(kling(**changes))


def test_omni_runs_only_version_3() -> None:
    with pytest.raises(RequestRejectedError, match=r"input\.version"):
        check_request(omni(version="2.6"))


@pytest.mark.parametrize(("duration", "accepted"), [(5, True), (10, True), (3, False), (7, False)])
def test_older_kling_versions_make_5_or_10_seconds(duration: int, accepted: bool) -> None:
    body = kling(version="1.6", duration=duration)

    if accepted:
        assert check_request(body).kind == T2V
    else:
        with pytest.raises(
            RequestRejectedError, match=r"input\.duration must be an integer of 5, 10"
        ):
            check_request(body)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"duration": 3}, r"input\.duration must be an integer of 5, 10"),
        ({"duration": 15}, r"input\.duration"),
        ({"duration": "5"}, r"input\.duration"),
        ({"mode": "std"}, r"input\.mode must be one of pro"),
        ({"version": "3.0"}, r"input\.version"),
        ({"image_url": "girl.webp"}, r"input\.image_url"),
        ({"enable_audio": True}, r"input\.enable_audio is not an input of kling-turbo"),
        ({"aspect_ratio": "21:9"}, r"input\.aspect_ratio"),
    ],
)
def test_turbo_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(turbo(**changes))


def test_turbo_with_an_image_is_image_to_video() -> None:
    accepted = check_request(turbo(image_url=IMAGE))

    assert (accepted.kind, accepted.image_url) == (I2V, IMAGE)


@pytest.mark.parametrize(
    ("changes", "points"),
    [
        ({}, 5_000_000),  # 5 s std (720p), $0.10/s
        ({"enable_audio": True}, 7_500_000),  # $0.15/s
        ({"mode": "pro"}, 7_500_000),  # 1080p, $0.15/s
        ({"mode": "pro", "enable_audio": True}, 10_000_000),  # $0.20/s
        ({"duration": 10}, 10_000_000),
        ({"duration": 15, "mode": "pro", "enable_audio": True}, 30_000_000),
        ({"mode": DROP, "resolution": "1080p"}, 7_500_000),  # the omni way of saying pro
    ],
)
def test_kling_3_points_follow_the_per_second_prices(changes: dict[str, Any], points: int) -> None:
    assert check_request(kling(**changes)).points == points


@pytest.mark.parametrize(("duration", "points"), [(5, 2_800_000), (10, 5_600_000)])
def test_turbo_points_are_028_usd_per_5_seconds(duration: int, points: int) -> None:
    assert check_request(turbo(duration=duration)).points == points


@pytest.mark.parametrize(("duration", "runtime_s"), [(3, 66.6), (5, 111), (10, 222), (15, 333)])
def test_kling_3_runtime_is_111_s_per_5_s_of_clip(duration: int, runtime_s: float) -> None:
    assert check_request(kling(duration=duration)).runtime_s == pytest.approx(runtime_s)


@pytest.mark.parametrize(("duration", "runtime_s"), [(5, 137), (10, 274)])
def test_turbo_runtime_is_137_s_per_5_s_of_clip(duration: int, runtime_s: float) -> None:
    assert check_request(turbo(duration=duration)).runtime_s == pytest.approx(runtime_s)
