"""Each family's output while pending, processing and completed, as the sandbox answers it
and as providers/results.py reads it back (video, thumbnail, size, progress, charge)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from providers.results import RemoteState, TaskResult, parse_task, task_from_envelope
from providers.sandbox.engine import Sandbox
from tests.examples import EXAMPLES

PUBLIC = "http://sandbox.test"
IMAGE = "https://example.com/face.png"


def example(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    body.pop("config", None)  # no webhook deliveries from a unit test
    body["input"] = {**body["input"], **changes}
    return body


def hailuo(**task_input: Any) -> dict[str, Any]:
    return {"model": "hailuo", "task_type": "video_generation", "input": task_input}


SORA2 = {
    "model": "sora2",
    "task_type": "sora2-video",
    "input": {"prompt": "a cat", "aspect_ratio": "16:9", "duration": 4},
}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return Sandbox(public_url=PUBLIC, time_scale=0.1, clock=clock, rng=random.Random(0))


def _run(sandbox: Sandbox, clock: Clock, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's data at creation, at 30 % and 90 % of its time, and once ended."""
    created = sandbox.create(body)["data"]
    task_id = created["task_id"]
    total = sandbox.seconds_until_end(task_id)
    assert total is not None
    start = clock.t
    seen = [created]
    for share in (0.3, 0.9, 1.01):
        clock.t = start + total * share
        seen.append(sandbox.get(task_id)["data"])
    return seen


def _read(data: dict[str, Any]) -> TaskResult:
    return parse_task(task_from_envelope({"code": 200, "message": "success", "data": data}))


VIDEO_STRING_BODIES = {
    "kling-3": example("kling_video_generation_v3_request.json"),
    "kling-omni": example("kling_omni_video_generation_v3_request.json"),
    "kling-turbo": example("kling_turbo_video_generation_request.json"),
    "veo3-fast": example("veo3_video_fast_img2video_request.json"),
    "veo31-fast": example("veo31_video_fast_txt2video_request.json"),
    "sora2": SORA2,
}


@pytest.mark.parametrize("body", VIDEO_STRING_BODIES.values(), ids=VIDEO_STRING_BODIES.keys())
def test_video_string_families(sandbox: Sandbox, clock: Clock, body: dict[str, Any]) -> None:
    pending, early, late, done = _run(sandbox, clock, body)
    url = f"{PUBLIC}/media/{pending['task_id']}/video.mp4"

    assert [d["status"] for d in (pending, early, late, done)] == [
        "pending",
        "processing",
        "processing",
        "completed",
    ]
    assert pending["output"] == early["output"] == late["output"] == {"video": ""}
    assert done["output"] == {"video": url}
    for unfinished in (pending, early, late):
        result = _read(unfinished)
        assert result.media.video_url is None  # "" is not a video
        assert result.state is not RemoteState.COMPLETED
        assert result.usage_points == 0
    result = _read(done)
    assert result.state is RemoteState.COMPLETED
    assert result.media.video_url == url
    assert result.usage_points == done["meta"]["usage"]["frozen"] > 0


@pytest.mark.parametrize(
    "body",
    [
        example("skyreels_img2video_request.json"),
        example("wanx_txt2video-14b-lora_request_thirdparty.json"),
        example("wanx_img2video-14b-lora_request_thirdparty.json"),
    ],
    ids=["skyreels", "lora-t2v", "lora-i2v"],
)
def test_video_url_families(sandbox: Sandbox, clock: Clock, body: dict[str, Any]) -> None:
    pending, early, _, done = _run(sandbox, clock, body)

    assert pending["output"] is None
    assert early["output"] is None
    url = f"{PUBLIC}/media/{pending['task_id']}/video.mp4"
    assert done["output"] == {"video_url": url}
    assert _read(done).media.video_url == url
    assert _read(done).usage_points == done["meta"]["usage"]["consume"] > 0


@pytest.mark.parametrize(
    "task_input",
    [{"model": "t2v-01", "prompt": "a cat"}, {"model": "i2v-01-live", "image_url": IMAGE}],
    ids=["t2v-01", "i2v-01-live"],
)
def test_hailuo_output_and_how_it_reads(
    sandbox: Sandbox, clock: Clock, task_input: dict[str, Any]
) -> None:
    pending, early, late, done = _run(sandbox, clock, hailuo(**task_input))
    base = f"{PUBLIC}/media/{pending['task_id']}"

    empty = {"video_url": "", "download_url": "", "cover_url": "", "width": 0, "height": 0}
    assert pending["output"] == {**empty, "percent": 0}
    assert {k: early["output"][k] for k in empty} == empty
    assert 0 < early["output"]["percent"] < late["output"]["percent"] < 100
    assert done["output"] == {
        "video_url": f"{base}/video.mp4",
        "download_url": f"{base}/video_raw.mp4",
        "cover_url": f"{base}/cover.jpg",
        "width": 320,
        "height": 180,
        "percent": 100,
    }
    running = _read(late)
    assert running.state is RemoteState.RUNNING
    assert running.progress == late["output"]["percent"]
    assert running.media.video_url is None
    assert running.media.thumbnail_url is None
    assert (running.media.width, running.media.height) == (None, None)
    result = _read(done)
    assert result.state is RemoteState.COMPLETED
    assert result.progress == 100
    assert result.media.video_url == f"{base}/video.mp4"
    assert result.media.video_raw_url == f"{base}/video_raw.mp4"
    assert result.media.thumbnail_url == f"{base}/cover.jpg"
    assert (result.media.width, result.media.height) == (320, 180)
    assert result.usage_points == 2_000_000


def test_older_kling_versions_answer_the_works_list(sandbox: Sandbox, clock: Clock) -> None:
    body = example("kling_video_generation_v3_request.json", version="1.6", duration=10)

    pending, _, _, done = _run(sandbox, clock, body)

    base = f"{PUBLIC}/media/{pending['task_id']}"
    assert pending["output"]["works"] == []
    assert _read(pending).media.video_url is None
    (work,) = done["output"]["works"]
    assert work["video"]["duration"] == 10_000
    result = _read(done)
    assert result.media.video_url == f"{base}/video_raw.mp4"  # the unwatermarked one
    assert result.media.thumbnail_url == f"{base}/cover.jpg"
    assert (result.media.width, result.media.height) == (320, 180)


@pytest.mark.parametrize(
    ("body", "points"),
    [
        (example("kling_video_generation_v3_request.json"), 5_000_000),
        (example("kling_video_generation_v3_request.json", enable_audio=True), 7_500_000),
        (SORA2, 3_200_000),
        (example("veo3_video_fast_img2video_request.json", generate_audio=False), 4_800_000),
        (example("veo3_video_fast_img2video_request.json"), 7_200_000),  # with audio
        (hailuo(model="t2v-01", prompt="a cat"), 2_000_000),
        (example("luma_video_generation_ray2_start_end_image_request.json"), 2_000_000),
    ],
    ids=[
        "kling-std",
        "kling-std-audio",
        "sora2-4s",
        "veo3-fast",
        "veo3-fast-audio",
        "hailuo",
        "luma",
    ],
)
def test_usage_is_frozen_at_once_and_consumed_only_on_completion(
    sandbox: Sandbox, clock: Clock, body: dict[str, Any], points: int
) -> None:
    pending, early, _, done = _run(sandbox, clock, body)

    assert pending["meta"]["usage"] == {"type": "point", "frozen": points, "consume": 0}
    assert early["meta"]["usage"]["consume"] == 0
    assert done["meta"]["usage"] == {"type": "point", "frozen": points, "consume": points}
    assert _read(done).usage_points == points


def test_a_failed_task_consumes_nothing(sandbox: Sandbox, clock: Clock) -> None:
    body = example("kling_video_generation_v3_request.json", prompt="a cat [sandbox:fail]")

    *_, done = _run(sandbox, clock, body)

    assert done["status"] == "failed"
    assert done["meta"]["usage"]["consume"] == 0
    assert _read(done).usage_points == 0


@pytest.mark.parametrize(
    ("body", "runtime_s"),
    [
        (example("kling_video_generation_v3_request.json"), 111),
        (example("kling_video_generation_v3_request.json", duration=15), 333),
        (example("kling_turbo_video_generation_request.json"), 137),
        (SORA2, 90),
        (example("wanx_img2video-14b-lora_request_thirdparty.json"), 480),
    ],
    ids=["kling-5s", "kling-15s", "turbo", "sora2", "wanx-lora"],
)
def test_the_task_runs_for_its_runtime_times_the_time_scale(
    sandbox: Sandbox, body: dict[str, Any], runtime_s: float
) -> None:
    task_id = sandbox.create(body)["data"]["task_id"]

    assert sandbox.seconds_until_end(task_id) == pytest.approx(runtime_s * 0.1)
