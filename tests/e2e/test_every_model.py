"""Every provider id and mode, run to `completed` on a stack of its own against the sandbox.

The sandbox checks each create-task body as PiAPI documents it (a wrong field is its
400); here we also check it received exactly the body the catalogue builds for the job,
options included, and that the job records what the sandbox charged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from providers.catalogue import BY_KEY, CATALOGUE, IMAGE_TO_VIDEO
from providers.prompts import build_prompt, build_task_request
from tests.e2e.conftest import Stack, run_stack
from tests.stack import ROOT, wait_until

IMAGE = "https://example.com/product.jpg"
LAST = "https://example.com/last-frame.jpg"

# Options worth sending per provider (the rest keep their defaults); lora_type is required.
OPTIONS: dict[str, dict[str, Any]] = {
    "piapi_kling_3": {"mode": "pro", "enable_audio": True, "cfg_scale": 0.7},
    "piapi_kling_turbo": {"negative_prompt": "blurry"},
    "piapi_hailuo": {"expand_prompt": True},
    "piapi_veo3_fast": {"generate_audio": True},
    "piapi_veo31": {"resolution": "1080p", "negative_prompt": "static"},
    "piapi_wanx_14b_lora": {"lora_type": "pixel-art", "lora_strength": 0.8},
    "piapi_skyreels": {"guidance_scale": 5},
    "piapi_luma": {"loop": True},
    "piapi_wanx_1.3b": {"negative_prompt": "text"},
}
# Image-to-video options (a last frame) on top of those.
I2V_OPTIONS: dict[str, dict[str, Any]] = {
    "piapi_kling_3": {"end_image_url": LAST},
    "piapi_luma": {"end_image_url": LAST},
}
DURATIONS = {"piapi_kling_3": 10, "piapi_sora2": 8, "piapi_luma": 10}
CASES = [(model.key, mode) for model in CATALOGUE for mode in model.modes]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("every-model")
    with run_stack(
        data_dir,
        "postgres-redis",
        database="videogen_e2e_models",
        redis_db=5,
        PYTHONPATH=str(ROOT),  # this checkout's code, whatever the virtualenv points at
    ) as running:
        yield running


def _request(key: str, mode: str) -> dict[str, Any]:
    options = {
        **OPTIONS.get(key, {}),
        **(I2V_OPTIONS.get(key, {}) if mode == IMAGE_TO_VIDEO else {}),
    }
    body: dict[str, Any] = {
        "generation_mode": mode,
        "script": f"Every model: {key} {mode}",
        "style": "marketing",
        "duration": DURATIONS.get(key, 5),
        "aspect_ratio": "9:16",
        "provider": key,
        "options": options,
    }
    if mode == IMAGE_TO_VIDEO:
        body["image_url"] = IMAGE
    return body


@pytest.fixture(scope="module")
def finished(stack: Stack) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    """Every (id, mode) submitted at once, then followed to its end: (request, status body)."""
    http = stack.http()
    accepted = {}
    for key, mode in CASES:
        request = _request(key, mode)
        resp = http.post(f"{stack.api}/api/video/generate", json=request, timeout=10)
        assert resp.status_code == 202, (key, mode, resp.text)
        accepted[(key, mode)] = (request, resp.json()["video_id"])

    def all_ended() -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] | None:
        ended = {}
        for case, (request, video_id) in accepted.items():
            body = http.get(f"{stack.api}/api/video/status/{video_id}", timeout=5).json()
            if body["status"] == "processing":
                return None
            ended[case] = (request, body)
        return ended

    try:
        result: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = wait_until(
            all_ended, timeout_s=180, what="every model's job", every_s=1
        )
    except AssertionError:
        print(stack.log.read_text(errors="replace")[-6000:])  # noqa: T201 - shown on failure
        raise
    return result


@pytest.fixture(scope="module")
def received(stack: Stack, finished: Any) -> dict[str, dict[str, Any]]:
    """What the sandbox (PiAPI) received, by task id."""
    tasks = requests.get(f"{stack.sandbox}/sandbox/tasks", timeout=10).json()["tasks"]
    return {task["task_id"]: task for task in tasks}


@pytest.mark.parametrize(("key", "mode"), CASES)
def test_every_model_and_mode_completes_with_the_body_piapi_documents(
    key: str, mode: str, finished: Any, received: dict[str, dict[str, Any]]
) -> None:
    request, job = finished[(key, mode)]
    assert (job["status"], job["error_code"]) == ("completed", None), job
    assert job["video_url"]

    model = BY_KEY[key]
    expected = build_task_request(
        model,
        mode=mode,
        task_type=model.modes[mode].task_type,
        prompt=build_prompt(
            model, style="marketing", clip_s=job["duration"], script=request["script"]
        ),
        aspect_ratio=job["aspect_ratio"],
        clip_s=job["duration"],
        image_url=request.get("image_url"),
        options=job["options"],
    )
    sent = received[job["task_id"]]
    assert (sent["model"], sent["task_type"]) == (expected["model"], expected["task_type"])
    assert sent["input"] == expected["input"]
    for name, value in request["options"].items():
        assert job["options"][name] == value  # the options asked are the options run


@pytest.mark.parametrize(("key", "mode"), CASES)
def test_what_was_charged_is_recorded_beside_the_quote(key: str, mode: str, finished: Any) -> None:
    _, job = finished[(key, mode)]

    # The sandbox charges PiAPI's prices: where ours is known, the two agree.
    assert job["charged_usd"] is not None
    if job["cost"] is not None:
        assert job["charged_usd"] == pytest.approx(job["cost"])
    else:
        assert job["cost_estimated"] is True
