"""Idempotency, tier limits, cancel, webhook settings, discovery and filters."""

from __future__ import annotations

import datetime as dt

import pytest

from models import jobs
from models.db import utcnow
from models.jobs import Job, Status
from tests.bodies import PROVIDER_IDS
from tests.integration.conftest import SPEC_I2V, SPEC_T2V, mark_polling


def test_a_retried_request_with_the_same_idempotency_key_returns_the_original(
    client, enqueued
) -> None:
    headers = {"Idempotency-Key": "order-17"}
    first = client.post("/api/video/generate", json=SPEC_T2V, headers=headers)
    again = client.post("/api/video/generate", json=SPEC_T2V, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["video_id"] == first.get_json()["video_id"]
    assert again.get_json().keys() == first.get_json().keys()
    assert enqueued == [int(first.get_json()["video_id"])]  # one job, one submission


def test_the_same_key_with_another_body_is_409(client) -> None:
    headers = {"Idempotency-Key": "order-18"}
    client.post("/api/video/generate", json=SPEC_T2V, headers=headers)
    resp = client.post("/api/video/generate", json={**SPEC_T2V, "duration": 6}, headers=headers)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "conflict"


def test_idempotency_keys_belong_to_one_user(make_client) -> None:
    headers = {"Idempotency-Key": "shared"}
    a = make_client(user_id=1).post("/api/video/generate", json=SPEC_T2V, headers=headers)
    b = make_client(user_id=2).post("/api/video/generate", json=SPEC_T2V, headers=headers)
    assert a.status_code == b.status_code == 202
    assert a.get_json()["video_id"] != b.get_json()["video_id"]


def test_a_tier_over_its_in_flight_limit_gets_429_with_retry_after(make_client) -> None:
    free = make_client(user_id=7, tier="free")
    for _ in range(2):
        assert free.post("/api/video/generate", json=SPEC_T2V).status_code == 202

    resp = free.post("/api/video/generate", json=SPEC_T2V)

    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "30"
    assert "2 jobs in flight" in resp.get_json()["error"]["message"]
    # an idempotent replay of an accepted job is not a new job, so it is not limited
    replay = free.post("/api/video/generate", json=SPEC_T2V, headers={"Idempotency-Key": "k"})
    assert replay.status_code == 429


def test_cancel_marks_the_job_canceled_and_asks_piapi(client, messages, session_factory) -> None:
    video_id = int(client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"])
    mark_polling(session_factory, video_id, "t-1")

    resp = client.post(f"/api/video/{video_id}/cancel")

    assert resp.status_code == 200
    assert resp.get_json()["status"] == "canceled"
    assert messages.cancels == [video_id]
    again = client.post(f"/api/video/{video_id}/cancel")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"


def test_cancel_before_submission_needs_no_piapi_call(client, messages) -> None:
    video_id = client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]
    assert client.post(f"/api/video/{video_id}/cancel").status_code == 200
    assert messages.cancels == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://no-such-host.invalid/hook",
        "http://[::ffff:0:127.0.0.1]/hook",  # SIIT
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
        "http://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
    ],
)
def test_webhook_urls_that_reach_inside_are_refused(client, db, url) -> None:
    resp = client.post("/api/video/generate", json={**SPEC_T2V, "webhook_url": url})
    # A well-formed URL we will not call is a 403; an [IPv6] literal is not one the API takes.
    assert resp.status_code == (422 if "[" in url else 403)
    error = resp.get_json()["error"]
    assert error["code"] == ("validation_error" if "[" in url else "webhook_url_refused")
    assert "webhook_url" in error["fields"]


def test_a_refused_webhook_url_does_not_say_where_it_points(client, db) -> None:
    body = {**SPEC_T2V, "webhook_url": "http://localhost:9000/hook"}
    resp = client.post("/api/video/generate", json=body)
    assert resp.status_code == 403
    (message,) = resp.get_json()["error"]["fields"]["webhook_url"]
    assert message == (
        "webhook_url is refused: its host resolves to a non-public address."
        " For a receiver on this machine, in development: WEBHOOK_ALLOW_PRIVATE=1."
    )
    assert "127.0.0.1" not in message and "::1" not in message


def test_private_webhook_urls_are_allowed_when_configured(make_client, db) -> None:
    dev = make_client(webhook_allow_private=True)
    body = {**SPEC_T2V, "webhook_url": "http://127.0.0.1:9000/hook", "webhook_events": ["progress"]}
    resp = dev.post("/api/video/generate", json=body)
    assert resp.status_code == 202
    job = db.get(Job, int(resp.get_json()["video_id"]))
    assert (job.webhook_url, job.webhook_events) == ("http://127.0.0.1:9000/hook", ["progress"])


def test_a_requested_deadline_is_the_jobs_deadline(client, db) -> None:
    before = utcnow()
    resp = client.post("/api/video/generate", json={**SPEC_T2V, "deadline_seconds": 120})
    job = db.get(Job, int(resp.get_json()["video_id"]))
    assert (
        before + dt.timedelta(seconds=119) < job.deadline_at < utcnow() + dt.timedelta(seconds=121)
    )
    assert (
        client.post("/api/video/generate", json={**SPEC_T2V, "deadline_seconds": 1}).status_code
        == 422
    )


def test_providers_lists_the_catalogue_with_what_the_tier_may_use(make_client) -> None:
    free = make_client(user_id=8, tier="free").get("/api/providers").get_json()["providers"]
    by_id = {p["provider"]: p for p in free}
    assert set(by_id) == PROVIDER_IDS
    assert by_id["piapi_hunyuan_fast"]["allowed"] and not by_id["piapi_wanx_14b"]["allowed"]
    assert not by_id["piapi_skyreels"]["allowed"]  # an unknown price fits no finite cap
    assert by_id["piapi_wanx_1.3b"]["aspect_ratios"] == ["16:9", "9:16"]
    assert by_id["piapi_luma"]["clip_lengths_s"] == [5, 10]
    assert by_id["piapi_hunyuan_fast"]["modes"]["text_to_video"]["price_usd"] == 0.03
    assert by_id["piapi_skyreels"]["modes"]["image_to_video"]["price_usd"] is None
    pro = make_client(user_id=9, tier="pro").get("/api/providers").get_json()["providers"]
    assert all(p["allowed"] for p in pro)


def test_providers_lists_each_models_options_price_and_limits(client) -> None:
    listed = client.get("/api/providers").get_json()["providers"]
    kling = next(p for p in listed if p["provider"] == "piapi_kling_3")

    assert (kling["label"], kling["family"], kling["piapi_model"]) == (
        "Kling 3.0",
        "Kling",
        "kling",
    )
    assert kling["clip_lengths_s"] == list(range(3, 16))
    assert kling["duration_input"] == "integer"
    assert (kling["typical_runtime_s"], kling["runtime_clip_s"]) == (66.6, 5)
    assert kling["deadline_s"] == 1800
    t2v = kling["modes"]["text_to_video"]
    assert (t2v["task_type"], t2v["model_name"], t2v["price_usd"]) == (
        "video_generation",
        "kling-3.0",
        0.3,
    )
    assert t2v["price"] | {"note": ""} == {
        "unit": "seconds",
        "per_s": 1,
        "base_usd": 0.1,
        "surcharges": [
            {"option": "enable_audio", "value": True, "usd": 0.05},
            {"option": "mode", "value": "pro", "usd": 0.05},
        ],
        "source": "published",
        "estimate": False,
        "note": "",
    }
    options = {o["name"]: o for o in kling["options"]}
    assert list(options) == [
        "mode",
        "enable_audio",
        "negative_prompt",
        "cfg_scale",
        "end_image_url",
        "prefer_multi_shots",
    ]
    assert options["cfg_scale"] | {"description": ""} == {
        "name": "cfg_scale",
        "type": "number",
        "description": "",
        "default": 0.5,
        "required": False,
        "minimum": 0,
        "maximum": 1,
        "choices": [],
        "max_length": None,
        "modes": ["image_to_video", "text_to_video"],
        "piapi_field": "cfg_scale",
    }
    assert options["end_image_url"]["modes"] == ["image_to_video"]
    assert options["end_image_url"]["piapi_field"] == "image_tail_url"
    assert options["mode"]["choices"] == ["std", "pro"]
    assert kling["image_limits"]["formats"] == ["jpeg", "png"]
    assert kling["image_limits"]["min_side_px"] == 301
    lora = next(p for p in listed if p["provider"] == "piapi_wanx_14b_lora")
    lora_type = next(o for o in lora["options"] if o["name"] == "lora_type")
    assert (lora_type["required"], lora_type["default"]) == (True, None)
    assert "ghibli" in lora_type["choices"]
    sky = next(p for p in listed if p["provider"] == "piapi_skyreels")
    assert list(sky["modes"]) == ["image_to_video"]
    assert sky["modes"]["image_to_video"]["price"]["source"] == "unpublished"
    assert sky["modes"]["image_to_video"]["price"]["estimate"] is True
    veo = next(p for p in listed if p["provider"] == "piapi_veo3")
    assert (veo["clip_lengths_s"], veo["duration_input"]) == ([8], "seconds_string")


def test_the_openapi_document_describes_options_and_the_catalogue(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]

    kling = schemas["GenerateImageToVideoOnPiapiKling3"]["properties"]
    assert kling["provider"] == {"type": "string", "enum": ["piapi_kling_3"]}
    options = schemas["PiapiKling3ImageToVideoOptions"]["properties"]
    assert options["enable_audio"]["type"] == "boolean"
    assert options["cfg_scale"]["type"] == "number"
    assert (options["cfg_scale"]["minimum"], options["cfg_scale"]["maximum"]) == (0, 1)
    assert options["end_image_url"]["pattern"].startswith("^[Hh][Tt][Tt][Pp]")
    assert schemas[options["mode"]["allOf"][0]["$ref"].split("/")[-1]]["enum"] == ["std", "pro"]
    assert "nullable" not in options["cfg_scale"]
    assert options["end_image_url"]["nullable"] is True
    # Text-to-video on Kling takes no last frame.
    assert "end_image_url" not in schemas["PiapiKling3TextToVideoOptions"]["properties"]
    assert "/api/video/quote" in spec["paths"]
    assert {"options", "image_limits", "modes", "allowed"} <= set(schemas["Provider"]["properties"])
    assert {"cost_estimated", "charged_usd", "options"} <= set(schemas["Job"]["properties"])


def test_account_shows_tier_limits_and_the_webhook_secret(make_client) -> None:
    body = make_client(user_id=10, tier="free").get("/api/account").get_json()
    assert (body["user_id"], body["tier"], body["max_in_flight"]) == ("10", "free", 2)
    assert body["price_cap_usd"] == 0.12
    assert body["webhook_secret"].startswith("whsec_")


def test_library_filters(client, session_factory) -> None:
    a = client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]
    b = client.post("/api/video/generate", json=SPEC_I2V).get_json()["video_id"]
    c = client.post(
        "/api/video/generate", json={**SPEC_T2V, "campaign_id": "77", "provider": "piapi_luma"}
    ).get_json()["video_id"]
    with session_factory.begin() as s:
        jobs.cancel(s, int(a))

    def ids(query: str) -> list[str]:
        return [
            v["video_id"] for v in client.get(f"/api/video/library?{query}").get_json()["videos"]
        ]

    assert ids("status=canceled") == [a]
    assert ids("generation_mode=image_to_video") == [b]
    assert ids("provider=piapi_luma") == [c]
    assert ids("campaign_id=77") == [c]
    assert ids("status=processing&campaign_id=123") == [b]
    assert client.get("/api/video/library?status=bogus").status_code == 422


def test_piapi_webhook_with_a_wrong_secret_is_refused_and_changes_nothing(
    make_client, messages, session_factory
) -> None:
    client = make_client(piapi_webhook_secret="s3cret")
    video_id = int(client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"])
    mark_polling(session_factory, video_id, "task-x")
    delivery = {"timestamp": 1, "data": {"task_id": "task-x", "status": "completed"}}

    for secret in (None, "wrong", "s3cret "):
        headers = {"x-webhook-secret": secret} if secret is not None else {}
        client.environ_base.pop("HTTP_AUTHORIZATION", None)  # PiAPI sends no API key
        resp = client.post("/api/webhooks/piapi", json=delivery, headers=headers)
        assert resp.status_code == 401
    assert messages.checks == []
    with session_factory() as s:
        assert s.get(Job, video_id).status is Status.PROCESSING

    ok = client.post("/api/webhooks/piapi", json=delivery, headers={"x-webhook-secret": "s3cret"})
    assert ok.status_code == 202
    assert messages.checks == [video_id]  # a signal to poll, not a state change
    with session_factory() as s:
        assert s.get(Job, video_id).status is Status.PROCESSING
