"""Sora 2 and Sora 2 pro: prompt, ratio, whole seconds; price and runtime."""

from __future__ import annotations

from typing import Any

import pytest

from providers.sandbox.rules import T2V, RequestRejectedError, check_request


def sora(task_type: str = "sora2-video", **task_input: Any) -> dict[str, Any]:
    # The documented example: a 4 s clip.
    fields = {"prompt": "a cat on a skateboard", "aspect_ratio": "16:9", "duration": 4}
    return {"model": "sora2", "task_type": task_type, "input": {**fields, **task_input}}


@pytest.mark.parametrize("task_type", ["sora2-video", "sora2-pro-video"])
@pytest.mark.parametrize("duration", [4, 8, 12])
@pytest.mark.parametrize("ratio", ["16:9", "9:16"])
def test_sora_accepts_its_lengths_and_ratios(task_type: str, duration: int, ratio: str) -> None:
    accepted = check_request(sora(task_type, duration=duration, aspect_ratio=ratio))

    assert (accepted.model, accepted.task_type, accepted.kind) == ("sora2", task_type, T2V)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"duration": "4"}, r"input\.duration must be an integer of 4, 8, 12"),
        ({"duration": "4s"}, r"input\.duration"),
        ({"duration": 5}, r"input\.duration"),
        ({"duration": 4.0}, r"input\.duration"),
        ({"duration": True}, r"input\.duration"),
        ({"aspect_ratio": "1:1"}, r"input\.aspect_ratio"),
        ({"prompt": ""}, r"input\.prompt"),
        ({"image_url": "https://example.com/a.jpg"}, r"input\.image_url is not an input"),
    ],
)
def test_sora_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(sora(**changes))


@pytest.mark.parametrize(
    ("task_type", "duration", "points"),
    [
        ("sora2-video", 4, 3_200_000),  # the documented task: $0.32, $0.08/s
        ("sora2-video", 12, 9_600_000),
        ("sora2-pro-video", 4, 12_000_000),  # the sandbox's stand-in, $0.30/s
    ],
)
def test_sora_points(task_type: str, duration: int, points: int) -> None:
    assert check_request(sora(task_type, duration=duration)).points == points


@pytest.mark.parametrize(
    ("task_type", "duration", "runtime_s"),
    [
        ("sora2-video", 4, 90),  # observed: about 1.5 minutes
        ("sora2-video", 12, 270),
        ("sora2-pro-video", 4, 180),  # an estimate
    ],
)
def test_sora_runtime(task_type: str, duration: int, runtime_s: float) -> None:
    assert check_request(sora(task_type, duration=duration)).runtime_s == runtime_s
