"""Options, quotes and prices through the API, on real Postgres: a 4xx never writes a row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from models.jobs import Job
from providers.catalogue import BY_KEY
from providers.prompts import max_script_chars
from tests.integration.conftest import SPEC_I2V, SPEC_T2V

KLING = {**SPEC_T2V, "provider": "piapi_kling_3"}
LORA = {**SPEC_T2V, "provider": "piapi_wanx_14b_lora"}


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Job))


def _refused(client, db, body: dict[str, Any], status: int = 422) -> dict[str, Any]:
    before = _count(db)
    resp = client.post("/api/video/generate", json=body)
    assert resp.status_code == status, resp.get_json()
    assert _count(db) == before  # no row on any refusal
    return resp.get_json()["error"]


def test_options_reach_the_job_normalised_and_priced(client, db) -> None:
    body = {**KLING, "options": {"enable_audio": True, "cfg_scale": 1}}

    resp = client.post("/api/video/generate", json=body)

    assert resp.status_code == 202
    job_body = resp.get_json()
    assert job_body["options"] == {
        "mode": "std",
        "enable_audio": True,
        "negative_prompt": "",
        "cfg_scale": 1.0,
        "prefer_multi_shots": False,
    }
    assert (job_body["cost"], job_body["cost_estimated"]) == (0.75, False)
    assert job_body["charged_usd"] is None
    assert (job_body["model_name"], job_body["duration"]) == ("kling-3.0", 5)
    job = db.get(Job, int(job_body["video_id"]))
    assert job.options == job_body["options"]
    assert job.task_type == "video_generation"


def test_a_job_without_options_stores_the_models_defaults(client, db) -> None:
    job_body = client.post("/api/video/generate", json=SPEC_T2V).get_json()

    assert job_body["options"] == {}  # Hunyuan takes none
    veo = client.post(
        "/api/video/generate", json={**SPEC_T2V, "provider": "piapi_veo3_fast", "options": None}
    ).get_json()
    assert veo["options"] == {"generate_audio": False, "resolution": "720p", "negative_prompt": ""}
    assert (veo["cost"], veo["duration"], veo["requested_duration"]) == (0.48, 8, 5)


def test_an_unknown_option_is_a_422_naming_it(client, db) -> None:
    error = _refused(client, db, {**KLING, "options": {"turbo_boost": True}})

    assert error["fields"] == {"options": {"turbo_boost": ["Unknown field."]}}


def test_an_option_the_provider_does_not_take_is_a_422_naming_it(client, db) -> None:
    error = _refused(client, db, {**KLING, "options": {"loop": True, "mode": "pro"}})

    assert list(error["fields"]["options"]) == ["loop"]
    assert "piapi_kling_3 takes no option 'loop'" in error["fields"]["options"]["loop"][0]
    assert "loop" in error["message"]


@pytest.mark.parametrize("options", [{"negative_prompt": "blur"}, {}, None])
def test_options_need_a_provider(client, db, options) -> None:
    # Which provider the automatic choice picks depends on the duration: a body whose
    # options fit one duration and not another could not be described in the document.
    for duration in (5, 30):
        error = _refused(client, db, {**SPEC_T2V, "duration": duration, "options": options})
        assert list(error["fields"]) == ["options"]
        assert "Options need a provider" in error["fields"]["options"][0]
    quote = client.post("/api/video/quote", json={**SPEC_T2V, "options": options})
    assert quote.status_code == 422

    forced = {**SPEC_T2V, "provider": "piapi_wanx_1.3b", "options": {"negative_prompt": "b"}}
    assert client.post("/api/video/generate", json=forced).status_code == 202


def test_a_missing_lora_type_is_a_422(client, db) -> None:
    error = _refused(client, db, {**LORA, "options": {"lora_strength": 0.5}})

    assert list(error["fields"]["options"]) == ["lora_type"]
    assert error["fields"]["options"]["lora_type"][0].startswith("Required by piapi_wanx_14b_lora")
    ok = client.post("/api/video/generate", json={**LORA, "options": {"lora_type": "ghibli"}})
    assert ok.status_code == 202
    assert ok.get_json()["options"]["lora_strength"] == 1.0


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({**KLING, "options": {"cfg_scale": 2}}, "cfg_scale"),
        ({**KLING, "options": {"cfg_scale": "0.5"}}, "cfg_scale"),
        ({**KLING, "options": {"mode": "ultra"}}, "mode"),
        ({**KLING, "options": {"enable_audio": "yes"}}, "enable_audio"),
        ({**KLING, "options": {"end_image_url": "https://x.test/a.jpg"}}, "end_image_url"),
        (
            {**SPEC_I2V, "provider": "piapi_luma", "options": {"end_image_url": "x"}},
            "end_image_url",
        ),
        ({**LORA, "options": {"lora_type": "ghibli", "lora_strength": -1}}, "lora_strength"),
        (
            {**SPEC_I2V, "provider": "piapi_skyreels", "options": {"guidance_scale": 11}},
            "guidance_scale",
        ),
        ({**SPEC_T2V, "provider": "piapi_veo31", "options": {"resolution": "4k"}}, "resolution"),
        (
            {**SPEC_T2V, "provider": "piapi_hailuo", "options": {"expand_prompt": 1}},
            "expand_prompt",
        ),
    ],
)
def test_a_bad_option_value_is_a_422_naming_it(client, db, body, name) -> None:
    error = _refused(client, db, body)

    assert list(error["fields"]["options"]) == [name]


@pytest.mark.parametrize("options", ["fast", 5, ["mode"]])
def test_options_must_be_an_object(client, db, options) -> None:
    error = _refused(client, db, {**KLING, "options": options})

    assert "options" in error["fields"]


def test_a_script_too_long_for_the_model_is_a_422_on_script(client, db) -> None:
    limit = max_script_chars(BY_KEY["piapi_hailuo"])
    hailuo = {**SPEC_T2V, "provider": "piapi_hailuo"}

    error = _refused(client, db, {**hailuo, "script": "x" * (limit + 1)})

    assert f"at most {limit} characters" in error["fields"]["script"][0]
    assert "prompts of at most 2000" in error["fields"]["script"][0]
    for style in ("marketing", "educational", "social"):  # one limit, whatever the style
        body = {**hailuo, "style": style, "script": "x" * limit}
        assert client.post("/api/video/quote", json=body).status_code == 200


def test_an_unpublished_price_is_null_and_an_estimate(client) -> None:
    body = client.post(
        "/api/video/generate", json={**SPEC_I2V, "provider": "piapi_skyreels"}
    ).get_json()

    assert (body["cost"], body["cost_estimated"]) == (None, True)


def test_the_403_formats_prices_in_dollars_and_names_the_provider(make_client, db) -> None:
    free = make_client(user_id=31, tier="free")

    error = _refused(free, db, {**SPEC_T2V, "provider": "piapi_luma"}, status=403)

    assert error["code"] == "provider_not_allowed"
    assert error["message"] == (
        "piapi_luma costs $0.20 for this 5 s text_to_video clip; the free tier may use "
        "providers up to $0.12 per clip."
    )
    assert error["fields"] == {"provider": [error["message"]]}
    unknown = _refused(free, db, {**SPEC_I2V, "provider": "piapi_skyreels"}, status=403)
    assert "no published price" in unknown["message"]


def test_a_swapped_aspect_ratio_is_said_in_the_notice(client) -> None:
    body = client.post("/api/video/generate", json={**SPEC_T2V, "aspect_ratio": "21:9"}).get_json()

    assert body["aspect_ratio"] == "16:9"
    assert body["notice"] == "piapi_hunyuan_fast does not take aspect ratio 21:9; it runs at 16:9."


# --- POST /api/video/quote ----------------------------------------------------------


def _quote(client, db, body: dict[str, Any]) -> Any:
    before = _count(db)
    resp = client.post("/api/video/quote", json=body)
    assert _count(db) == before  # a quote never makes a job
    return resp


def test_a_quote_prices_the_choice_without_a_job(client, db, enqueued) -> None:
    resp = _quote(client, db, {**KLING, "options": {"enable_audio": True}})

    assert resp.status_code == 200
    assert resp.get_json() == {
        "provider": "piapi_kling_3",
        "model_name": "kling-3.0",
        "task_type": "video_generation",
        "generation_mode": "text_to_video",
        "requested_duration": 5,
        "duration": 5,
        "aspect_ratio": "16:9",
        "options": {
            "mode": "std",
            "enable_audio": True,
            "negative_prompt": "",
            "cfg_scale": 0.5,
            "prefer_multi_shots": False,
        },
        "cost": 0.75,
        "cost_estimated": False,
        "price_source": "published",
        "notice": None,
        "allowed": True,
        "not_allowed_reason": None,
        "tier": "pro",
        "price_cap_usd": None,
    }
    assert enqueued == []


@pytest.mark.parametrize(
    ("body", "cost", "estimated"),
    [
        ({**SPEC_T2V, "provider": "piapi_veo3_fast"}, 0.48, False),
        (
            {**SPEC_T2V, "provider": "piapi_veo3_fast", "options": {"generate_audio": True}},
            0.72,
            False,
        ),
        ({**SPEC_T2V, "provider": "piapi_sora2", "duration": 4}, 0.32, True),
        ({**SPEC_T2V, "provider": "piapi_hailuo"}, 0.20, False),
        ({**SPEC_I2V, "provider": "piapi_skyreels"}, None, True),
        (SPEC_T2V, 0.03, False),
    ],
)
def test_quotes(client, db, body, cost, estimated) -> None:
    quote = _quote(client, db, body).get_json()

    assert (quote["cost"], quote["cost_estimated"]) == (cost, estimated)


def test_a_quote_over_the_tier_cap_says_why_instead_of_refusing(make_client, db) -> None:
    free = make_client(user_id=32, tier="free")

    quote = _quote(free, db, {**SPEC_T2V, "provider": "piapi_veo3"}).get_json()

    assert (quote["allowed"], quote["cost"], quote["price_cap_usd"]) == (False, 0.96, 0.12)
    assert quote["not_allowed_reason"].startswith("piapi_veo3 costs $0.96")
    within = _quote(free, db, SPEC_T2V).get_json()
    assert (within["allowed"], within["not_allowed_reason"]) == (True, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**KLING, "options": {"bogus": 1}}, "options"),
        ({**LORA, "options": {}}, "options"),
        ({**SPEC_I2V, "provider": "piapi_sora2"}, "provider"),
        ({**SPEC_T2V, "generation_mode": "x"}, "generation_mode"),
    ],
)
def test_a_quote_validates_like_generate(client, db, body, field) -> None:
    resp = _quote(client, db, body)

    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_a_quote_needs_a_json_body(client) -> None:
    assert client.post("/api/video/quote").status_code == 415
