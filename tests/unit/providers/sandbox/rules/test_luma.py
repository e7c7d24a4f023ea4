"""Luma's newer schema (start_image, end_image, loop) beside the older one."""

from __future__ import annotations

from typing import Any

import pytest

from providers.sandbox.rules import EXTEND, T2V, RequestRejectedError, check_request

START, END = "https://example.com/start.jpg", "https://example.com/end.jpg"


def luma(task_type: str = "video_generation", **task_input: Any) -> dict[str, Any]:
    fields = {"prompt": "Fly fishing", "model": "ray-v2", "duration": 5}
    return {"model": "luma", "task_type": task_type, "input": {**fields, **task_input}}


def test_start_and_end_frames_are_both_images_and_the_start_is_the_first_frame() -> None:
    accepted = check_request(luma(start_image=START, end_image=END, loop=False))

    assert accepted.image_url == START
    assert accepted.images == {"start_image": START, "end_image": END}


def test_the_older_key_frames_are_images_too() -> None:
    frames = {"frame0": {"type": "image", "url": START}, "frame1": {"type": "image", "url": END}}

    accepted = check_request(luma(model_name="ray-v1", key_frames=frames))

    assert accepted.image_url == START
    assert accepted.images == {"key_frames.frame0.url": START, "key_frames.frame1.url": END}


def test_extending_a_generation_by_id_needs_no_image() -> None:
    frames = {"frame0": {"type": "generation", "id": "f38e2944"}}

    accepted = check_request(luma("extend_video", key_frames=frames))

    assert (accepted.kind, accepted.images) == (EXTEND, {})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"end_image": "end.jpg"}, "luma end_image must be a URL"),
        ({"loop": "false"}, r"input\.loop must be true or false"),
        ({"expand_prompt": 1}, r"input\.expand_prompt"),
        ({"duration": True}, "5 or 10"),
        ({"key_frames": [START]}, "key_frames must be an object"),
        ({"key_frames": {"frame1": {"type": "image"}}}, r"key_frames\.frame1\.url must be a URL"),
    ],
)
def test_luma_refusals(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(luma(**changes))


@pytest.mark.parametrize(("duration", "points"), [(5, 2_000_000), (10, 4_000_000)])
def test_luma_points_are_2_000_000_per_5_seconds(duration: int, points: int) -> None:
    accepted = check_request(luma(duration=duration))

    assert (accepted.kind, accepted.points, accepted.runtime_s) == (T2V, points, 191)
