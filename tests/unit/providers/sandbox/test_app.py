"""The sandbox over HTTP for the newer models: every documented body is a 200, every
documented refusal PiAPI's 400 envelope naming the field, and the cover is served."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from flask.testing import FlaskClient

from providers.sandbox.app import create_sandbox_app
from providers.sandbox.engine import Sandbox
from tests.examples import EXAMPLES

REQUESTS = sorted(p.name for p in EXAMPLES.glob("*_request*.json"))
KEY = {"x-api-key": "sandbox-key"}


def example(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    # Keep service_mode; drop webhooks: their endpoints are webhook.site or the doc's
    # placeholder "string", and a unit test calls nothing but 127.0.0.1.
    config = {k: v for k, v in body.pop("config", {}).items() if k != "webhook_config"}
    if config:
        body["config"] = config
    body["input"] = {k: v for k, v in {**body["input"], **changes}.items() if v is not None}
    return body


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(public_url="http://sandbox.test", time_scale=0.1, rng=random.Random(0))


@pytest.fixture
def http(sandbox: Sandbox) -> FlaskClient:
    return create_sandbox_app(sandbox, api_key="sandbox-key").test_client()


def test_every_model_family_has_a_request_example() -> None:
    models = {json.loads((EXAMPLES / name).read_text())["model"] for name in REQUESTS}

    assert {"kling", "kling-turbo", "veo3", "veo3.1", "Qubico/skyreels", "Qubico/wanx"} <= models


@pytest.mark.parametrize("name", REQUESTS)
def test_every_documented_request_body_is_accepted(http: FlaskClient, name: str) -> None:
    body = example(name)

    resp = http.post("/api/v1/task", json=body, headers=KEY)

    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()["data"]
    assert (data["model"], data["task_type"], data["status"]) == (
        body["model"],
        body["task_type"],
        "pending",
    )
    assert data["input"] == body["input"]


HAILUO_WITHOUT_MODEL = {
    "model": "hailuo",
    "task_type": "video_generation",
    "input": {"prompt": "a cat"},
}
SORA_STRING_DURATION = {
    "model": "sora2",
    "task_type": "sora2-video",
    "input": {"prompt": "a cat", "duration": "4"},
}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (example("veo3_video_fast_img2video_request.json", duration=8), "input.duration"),
        (example("veo31_video_fast_txt2video_request.json", duration=8), "input.duration"),
        (HAILUO_WITHOUT_MODEL, "input.model"),
        (example("kling_video_generation_v3_request.json", duration=2), "input.duration"),
        (example("kling_video_generation_v3_request.json", duration=16), "input.duration"),
        (example("kling_video_generation_v3_request.json", duration="5"), "input.duration"),
        (example("kling_turbo_video_generation_request.json", duration=7), "input.duration"),
        (example("skyreels_img2video_request.json", image=None), "input.image"),
        (
            example("wanx_txt2video-14b-lora_request_thirdparty.json", lora_settings=[{}]),
            "lora_type",
        ),
        (example("luma_video_generation_ray2_start_end_image_request.json", loop="no"), "loop"),
        (SORA_STRING_DURATION, "input.duration"),
    ],
    ids=[
        "veo3-int-duration",
        "veo31-int-duration",
        "hailuo-no-model",
        "kling-2s",
        "kling-16s",
        "kling-string-duration",
        "turbo-7s",
        "skyreels-no-image",
        "lora-no-type",
        "luma-loop-string",
        "sora-string-duration",
    ],
)
def test_documented_refusals_are_400_envelopes_naming_the_field(
    http: FlaskClient, sandbox: Sandbox, body: dict[str, Any], field: str
) -> None:
    resp = http.post("/api/v1/task", json=body, headers=KEY)

    assert resp.status_code == 400
    envelope = resp.get_json()
    assert (envelope["code"], envelope["data"]) == (400, None)
    assert field in envelope["message"]
    assert sandbox.create_calls == 0


def test_the_cover_is_served_as_the_thumbnail_jpeg(http: FlaskClient) -> None:
    body = {
        "model": "hailuo",
        "task_type": "video_generation",
        "input": {"model": "t2v-01", "prompt": "p"},
    }
    task_id = http.post("/api/v1/task", json=body, headers=KEY).get_json()["data"]["task_id"]

    cover = http.get(f"/media/{task_id}/cover.jpg", buffered=True)
    thumbnail = http.get(f"/media/{task_id}/thumbnail.jpg", buffered=True)

    assert cover.status_code == 200
    assert cover.mimetype == "image/jpeg"
    assert cover.data[:2] == b"\xff\xd8"
    assert cover.data == thumbnail.data
