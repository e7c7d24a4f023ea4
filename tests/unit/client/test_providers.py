"""`videogen providers` and `videogen quote`: the catalogue by family, prices as PiAPI states
them (or "est.", or "not published"), and the quote of a request, against a mocked API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from responses import matchers

from client.exit_codes import OK, REFUSED, USAGE
from client.providers import by_family, durations_text, family_of, price_text
from tests.unit.client.conftest import API, KEY, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")
AUTH = matchers.header_matcher({"Authorization": f"Bearer {KEY}"})


def price(base: float | None, *, per_s: int | None = None, estimate: bool = False, **kw: Any):
    return {
        "unit": "clip" if per_s is None else "seconds",
        "per_s": per_s,
        "base_usd": base,
        "surcharges": kw.get("surcharges", []),
        "source": "unpublished" if base is None else ("inferred" if estimate else "published"),
        "estimate": estimate or base is None,
        "note": "",
    }


def mode(p: dict[str, Any]) -> dict[str, Any]:
    return {"task_type": "x", "model_name": "m", "notice": None, "price": p}


def option(name: str, kind: str, default: Any, *, required: bool = False, modes=None) -> dict:
    return {
        "name": name,
        "type": kind,
        "default": default,
        "required": required,
        "modes": modes or ["image_to_video", "text_to_video"],
    }


KLING_PRICE = price(
    0.10,
    per_s=1,
    surcharges=[
        {"option": "enable_audio", "value": True, "usd": 0.05},
        {"option": "mode", "value": "pro", "usd": 0.05},
    ],
)
# Listed out of the families' order on purpose: the table groups and orders them.
CATALOGUE = {
    "providers": [
        {
            "provider": "piapi_skyreels",
            "family": "Skyreels",
            "modes": {"image_to_video": mode(price(None))},
            "clip_lengths_s": [5],
            "options": [option("guidance_scale", "number", 3.5)],
            "allowed": False,
        },
        {
            "provider": "piapi_kling_3",
            "family": "Kling",
            "modes": {"text_to_video": mode(KLING_PRICE), "image_to_video": mode(KLING_PRICE)},
            "clip_lengths_s": list(range(3, 16)),
            "options": [
                option("mode", "enum", "std"),
                option("enable_audio", "bool", False),
                option("end_image_url", "url", None, modes=["image_to_video"]),
            ],
            "allowed": True,
        },
        {
            "provider": "piapi_hunyuan_fast",
            "family": "Hunyuan",
            "modes": {
                "text_to_video": mode(price(0.03)),
                "image_to_video": mode(price(0.09, estimate=True)),
            },
            "clip_lengths_s": [5],
            "options": [],
            "allowed": True,
        },
        {
            "provider": "piapi_sora2_pro",
            "family": "Sora",
            "modes": {"text_to_video": mode(price(None))},
            "clip_lengths_s": [4, 8, 12],
            "options": [],
            "allowed": False,
        },
        {
            "provider": "piapi_wanx_14b_lora",
            "family": "WanX",
            "modes": {"text_to_video": mode(price(0.28, estimate=True))},
            "clip_lengths_s": [5],
            "options": [option("lora_type", "enum", None, required=True)],
            "allowed": True,
        },
    ]
}


def _row(out: str, provider: str) -> str:
    return next(line for line in out.splitlines() if f" {provider} " in f" {line} ")


def test_providers_table_groups_by_family_with_prices_and_options(mocked_api, capsys) -> None:
    mocked_api.get(f"{API}/api/providers", json=CATALOGUE, match=[AUTH])

    code, out, _ = run_cli(capsys, "providers")

    assert code == OK
    order = [p for p in ("hunyuan", "wanx", "kling", "sora2", "skyreels") if p in out]
    positions = [out.index(f"piapi_{name}") for name in order]
    assert positions == sorted(positions) and len(order) == 5  # Hunyuan, WanX, Kling, ...
    kling = _row(out, "piapi_kling_3")
    assert kling.lstrip().startswith("Kling")  # the family names its first row
    assert "t2v, i2v" in kling and "3-15 s" in kling
    assert "$0.10/s +$0.05 enable_audio +$0.05 mode=pro" in kling
    assert "mode, enable_audio, end_image_url" in kling and "yes" in kling
    hunyuan = _row(out, "piapi_hunyuan_fast")
    assert "t2v $0.03/clip; i2v $0.09/clip est." in hunyuan
    assert "not published" in _row(out, "piapi_sora2_pro")
    assert "4, 8, 12 s" in _row(out, "piapi_sora2_pro")
    assert "over the cap" in _row(out, "piapi_skyreels")
    assert "lora_type*" in _row(out, "piapi_wanx_14b_lora")
    assert "$0.28/clip est." in _row(out, "piapi_wanx_14b_lora")


def test_providers_mode_filters_rows_prices_and_options(mocked_api, capsys) -> None:
    mocked_api.get(f"{API}/api/providers", json=CATALOGUE)

    code, out, _ = run_cli(capsys, "providers", "--mode", "text_to_video")

    assert code == OK
    assert "piapi_skyreels" not in out  # image-to-video only
    assert "end_image_url" not in out  # an image-to-video option
    assert "$0.03/clip" in _row(out, "piapi_hunyuan_fast")
    assert "i2v" not in out


def test_providers_json_is_the_raw_body_and_mode_filters_it(mocked_api, capsys) -> None:
    mocked_api.get(f"{API}/api/providers", json=CATALOGUE)
    mocked_api.get(f"{API}/api/providers", json=CATALOGUE)

    code, out, _ = run_cli(capsys, "providers", "--json")
    assert (code, json.loads(out)) == (OK, CATALOGUE)

    code, out, _ = run_cli(capsys, "providers", "--json", "--mode", "image_to_video")
    ids = [p["provider"] for p in json.loads(out)["providers"]]
    assert (code, ids) == (OK, ["piapi_skyreels", "piapi_kling_3", "piapi_hunyuan_fast"])


@pytest.mark.parametrize(
    ("given", "text"),
    [
        (price(0.03), "$0.03/clip"),
        (price(0.2, per_s=5, estimate=True), "$0.20/5 s est."),
        (KLING_PRICE, "$0.10/s +$0.05 enable_audio +$0.05 mode=pro"),
        (price(None), "not published"),
        (price(0.0125, per_s=1), "$0.0125/s"),
    ],
)
def test_price_text(given, text) -> None:
    assert price_text(given) == text


@pytest.mark.parametrize(
    ("lengths", "text"),
    [([5], "5 s"), ([5, 10], "5, 10 s"), ([3, 4, 5, 6], "3-6 s"), ([4, 8, 12], "4, 8, 12 s")],
)
def test_durations_text(lengths, text) -> None:
    assert durations_text(lengths) == text


def test_family_comes_from_the_api_else_from_the_id() -> None:
    assert family_of({"provider": "piapi_veo31_fast"}) == "Veo"
    assert family_of({"provider": "piapi_kling_turbo"}) == "Kling"
    assert family_of({"provider": "piapi_wanx_14b_lora"}) == "WanX"
    assert family_of({"provider": "piapi_newthing_2"}) == "Newthing"
    assert family_of({"provider": "piapi_x", "family": "Luma"}) == "Luma"
    groups = by_family([{"provider": "piapi_newthing"}, {"provider": "piapi_sora2"}])
    assert [name for name, _ in groups] == ["Sora", "Newthing"]  # unknown families last


QUOTE = {
    "provider": "piapi_kling_3",
    "model_name": "kling",
    "task_type": "video_generation",
    "generation_mode": "text_to_video",
    "requested_duration": 5,
    "duration": 5,
    "aspect_ratio": "16:9",
    "options": {"mode": "std", "enable_audio": True, "negative_prompt": "blurry hands"},
    "cost": 0.75,
    "cost_estimated": False,
    "price_source": "published",
    "notice": None,
    "allowed": True,
    "not_allowed_reason": None,
    "tier": "pro",
    "price_cap_usd": None,
}


def test_quote_sends_the_submit_body_and_prints_the_price(mocked_api, capsys) -> None:
    mocked_api.post(
        f"{API}/api/video/quote",
        json=QUOTE,
        match=[
            AUTH,
            matchers.json_params_matcher(
                {
                    "generation_mode": "text_to_video",
                    "script": "A fox",
                    "provider": "piapi_kling_3",
                    "options": {"enable_audio": True},
                }
            ),
        ],
    )

    code, out, _ = run_cli(
        capsys, "quote", "A fox", "--provider", "piapi_kling_3", "--option", "enable_audio=true"
    )

    assert code == OK
    assert "piapi_kling_3 (kling)" in out and "$0.75" in out and "est." not in out
    assert 'mode=std, enable_audio=true, negative_prompt="blurry hands"' in out
    assert "pro: may run it" in out


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"cost": 0.28, "cost_estimated": True}, "$0.28 est."),
        ({"cost": None, "cost_estimated": True}, "price not published"),
        (
            {"allowed": False, "tier": "free", "not_allowed_reason": "over $0.12 a clip"},
            "free: over $0.12 a clip",
        ),
        ({"duration": 6, "requested_duration": 5}, "6 s (asked 5 s)"),
    ],
)
def test_quote_shows_estimates_unknown_prices_and_the_cap(mocked_api, capsys, changes, shown):
    mocked_api.post(f"{API}/api/video/quote", json=QUOTE | changes)

    code, out, _ = run_cli(capsys, "quote", "A fox")

    assert code == OK and shown in out


def test_quote_with_an_image_file_uploads_nothing(mocked_api, capsys, tmp_path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really")
    mocked_api.post(
        f"{API}/api/video/quote",
        json=QUOTE | {"generation_mode": "image_to_video"},
        match=[
            matchers.json_params_matcher(
                {
                    "generation_mode": "image_to_video",
                    "script": "A fox",
                    "image_url": "https://example.com/quote-only.jpg",
                }
            )
        ],
    )

    code, out, _ = run_cli(capsys, "quote", "A fox", "--image", str(photo), "--json")

    assert code == OK and json.loads(out)["generation_mode"] == "image_to_video"
    assert [call.request.url for call in mocked_api.calls] == [f"{API}/api/video/quote"]


def test_quote_refused_is_exit_3_and_a_missing_image_exit_2(mocked_api, capsys, tmp_path):
    mocked_api.post(
        f"{API}/api/video/quote",
        status=422,
        json={
            "error": {
                "code": "validation_error",
                "message": "These options do not fit the provider: loop.",
                "fields": {"options": {"loop": ["piapi_kling_3 takes no option loop."]}},
            }
        },
    )

    code, _, err = run_cli(
        capsys, "quote", "x", "--provider", "piapi_kling_3", "--option", "loop=1"
    )
    assert code == REFUSED and "options.loop: piapi_kling_3 takes no option loop." in err

    code, _, err = run_cli(capsys, "quote", "x", "--image", str(tmp_path / "missing.jpg"))
    assert code == USAGE and "missing.jpg: no such file" in err
