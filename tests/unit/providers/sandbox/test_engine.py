"""The PiAPI sandbox: its rules, its clock-driven tasks, and its HTTP face."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from providers.results import Media, RemoteState, parse_task, task_from_envelope
from providers.sandbox.app import create_sandbox_app
from providers.sandbox.engine import (
    FAIL_MARKER,
    ZERO_TIME,
    CancelRefusedError,
    Sandbox,
    TaskNotFoundError,
)
from providers.sandbox.rules import I2V, T2V, RequestRejectedError, check_request
from tests.examples import EXAMPLES

PUBLIC = "http://sandbox.test"
IMAGE = "https://example.com/product.jpg"
NANOS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")

HUNYUAN = {
    "model": "Qubico/hunyuan",
    "task_type": "fast-txt2video",  # 60 s on PiAPI
    "input": {"prompt": "A cat walks on the grass", "aspect_ratio": "16:9"},
}
LUMA = {
    "model": "luma",
    "task_type": "video_generation",  # 191 s on PiAPI
    "input": {
        "prompt": "Fly fishing",
        "aspect_ratio": "16:9",
        "model": "ray-v2",
        "duration": 5,
    },
}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = [1000.0]

    def __call__(self) -> float:
        return self.t[0]

    def advance(self, seconds: float) -> None:
        self.t[0] += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_sandbox(clock: Clock) -> Callable[..., Sandbox]:
    def make(time_scale: float = 0.1) -> Sandbox:
        return Sandbox(public_url=PUBLIC, time_scale=time_scale, clock=clock, rng=random.Random(0))

    return make


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


def _with_prompt(body: dict[str, Any], prompt: str) -> dict[str, Any]:
    return {**body, "input": {**body["input"], "prompt": prompt}}


# --- the engine ---------------------------------------------------------------


def test_task_moves_pending_processing_completed(sandbox: Sandbox, clock: Clock) -> None:
    # time_scale 0.1: 6 s in all, of which 5-20 % (0.3-1.2 s) pending.
    created = sandbox.create(HUNYUAN)
    task_id = created["data"]["task_id"]
    assert created["code"] == 200
    assert created["data"]["status"] == "pending"
    assert created["data"]["output"] is None

    clock.advance(1.25)
    assert sandbox.get(task_id)["data"]["status"] == "processing"

    clock.advance(4.8)
    assert sandbox.get(task_id)["data"]["status"] == "completed"


def test_time_scale_stretches_the_runtime(
    make_sandbox: Callable[..., Sandbox], clock: Clock
) -> None:
    fast, real = make_sandbox(time_scale=0.1), make_sandbox(time_scale=1.0)
    fast_id = fast.create(HUNYUAN)["data"]["task_id"]
    real_id = real.create(HUNYUAN)["data"]["task_id"]

    clock.advance(13)

    assert fast.get(fast_id)["data"]["status"] == "completed"
    assert real.get(real_id)["data"]["status"] == "processing"
    clock.advance(48)
    assert real.get(real_id)["data"]["status"] == "completed"


def test_meta_before_start_has_zero_times_and_no_consumption(sandbox: Sandbox) -> None:
    meta = sandbox.create(HUNYUAN)["data"]["meta"]

    assert NANOS.match(meta["created_at"])
    assert meta["started_at"] == ZERO_TIME
    assert meta["ended_at"] == ZERO_TIME
    assert meta["usage"] == {"type": "point", "frozen": 300_000, "consume": 0}


def test_meta_while_running_and_after_completion(sandbox: Sandbox, clock: Clock) -> None:
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]

    clock.advance(1.25)
    running = sandbox.get(task_id)["data"]["meta"]
    clock.advance(10)
    done = sandbox.get(task_id)["data"]["meta"]

    assert NANOS.match(running["started_at"])
    assert running["ended_at"] == ZERO_TIME
    assert NANOS.match(done["ended_at"])
    assert done["started_at"] < done["ended_at"]
    assert done["usage"]["consume"] == 300_000


def test_qubico_output_is_video_url_once_completed(sandbox: Sandbox, clock: Clock) -> None:
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]
    clock.advance(10)

    envelope = sandbox.get(task_id)

    assert envelope["data"]["output"] == {"video_url": f"{PUBLIC}/media/{task_id}/video.mp4"}
    result = parse_task(task_from_envelope(envelope))
    assert result.state is RemoteState.COMPLETED
    assert result.media.video_url == f"{PUBLIC}/media/{task_id}/video.mp4"


def test_luma_output_shape_before_and_after(sandbox: Sandbox, clock: Clock) -> None:
    pending = sandbox.create(LUMA)["data"]
    task_id = pending["task_id"]
    names = ("video", "video_raw", "thumbnail", "last_frame")
    assert all(pending["output"][name] is None for name in names)
    assert pending["output"]["created_at"] == ZERO_TIME

    clock.advance(20)
    output = sandbox.get(task_id)["data"]["output"]

    base = f"{PUBLIC}/media/{task_id}"
    assert output["video"] == {"url": f"{base}/video.mp4", "width": 320, "height": 180}
    assert output["video_raw"] == {
        "url": f"{base}/video_raw.mp4",
        "width": 320,
        "height": 180,
    }
    assert output["thumbnail"] == {
        "url": f"{base}/thumbnail.jpg",
        "width": 320,
        "height": 180,
    }
    assert output["last_frame"] == {
        "url": f"{base}/last_frame.jpg",
        "width": 320,
        "height": 180,
    }
    assert output["prompt"] == "Fly fishing"


def test_luma_completed_envelope_reads_as_luma_media(sandbox: Sandbox, clock: Clock) -> None:
    task_id = sandbox.create(LUMA)["data"]["task_id"]
    clock.advance(20)

    result = parse_task(task_from_envelope(sandbox.get(task_id)))

    base = f"{PUBLIC}/media/{task_id}"
    assert result.media == Media(
        video_url=f"{base}/video.mp4",
        video_raw_url=f"{base}/video_raw.mp4",
        thumbnail_url=f"{base}/thumbnail.jpg",
        last_frame_url=f"{base}/last_frame.jpg",
        width=320,
        height=180,
    )


def test_fail_marker_fails_the_task_with_code_10000(sandbox: Sandbox, clock: Clock) -> None:
    task_id = sandbox.create(_with_prompt(HUNYUAN, f"A cat {FAIL_MARKER}"))["data"]["task_id"]

    clock.advance(1.25)
    assert sandbox.get(task_id)["data"]["status"] == "processing"  # fails only at the end
    clock.advance(10)
    data = sandbox.get(task_id)["data"]

    assert data["status"] == "failed"
    assert data["error"]["code"] == 10000
    assert data["output"] is None
    assert data["meta"]["usage"]["consume"] == 0
    result = parse_task(data)
    assert result.state is RemoteState.FAILED
    assert result.error_code == "10000"
    assert sandbox.outcome(task_id) == "failed"


def test_without_the_marker_nothing_fails(sandbox: Sandbox, clock: Clock) -> None:
    ids = [sandbox.create(HUNYUAN)["data"]["task_id"] for _ in range(20)]
    clock.advance(10)

    assert {sandbox.get(i)["data"]["status"] for i in ids} == {"completed"}


def test_fail_rate_one_fails_everything(clock: Clock) -> None:
    sandbox = Sandbox(PUBLIC, time_scale=0.1, fail_rate=1.0, clock=clock, rng=random.Random(0))
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]
    clock.advance(10)

    assert sandbox.get(task_id)["data"]["status"] == "failed"


def test_cancel_while_pending(sandbox: Sandbox, clock: Clock) -> None:
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]

    sandbox.cancel(task_id)
    clock.advance(10)

    data = sandbox.get(task_id)["data"]
    assert data["status"] == "failed"
    assert data["error"]["message"] == "task canceled"
    assert sandbox.outcome(task_id) == "canceled"


@pytest.mark.parametrize("after_s", [1.25, 10])
def test_cancel_refused_once_processing_or_done(
    sandbox: Sandbox, clock: Clock, after_s: float
) -> None:
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]
    clock.advance(after_s)
    before = sandbox.get(task_id)["data"]["status"]

    with pytest.raises(CancelRefusedError):
        sandbox.cancel(task_id)

    assert sandbox.get(task_id)["data"]["status"] == before
    assert sandbox.outcome(task_id) == "completed"


def test_unknown_task(sandbox: Sandbox) -> None:
    with pytest.raises(TaskNotFoundError):
        sandbox.get("nope")
    with pytest.raises(TaskNotFoundError):
        sandbox.cancel("nope")


def test_rejected_create_stores_nothing(sandbox: Sandbox) -> None:
    with pytest.raises(RequestRejectedError):
        sandbox.create({**HUNYUAN, "model": "Qubico/kling"})

    assert sandbox.create_calls == 0
    assert sandbox.summary() == []


def test_summary_counts_creates_and_polls(sandbox: Sandbox) -> None:
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]
    sandbox.get(task_id)
    sandbox.get(task_id)

    (row,) = sandbox.summary()
    assert sandbox.create_calls == 1
    assert row["task_id"] == task_id
    assert row["polls"] == 2
    assert row["status"] == "pending"
    sandbox.get(task_id, count=False)  # the sandbox's own read, for a webhook's body
    assert sandbox.summary()[0]["polls"] == 2
    assert row["outcome"] == "completed"


def test_summary_ends_at_is_the_envelopes_ended_at(sandbox: Sandbox, clock: Clock) -> None:
    task_id = sandbox.create(HUNYUAN)["data"]["task_id"]
    (row,) = sandbox.summary()
    clock.advance(sandbox.seconds_until_end(task_id) + 0.001)

    ended = sandbox.get(task_id)["data"]["meta"]["ended_at"]
    assert ended != "0001-01-01T00:00:00Z"
    assert row["ends_at"] == ended  # known before the end: the bench measures lag from it


def test_runtime_spread_draws_each_runtime_within_its_share(clock: Clock) -> None:
    plain = Sandbox(public_url=PUBLIC, time_scale=0.1, clock=clock, rng=random.Random(0))
    spread = Sandbox(
        public_url=PUBLIC, time_scale=0.1, runtime_spread=0.25, clock=clock, rng=random.Random(0)
    )
    nominal = 60 * 0.1  # Hunyuan fast, scaled
    assert plain.seconds_until_end(plain.create(HUNYUAN)["data"]["task_id"]) == nominal
    runtimes = [
        spread.seconds_until_end(spread.create(HUNYUAN)["data"]["task_id"]) for _ in range(50)
    ]
    assert all(nominal * 0.75 <= r <= nominal * 1.25 for r in runtimes)
    assert max(runtimes) - min(runtimes) > nominal * 0.25  # they do vary


def test_envelope_echoes_input_and_webhook_config(sandbox: Sandbox) -> None:
    webhook = {"endpoint": "https://hooks.test/piapi", "secret": "s"}
    data = sandbox.create({**HUNYUAN, "config": {"webhook_config": webhook}})["data"]

    assert data["input"] == HUNYUAN["input"]
    assert data["config"] == {"service_mode": "", "webhook_config": webhook}
    assert (data["model"], data["task_type"]) == ("Qubico/hunyuan", "fast-txt2video")


# --- the rules (what PiAPI accepts) -------------------------------------------


def _body(model: str, task_type: str, /, **task_input: Any) -> dict[str, Any]:
    return {
        "model": model,
        "task_type": task_type,
        "input": {"prompt": "p", **task_input},
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "JSON object"),
        ([], "JSON object"),
        (_body("Qubico/kling", "txt2video"), "unknown model"),
        (_body("Qubico/wanx", "img2video-1.3b", image=IMAGE), "no task_type"),
        (_body("Qubico/hunyuan", "video_generation"), "no task_type"),
        ({"model": "Qubico/hunyuan", "task_type": "txt2video", "input": "p"}, "object"),
        (_body("Qubico/hunyuan", "txt2video", prompt="  "), "prompt"),
        (_body("Qubico/hunyuan", "fast-txt2video", duration=5), "duration"),
        (_body("Qubico/wanx", "txt2video-14b", duration=5), "duration"),
        (_body("Qubico/wanx", "txt2video-1.3b", aspect_ratio="1:1"), "16:9 or 9:16"),
        (_body("Qubico/wanx", "img2video-14b"), "image"),
        (_body("Qubico/hunyuan", "img2video-concat"), "image"),
        (_body("Qubico/hunyuan", "img2video-concat", image="product.jpg"), "image"),
        (_body("Qubico/hunyuan", "txt2video", image=IMAGE), "only for img2video"),
        (_body("luma", "video_generation", duration=7), "5 or 10"),
        (_body("luma", "video_generation", model="ray-v3"), "ray-v1 or ray-v2"),
        (_body("luma", "video_generation", start_image="file:///x.jpg"), "URL"),
    ],
)
def test_rules_reject(body: Any, reason: str) -> None:
    with pytest.raises(RequestRejectedError, match=reason):
        check_request(body)


@pytest.mark.parametrize(
    ("body", "kind", "image"),
    [
        (_body("Qubico/hunyuan", "txt2video"), T2V, None),
        (_body("Qubico/hunyuan", "img2video-replace", image=IMAGE), I2V, IMAGE),
        (_body("Qubico/wanx", "txt2video-1.3b", aspect_ratio="9:16"), T2V, None),
        (_body("luma", "video_generation", duration=10, start_image=IMAGE), T2V, IMAGE),
        (
            _body(
                "luma",
                "video_generation",
                model_name="ray-v1",
                key_frames={"frame0": {"type": "image", "url": IMAGE}},
            ),
            T2V,
            IMAGE,
        ),
    ],
)
def test_rules_accept(body: dict[str, Any], kind: str, image: str | None) -> None:
    accepted = check_request(body)

    assert (accepted.model, accepted.task_type) == (body["model"], body["task_type"])
    assert accepted.kind == kind
    assert accepted.image_url == image


@pytest.mark.parametrize(
    "name",
    [
        "hunyuan_fast-txt2video_request.json",
        "hunyuan_img2video-concat_request.json",
        "hunyuan_txt2video_request.json",
        "luma_video_generation_ray2_start_end_image_request.json",
        "luma_video_generation_request_simple.json",
        "wanx_txt2video-1.3b_request_doc_template.json",
    ],
)
def test_rules_accept_every_published_request_example(name: str) -> None:
    check_request(json.loads((EXAMPLES / name).read_text()))


# --- the HTTP app -------------------------------------------------------------


@pytest.fixture
def http(sandbox: Sandbox) -> FlaskClient:
    return create_sandbox_app(sandbox, api_key="sandbox-key").test_client()


KEY = {"x-api-key": "sandbox-key"}


def _create(http: FlaskClient, body: Any = HUNYUAN) -> str:
    resp = http.post("/api/v1/task", json=body, headers=KEY)
    assert resp.status_code == 200
    return str(resp.get_json()["data"]["task_id"])


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"x-api-key": "wrong"}])
def test_app_refuses_a_missing_or_wrong_key(http: FlaskClient, headers: dict[str, str]) -> None:
    resp = http.post("/api/v1/task", json=HUNYUAN, headers=headers)

    assert resp.status_code == 401
    assert resp.get_json() == {"code": 401, "message": "invalid api key", "data": None}


def test_app_without_a_configured_key_accepts_any_key(sandbox: Sandbox) -> None:
    http = create_sandbox_app(sandbox).test_client()

    assert http.post("/api/v1/task", json=HUNYUAN, headers={"x-api-key": "x"}).status_code == 200
    assert http.post("/api/v1/task", json=HUNYUAN).status_code == 401


def test_app_create_then_get(http: FlaskClient) -> None:
    task_id = _create(http)

    resp = http.get(f"/api/v1/task/{task_id}", headers=KEY)

    assert resp.status_code == 200
    body = resp.get_json()
    assert body["code"] == 200
    assert body["message"] == "success"
    assert body["data"]["task_id"] == task_id
    assert body["data"]["status"] == "pending"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {**HUNYUAN, "input": {**HUNYUAN["input"], "duration": 5}}},
        {"json": {"model": "Qubico/wanx"}},
        {"data": "not json", "content_type": "application/json"},
        {"data": "model=luma"},
    ],
    ids=["duration-to-hunyuan", "no-task-type", "bad-json", "form"],
)
def test_app_bad_body_is_a_400_envelope(
    http: FlaskClient, sandbox: Sandbox, kwargs: dict[str, Any]
) -> None:
    resp = http.post("/api/v1/task", headers=KEY, **kwargs)

    assert resp.status_code == 400
    body = resp.get_json()
    assert body["code"] == 400
    assert body["data"] is None
    assert isinstance(body["message"], str)
    assert body["message"]
    assert sandbox.create_calls == 0


def test_app_unknown_task_is_a_404_envelope(http: FlaskClient) -> None:
    resp = http.get("/api/v1/task/does-not-exist", headers=KEY)

    assert resp.status_code == 404
    assert resp.get_json() == {"code": 404, "message": "task not found", "data": None}


def test_app_cancel_pending_then_refuse(http: FlaskClient) -> None:
    task_id = _create(http)

    first = http.delete(f"/api/v1/task/{task_id}", headers=KEY)
    second = http.delete(f"/api/v1/task/{task_id}", headers=KEY)

    assert first.status_code == 200
    assert first.get_json() == {"code": 200, "message": f"task {task_id} canceled"}
    assert second.status_code == 400
    assert second.get_json()["data"] is None
    assert http.delete("/api/v1/task/nope", headers=KEY).status_code == 404


def test_app_media_serves_an_mp4_for_a_known_task(http: FlaskClient) -> None:
    task_id = _create(http)

    resp = http.get(
        f"/media/{task_id}/video.mp4", buffered=True
    )  # no key: players fetch it directly

    assert resp.status_code == 200
    assert resp.mimetype == "video/mp4"
    assert resp.data[4:8] == b"ftyp"
    assert len(resp.data) > 1000


def test_app_media_supports_range_requests(http: FlaskClient) -> None:
    task_id = _create(http)

    resp = http.get(
        f"/media/{task_id}/video_raw.mp4", headers={"Range": "bytes=0-7"}, buffered=True
    )

    assert resp.status_code == 206
    assert resp.data[4:8] == b"ftyp"
    assert len(resp.data) == 8


@pytest.mark.parametrize("name", ["thumbnail.jpg", "last_frame.jpg"])
def test_app_media_serves_jpegs(http: FlaskClient, name: str) -> None:
    task_id = _create(http, LUMA)

    resp = http.get(f"/media/{task_id}/{name}", buffered=True)

    assert resp.status_code == 200
    assert resp.mimetype == "image/jpeg"
    assert resp.data[:2] == b"\xff\xd8"


@pytest.mark.parametrize("path", ["/media/unknown-task/video.mp4", "/media/{id}/secrets.txt"])
def test_app_media_404(http: FlaskClient, path: str) -> None:
    task_id = _create(http)

    resp = http.get(path.format(id=task_id), buffered=True)

    assert resp.status_code == 404


# --- the plan's limit (SANDBOX_MAX_CONCURRENT_TASKS) ------------------------------


def test_app_refuses_a_create_past_the_plan_limit_until_a_task_ends(
    sandbox: Sandbox, clock: Clock
) -> None:
    sandbox.max_concurrent_tasks = 2
    http = create_sandbox_app(sandbox, api_key="sandbox-key").test_client()
    first, _second = _create(http), _create(http)

    refused = http.post("/api/v1/task", json=HUNYUAN, headers=KEY)

    assert refused.status_code == 429
    assert refused.get_json() == {
        "code": 429,
        "message": "too many tasks at once: the plan allows 2",
        "data": None,
    }
    # time_scale 0.1: each Hunyuan task lasts 6 s, so the first slot frees in 6 s.
    assert refused.headers["Retry-After"] == "6"
    assert sandbox.create_calls == 2
    http.delete(f"/api/v1/task/{first}", headers=KEY)  # a canceled task frees its slot
    _create(http)
    assert http.post("/api/v1/task", json=HUNYUAN, headers=KEY).status_code == 429
    clock.advance(6.1)  # every task has ended
    _create(http)
    _create(http)
    tasks = http.get("/sandbox/tasks").get_json()
    assert (tasks["create_calls"], tasks["refused_over_limit"]) == (5, 2)


def test_without_a_limit_every_valid_create_is_accepted(
    http: FlaskClient, sandbox: Sandbox
) -> None:
    for _ in range(30):
        _create(http)

    assert http.get("/sandbox/tasks").get_json()["refused_over_limit"] == 0
    assert sandbox.max_concurrent_tasks is None
