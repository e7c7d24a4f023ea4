"""Request validation and the job body clients see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import marshmallow as ma
import pytest

from api.schemas import GenerateRequest, JobSchema
from models.jobs import Job, Phase, Status
from tests.bodies import SPEC_I2V

# The spec's request bodies, without the comment its JSON carries.
SPEC_TEXT_TO_VIDEO = {
    "campaign_id": "123",
    "generation_mode": "text_to_video",
    "script": "Create an engaging marketing video about our new product launch with "
    "smooth transitions and professional visuals",
    "style": "marketing",
    "duration": 10,
    "aspect_ratio": "16:9",
    "provider": "piapi_hunyuan_fast",
}
SPEC_IMAGE_TO_VIDEO = SPEC_I2V
MINIMAL = {"generation_mode": "text_to_video", "script": "A cat playing with a ball"}
# What every request gets when it does not ask for webhooks or a deadline.
NO_EXTRAS = {
    "webhook_url": None,
    "webhook_events": ["completed", "failed", "canceled"],
    "deadline_seconds": None,
    "options": {},
}


def _load(**changes: Any) -> dict[str, Any]:
    return GenerateRequest().load({**MINIMAL, **changes})


def _errors(body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ma.ValidationError) as caught:
        GenerateRequest().load(body)
    return caught.value.normalized_messages()


def test_spec_text_to_video_body_loads() -> None:
    assert GenerateRequest().load(SPEC_TEXT_TO_VIDEO) == {
        **SPEC_TEXT_TO_VIDEO,
        **NO_EXTRAS,
        "campaign_id": 123,
        "image_url": None,
    }


def test_spec_image_to_video_body_loads() -> None:
    assert GenerateRequest().load(SPEC_IMAGE_TO_VIDEO) == {
        **SPEC_IMAGE_TO_VIDEO,
        **NO_EXTRAS,
        "campaign_id": 123,
    }


def test_defaults() -> None:
    assert _load() == {
        **MINIMAL,
        **NO_EXTRAS,
        "campaign_id": None,
        "style": "marketing",
        "duration": 5,
        "aspect_ratio": "16:9",
        "provider": None,
        "image_url": None,
    }


@pytest.mark.parametrize(("sent", "loaded"), [("123", 123), (123, 123), ("0", 0), (None, None)])
def test_campaign_id_digits_or_integer(sent: Any, loaded: int | None) -> None:
    assert _load(campaign_id=sent)["campaign_id"] == loaded


@pytest.mark.parametrize(
    "sent",
    [
        "12a",
        "",
        " 12",
        "-1",
        "1e3",
        "١٢٣",
        True,
        False,
        -1,
        2**31,
        "99999999999",
        [1],
        {},
    ],
)
def test_campaign_id_rejected(sent: Any) -> None:
    assert "campaign_id" in _errors({**MINIMAL, "campaign_id": sent})


def test_campaign_id_fraction_is_rejected_not_truncated() -> None:
    assert "campaign_id" in _errors({**MINIMAL, "campaign_id": 12.5})


def test_unknown_field_is_rejected() -> None:
    assert _errors({**MINIMAL, "durration": 10}) == {"durration": ["Unknown field."]}


@pytest.mark.parametrize("field", ["generation_mode", "script"])
def test_required_fields(field: str) -> None:
    body = dict(MINIMAL)
    del body[field]

    assert field in _errors(body)


@pytest.mark.parametrize("sent", ["10", 10.5, 0, -5, 601, 100000, True, None])
def test_duration_rejected(sent: Any) -> None:
    assert "duration" in _errors({**MINIMAL, "duration": sent})


@pytest.mark.parametrize("sent", [1, 600])
def test_duration_bounds_accepted(sent: int) -> None:
    assert _load(duration=sent)["duration"] == sent


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("style", "cinematic"),
        ("style", "Marketing"),
        ("generation_mode", "txt2video"),
        ("aspect_ratio", "2:1"),
        ("provider", "piapi_kling"),
    ],
)
def test_closed_vocabularies(field: str, value: str) -> None:
    assert field in _errors({**MINIMAL, field: value})


@pytest.mark.parametrize("style", ["marketing", "educational", "social"])
def test_every_style_loads(style: str) -> None:
    assert _load(style=style)["style"] == style


@pytest.mark.parametrize("image_url", [None, ""])
def test_image_url_required_for_image_to_video(image_url: str | None) -> None:
    body = {**SPEC_IMAGE_TO_VIDEO, "image_url": image_url}

    assert "image_url" in _errors(body)


def test_image_url_missing_for_image_to_video() -> None:
    body = {k: v for k, v in SPEC_IMAGE_TO_VIDEO.items() if k != "image_url"}

    assert _errors(body) == {"image_url": ["Required for image_to_video (or image_upload_id)."]}


def test_image_url_rejected_for_text_to_video() -> None:
    body = {**MINIMAL, "image_url": "https://example.com/product.jpg"}

    assert _errors(body) == {"image_url": ["Only allowed with generation_mode image_to_video."]}


@pytest.mark.parametrize(
    "image_url",
    [
        "ftp://example.com/product.jpg",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "example.com/product.jpg",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_image_url_must_be_a_short_http_url(image_url: str) -> None:
    assert "image_url" in _errors({**SPEC_IMAGE_TO_VIDEO, "image_url": image_url})


@pytest.mark.parametrize("script", ["", "   ", "\n\t "])
def test_blank_script_rejected(script: str) -> None:
    assert "script" in _errors({**MINIMAL, "script": script})


def test_script_length_limit() -> None:
    assert _load(script="a" * 4000)["script"] == "a" * 4000
    assert "script" in _errors({**MINIMAL, "script": "a" * 4001})


def test_script_must_be_a_string() -> None:
    assert "script" in _errors({**MINIMAL, "script": 42})


# --- JobSchema ----------------------------------------------------------------


def _job(**changes: Any) -> Job:
    fields: dict[str, Any] = {
        "id": 1,
        "user_id": 7,
        "campaign_id": 123,
        "task_id": None,
        "provider": "piapi_hunyuan_fast",
        "model_name": "hunyuan-fast",
        "task_type": "fast-txt2video",
        "generation_mode": "text_to_video",
        "prompt": "p",
        "script": "A cat playing with a ball",
        "style": "social",
        "aspect_ratio": "16:9",
        "image_url": None,
        "requested_duration": 10,
        "actual_duration": 5,
        "status": Status.PROCESSING,
        "phase": Phase.QUEUED,
        "progress": 0,
        "cost": Decimal("0.03"),
        "created_at": dt.datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=dt.UTC),
        "started_at": None,
        "completed_at": None,
        "notice": None,
        "error_code": None,
        "error_message": None,
    }
    fields.update(changes)
    return Job(**fields)


def test_job_body_matches_the_spec_response() -> None:
    body = JobSchema().dump(_job())

    assert body["video_id"] == "1"
    assert body["status"] == "processing"
    assert body["duration"] == 5
    assert body["requested_duration"] == 10
    assert body["cost"] == 0.03
    assert isinstance(body["cost"], float)
    assert body["created_at"] == "2024-01-15T10:30:00Z"
    assert body["campaign_id"] == "123"


def test_job_body_times_are_utc_with_z() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    job = _job(
        started_at=dt.datetime(2024, 1, 15, 12, 31, 5, tzinfo=paris),
        completed_at=dt.datetime(2024, 1, 15, 10, 33, 0, tzinfo=dt.UTC),
    )

    body = JobSchema().dump(job)

    assert body["started_at"] == "2024-01-15T10:31:05Z"
    assert body["completed_at"] == "2024-01-15T10:33:00Z"


def test_job_body_nulls() -> None:
    body = JobSchema().dump(_job(campaign_id=None))

    assert body["campaign_id"] is None
    assert body["started_at"] is None
    assert body["completed_at"] is None
    assert body["video_url"] is None
    assert body["error_code"] is None


def test_job_body_of_a_completed_job() -> None:
    job = _job(
        id=42,
        status=Status.COMPLETED,
        progress=100,
        cost=Decimal("0.2800"),
        video_url="https://cdn.test/v.mp4",
        thumbnail_url="https://cdn.test/t.jpg",
        video_width=1152,
        video_height=864,
        notice="runs on 14b",
    )

    body = JobSchema().dump(job)

    assert body["video_id"] == "42"
    assert body["status"] == "completed"
    assert body["progress"] == 100
    assert body["cost"] == 0.28
    assert body["video_url"] == "https://cdn.test/v.mp4"
    assert (body["video_width"], body["video_height"]) == (1152, 864)
    assert body["notice"] == "runs on 14b"


def test_job_body_hides_internal_fields() -> None:
    body = JobSchema().dump(_job())

    for internal in (
        "id",
        "user_id",
        "prompt",
        "phase",
        "poll_token",
        "provider_response",
    ):
        assert internal not in body


def test_job_body_of_an_unpriced_job_with_options_and_a_charge() -> None:
    job = _job(
        provider="piapi_skyreels",
        cost=None,
        cost_estimated=True,
        charged_usd=Decimal("0.1500"),
        options={"negative_prompt": "", "guidance_scale": 3.5},
    )

    body = JobSchema().dump(job)

    assert (body["cost"], body["cost_estimated"], body["charged_usd"]) == (None, True, 0.15)
    assert body["options"] == {"negative_prompt": "", "guidance_scale": 3.5}
    assert JobSchema().dump(_job(options=None))["options"] == {}
    assert JobSchema().dump(_job())["charged_usd"] is None


def test_options_are_an_object_of_known_names() -> None:
    kling = {**MINIMAL, "provider": "piapi_kling_3"}
    assert _load(**kling, options={"mode": "pro", "cfg_scale": 0.1})["options"] == {
        "mode": "pro",
        "cfg_scale": 0.1,
    }
    assert _load(**kling, options=None)["options"] is None
    assert _errors({**kling, "options": {"warp": 9}}) == {"options": {"warp": ["Unknown field."]}}
    assert "options" in _errors({**kling, "options": "pro"})
    # null is a value only where it is an option's default (no last frame).
    assert _load(**kling, options={"end_image_url": None})["options"] == {"end_image_url": None}
    assert _errors({**kling, "options": {"mode": None}}) == {
        "options": {"mode": ["Field may not be null."]}
    }


@pytest.mark.parametrize("options", [{"mode": "pro"}, {}, None])
def test_options_need_a_provider(options: Any) -> None:
    for provider in ({}, {"provider": None}):
        assert list(_errors({**MINIMAL, **provider, "options": options})) == ["options"]
