"""Reading PiAPI task objects: published examples and shapes integrators reported."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.results import (
    MalformedTaskError,
    Media,
    RemoteState,
    parse_task,
    task_from_envelope,
)
from tests.examples import EXAMPLES

VIDEO = "https://img.theapi.app/ephemeral/abc.mp4"


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def _task(**fields: Any) -> dict[str, Any]:
    return {"task_id": "t-1", "model": "Qubico/wanx", "status": "completed", **fields}


def test_luma_webhook_completed_has_all_media_and_size() -> None:
    body = _example("luma_video_generation_webhook_completed.json")

    result = parse_task(task_from_envelope(body))

    cdn = "https://storage.cdn-luma.com/dream-machine/d76fbe61-b3d1-438d-a9c2-ff71b41ed028"
    assert result.task_id == "f38e2944-a5fe-44b4-9464-920c94276d74"
    assert result.state is RemoteState.COMPLETED
    assert result.is_final
    assert result.media == Media(
        video_url=f"{cdn}/ee563707-ab58-4875-a4f4-17b808dcb605/"
        "2026-01-07T01-36-13_fly_fishing_watermarked.mp4",
        video_raw_url=f"{cdn}/73e682ad-827c-4b93-af28-730c6e4eb1fa/"
        "2026-01-07T01-36-13_fly_fishing.mp4",
        thumbnail_url="https://imagedelivery.net/1KomXrSWiTojGGip43n0SQ/"
        "5cc04988-7aaf-416d-f9a3-6fc73c789b00/public",
        last_frame_url=f"{cdn}/8c6372b7-3b14-4cfe-a77e-305a38080cf8/"
        "2026-01-07T01-36-13_fly_fishing_last_frame.jpg",
        width=1152,
        height=864,
    )
    assert result.error_code is None
    assert result.error_message is None
    assert result.raw is body["data"]


def test_luma_create_response_pending_is_waiting_without_media() -> None:
    body = _example("luma_video_generation_create_response_pending.json")

    result = parse_task(task_from_envelope(body))

    assert result.task_id == "f38e2944-a5fe-44b4-9464-920c94276d74"
    assert result.state is RemoteState.WAITING
    assert result.status_word == "pending"
    assert not result.is_final
    assert result.media == Media()
    assert result.error_code is None


def test_kling_completed_prefers_the_unwatermarked_video_and_uses_the_cover() -> None:
    body = _example("kling_video_generation_get_completed_doc.json")

    result = parse_task(task_from_envelope(body))

    assert result.state is RemoteState.COMPLETED
    assert result.media.video_url == "https://storage.goapi.ai/xxx.mp4"
    assert result.media.thumbnail_url == "https://xxx.png"
    assert (result.media.width, result.media.height) == (1440, 1440)
    assert result.media.video_raw_url is None
    assert result.media.last_frame_url is None


def test_kling_falls_back_to_the_watermarked_resource() -> None:
    work = {"video": {"resource": "https://x.test/w.mp4", "resource_without_watermark": ""}}

    result = parse_task(_task(output={"works": [work]}))

    assert result.media.video_url == "https://x.test/w.mp4"


def test_schema_template_capitalised_completed_without_output() -> None:
    body = _example("generic_get_task_schema_doc_template_capitalized_status.json")

    result = parse_task(task_from_envelope(body))

    assert result.state is RemoteState.COMPLETED
    assert result.status_word == "Completed"
    assert result.media == Media()
    assert result.error_code is None  # error.message "string" is ignored unless failed
    assert result.error_message is None


def test_legacy_meta_pending_with_empty_timestamps() -> None:
    body = _example("flux_txt2img_unified_response_legacy_meta_example.json")

    result = parse_task(task_from_envelope(body))

    assert result.task_id == "49638cd2-4689-4f33-9336-164a8f6b1111"
    assert result.state is RemoteState.WAITING
    assert result.media == Media()
    assert result.progress is None
    assert result.error_code is None


def test_non_task_examples_are_malformed() -> None:
    body = _example("midjourney_cancel_task_response.json")

    with pytest.raises(MalformedTaskError):
        task_from_envelope(body)


@pytest.mark.parametrize(
    "output",
    [
        {"video_url": VIDEO},
        {"video": VIDEO},
        {"video": {"url": VIDEO}},
        {"video_url": "", "video": VIDEO},
        {"works": [{"video": {"resource_without_watermark": VIDEO}}]},
    ],
    ids=["video_url", "video-string", "video-object", "empty-video_url", "works"],
)
def test_qubico_completed_output_shapes(output: dict[str, Any]) -> None:
    result = parse_task(_task(output=output))

    assert result.state is RemoteState.COMPLETED
    assert result.media.video_url == VIDEO


def test_video_url_is_preferred_over_other_shapes() -> None:
    output = {"video_url": VIDEO, "video": "https://other.test/v.mp4"}

    assert parse_task(_task(output=output)).media.video_url == VIDEO


@pytest.mark.parametrize("value", ["", "ftp://x/v.mp4", "/relative.mp4", 42, None, []])
def test_non_http_values_are_not_video_urls(value: Any) -> None:
    result = parse_task(_task(status="processing", output={"video_url": value}))

    assert result.media.video_url is None
    assert result.state is RemoteState.RUNNING


def test_failed_task_keeps_piapi_code_and_message() -> None:
    error = {
        "code": 10000,
        "raw_message": "raw",
        "message": "nsfw content",
        "detail": None,
    }

    result = parse_task(_task(status="failed", output=None, error=error))

    assert result.state is RemoteState.FAILED
    assert result.is_final
    assert result.error_code == "10000"
    assert result.error_message == "nsfw content"


def test_failed_task_falls_back_to_raw_message() -> None:
    error = {"code": 10000, "raw_message": "upstream said no", "message": ""}

    result = parse_task(_task(status="failed", error=error))

    assert result.error_message == "upstream said no"


@pytest.mark.parametrize("error", [None, {}, {"code": 0, "message": ""}, "oops"])
def test_failed_without_a_reason_gets_a_default_message(error: Any) -> None:
    result = parse_task(_task(status="failed", error=error))

    assert result.state is RemoteState.FAILED
    assert result.error_code is None
    assert result.error_message == "PiAPI reported the task failed without a reason."


def test_a_failed_task_with_a_video_url_stays_failed() -> None:
    result = parse_task(_task(status="failed", output={"video_url": VIDEO}))

    assert result.state is RemoteState.FAILED


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", RemoteState.WAITING),
        ("Pending", RemoteState.WAITING),
        ("staged", RemoteState.WAITING),
        ("Staged", RemoteState.WAITING),
        ("processing", RemoteState.RUNNING),
        ("Processing", RemoteState.RUNNING),
        ("completed", RemoteState.COMPLETED),
        ("COMPLETED", RemoteState.COMPLETED),
        ("Success", RemoteState.COMPLETED),
        ("failed", RemoteState.FAILED),
        ("Failed", RemoteState.FAILED),
        (" completed ", RemoteState.COMPLETED),
        ("rendering", RemoteState.RUNNING),  # an unknown word is not a verdict
        ("", RemoteState.RUNNING),
    ],
)
def test_status_words(status: str, state: RemoteState) -> None:
    result = parse_task(_task(status=status, output=None))

    assert result.state is state
    assert result.status_word == status


@pytest.mark.parametrize("status", ["processing", "pending", "staged", "Processing"])
def test_a_present_video_url_means_done_whatever_the_status(status: str) -> None:
    result = parse_task(_task(status=status, output={"video_url": VIDEO}))

    assert result.state is RemoteState.COMPLETED
    assert result.media.video_url == VIDEO


def test_error_fields_are_only_reported_for_failed_tasks() -> None:
    result = parse_task(
        _task(status="processing", output=None, error={"code": 10000, "message": "hm"})
    )

    assert result.error_code is None
    assert result.error_message is None


@pytest.mark.parametrize(
    ("task", "progress"),
    [
        (_task(status="processing", output={"progress": 42}), 42),
        (_task(status="processing", progress=57.9), 57),
        (_task(status="processing", output={"progress": 150}), 100),
        (_task(status="processing", output={"progress": -3}), 0),
        (_task(status="processing", output={"progress": True}), None),
        (_task(status="processing", output={"progress": "50"}), None),
    ],
)
def test_progress(task: dict[str, Any], progress: int | None) -> None:
    assert parse_task(task).progress == progress


@pytest.mark.parametrize(
    "output", [{"video": {"url": VIDEO, "width": True, "height": -1}}, {"video": VIDEO}]
)
def test_nonsense_sizes_are_dropped(output: dict[str, Any]) -> None:
    media = parse_task(_task(output=output)).media

    assert (media.width, media.height) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {},
        {"code": 500, "message": "x", "data": None},
        {"code": 200, "data": []},
        {"code": 200, "data": "task"},
    ],
)
def test_envelope_without_a_task_object_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedTaskError):
        task_from_envelope(body)


def test_webhook_body_without_code_is_an_envelope() -> None:
    task = _task()

    assert task_from_envelope({"timestamp": 1767749959, "data": task}) is task


@pytest.mark.parametrize(
    "task",
    [
        {},
        {"status": "completed"},
        {"task_id": "t-1"},
        {"task_id": "", "status": "completed"},
        {"task_id": 7, "status": "completed"},
        {"task_id": "t-1", "status": None},
        {"task_id": "t-1", "status": 1},
    ],
)
def test_task_without_id_or_status_is_malformed(task: dict[str, Any]) -> None:
    with pytest.raises(MalformedTaskError):
        parse_task(task)


def test_malformed_error_is_a_value_error() -> None:
    # The client catches ValueError for both bad JSON and bad shapes.
    assert issubclass(MalformedTaskError, ValueError)


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # PiAPI writes nanoseconds and Z; Python keeps microseconds.
        ({"ended_at": "2026-01-07T01:37:08.845623268Z"}, "2026-01-07T01:37:08.845623+00:00"),
        ({"ended_at": "2026-01-07T09:37:08+08:00"}, "2026-01-07T01:37:08+00:00"),
        ({"ended_at": "2026-01-07T01:37:08.5Z"}, "2026-01-07T01:37:08.500000+00:00"),
        # The older, smaller meta says completed_at.
        ({"completed_at": "2024-05-01T10:00:00Z"}, "2024-05-01T10:00:00+00:00"),
    ],
)
def test_a_final_task_carries_piapi_end_time(meta: dict[str, Any], expected: str) -> None:
    result = parse_task(_task(output={"video_url": VIDEO}, meta=meta))

    assert result.ended_at is not None
    assert result.ended_at.isoformat() == expected


@pytest.mark.parametrize(
    "meta",
    [
        {"ended_at": "0001-01-01T00:00:00Z"},  # PiAPI's "not yet"
        {"ended_at": ""},
        {"ended_at": "yesterday"},
        {"ended_at": "2026-13-45T01:37:08Z"},
        {"ended_at": "9999-12-31T23:00:00-08:00"},  # past what a datetime holds, in UTC
        {"ended_at": 1767750000},
        {},
        None,
    ],
)
def test_an_unknown_end_time_is_none(meta: Any) -> None:
    assert parse_task(_task(output={"video_url": VIDEO}, meta=meta)).ended_at is None


def test_an_unfinished_task_has_no_end_time_even_if_meta_says_one() -> None:
    task = _task(status="processing", meta={"ended_at": "2026-01-07T01:37:08Z"})

    assert parse_task(task).ended_at is None


# --- the newer families (MODELS.md) -------------------------------------------------


def _hailuo_output(**values: Any) -> dict[str, Any]:
    empty = {"video_url": "", "download_url": "", "cover_url": "", "width": 0, "height": 0}
    return {**empty, "percent": 0, **values}


def test_hailuo_completed_reads_cover_size_and_download() -> None:
    output = _hailuo_output(
        video_url=VIDEO,
        download_url="https://img.theapi.app/ephemeral/abc-download.mp4",
        cover_url="https://img.theapi.app/ephemeral/abc.jpg",
        width=1280,
        height=720,
        percent=100,
    )

    result = parse_task(_task(model="hailuo", output=output))

    assert result.state is RemoteState.COMPLETED
    assert result.media == Media(
        video_url=VIDEO,
        video_raw_url="https://img.theapi.app/ephemeral/abc-download.mp4",
        thumbnail_url="https://img.theapi.app/ephemeral/abc.jpg",
        width=1280,
        height=720,
    )
    assert result.progress == 100


@pytest.mark.parametrize(("status", "percent"), [("pending", 0), ("processing", 37)])
def test_hailuo_unfinished_has_no_media_and_percent_as_progress(status: str, percent: int) -> None:
    result = parse_task(
        _task(model="hailuo", status=status, output=_hailuo_output(percent=percent))
    )

    assert result.state is not RemoteState.COMPLETED
    assert result.media == Media()
    assert result.progress == percent


@pytest.mark.parametrize("output", [{"video": ""}, None, {}], ids=["empty-string", "null", "{}"])
@pytest.mark.parametrize("status", ["pending", "processing"])
def test_video_string_pending_forms_are_not_a_video(output: Any, status: str) -> None:
    result = parse_task(_task(model="kling", status=status, output=output))

    assert result.media.video_url is None
    assert result.state is not RemoteState.COMPLETED


@pytest.mark.parametrize("model", ["kling", "kling-turbo", "veo3", "veo3.1", "sora2"])
def test_video_string_completed(model: str) -> None:
    result = parse_task(_task(model=model, output={"video": VIDEO}))

    assert result.state is RemoteState.COMPLETED
    assert result.media == Media(video_url=VIDEO)


@pytest.mark.parametrize(
    "output",
    [
        {"video": [VIDEO]},
        {"videos": [{"url": VIDEO}]},
        {"video": {"uri": VIDEO}},
        {"video": {"url": 5, "width": "wide"}},
        {"works": "none", "video_url": {"url": VIDEO}},
        VIDEO,
        [VIDEO],
        42,
    ],
    ids=["list", "videos", "uri", "bad-url", "junk", "string", "array", "number"],
)
def test_unreadable_veo_output_keeps_the_raw_body_and_no_video(output: Any) -> None:
    task = _task(model="veo3", task_type="veo3-video", output=output)

    result = parse_task(task)

    # The worker fails such a job as provider_output_missing, storing result.raw.
    assert result.state is RemoteState.COMPLETED
    assert result.media.video_url is None
    assert result.raw is task


@pytest.mark.parametrize(
    ("meta", "points"),
    [
        ({"usage": {"type": "point", "frozen": 3_200_000, "consume": 3_200_000}}, 3_200_000),
        ({"usage": {"type": "point", "frozen": 2_000_000, "consume": 0}}, 0),
        ({"usage": {"consume": 7_200_000.0}}, 7_200_000),
        ({"usage": {"consume": 1.5}}, None),
        ({"usage": {"consume": "3200000"}}, None),
        ({"usage": {"consume": True}}, None),
        ({"usage": {"consume": -1}}, None),
        ({"usage": {"consume": float("nan")}}, None),
        ({"usage": {"frozen": 2_000_000}}, None),
        ({"usage": None}, None),
        ({"usage": "2000000"}, None),
        ({"account_id": 0, "completed_at": ""}, None),  # the older, smaller meta
        ({}, None),
        (None, None),
        ("meta", None),
    ],
)
def test_usage_points_come_from_meta_usage_consume(meta: Any, points: int | None) -> None:
    assert parse_task(_task(output={"video_url": VIDEO}, meta=meta)).usage_points == points


def test_a_task_without_meta_parses_with_unknown_usage() -> None:
    result = parse_task(_task(output={"video_url": VIDEO}))

    assert result.usage_points is None
    assert result.media.video_url == VIDEO


def test_the_published_luma_task_consumed_2_000_000_points() -> None:
    body = _example("luma_video_generation_webhook_completed.json")

    assert parse_task(task_from_envelope(body)).usage_points == 2_000_000
