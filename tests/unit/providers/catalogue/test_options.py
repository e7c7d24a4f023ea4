"""Options: checking a request's values against a row, and writing them where PiAPI reads them."""

from __future__ import annotations

from typing import Any

import pytest

from providers.catalogue import BY_KEY, IMAGE_TO_VIDEO, TEXT_TO_VIDEO, OptionsError
from providers.catalogue.options import Option, OptionKind, Send, apply, normalise, put

KLING = BY_KEY["piapi_kling_3"]
LORA = BY_KEY["piapi_wanx_14b_lora"]


def _problems(key: str, given: dict[str, Any], mode: str = TEXT_TO_VIDEO) -> dict[str, list[str]]:
    with pytest.raises(OptionsError) as caught:
        BY_KEY[key].normalise_options(given, mode)
    return caught.value.problems


def test_defaults_fill_every_option_of_the_mode() -> None:
    assert KLING.normalise_options({}, TEXT_TO_VIDEO) == {
        "mode": "std",
        "enable_audio": False,
        "negative_prompt": "",
        "cfg_scale": 0.5,
        "prefer_multi_shots": False,
    }
    assert KLING.normalise_options(None, IMAGE_TO_VIDEO)["end_image_url"] is None


def test_given_values_are_kept_and_numbers_become_floats() -> None:
    values = KLING.normalise_options({"mode": "pro", "cfg_scale": 1}, TEXT_TO_VIDEO)

    assert values["mode"] == "pro"
    assert values["cfg_scale"] == 1.0
    assert isinstance(values["cfg_scale"], float)


def test_an_option_the_model_does_not_take_is_named() -> None:
    problems = _problems("piapi_hunyuan_fast", {"negative_prompt": "x", "loop": True})

    assert set(problems) == {"negative_prompt", "loop"}
    assert "piapi_hunyuan_fast takes no option 'loop'" in problems["loop"][0]
    assert "its options: none" in problems["loop"][0]


def test_an_option_of_the_other_mode_is_named() -> None:
    problems = _problems("piapi_kling_3", {"end_image_url": "https://x.test/a.jpg"})

    assert problems == {
        "end_image_url": ["Only with generation_mode image_to_video on piapi_kling_3."]
    }


def test_lora_type_is_required_and_lists_the_choices() -> None:
    problems = _problems("piapi_wanx_14b_lora", {"lora_strength": 0.5})

    assert list(problems) == ["lora_type"]
    assert problems["lora_type"][0].startswith("Required by piapi_wanx_14b_lora: one of ghibli")


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems("piapi_kling_3", {"mode": "ultra", "cfg_scale": 2, "bogus": 1})

    assert set(problems) == {"mode", "cfg_scale", "bogus"}
    assert problems["mode"] == ["Must be one of: std, pro."]
    assert problems["cfg_scale"] == ["Must be a number from 0 to 1."]


@pytest.mark.parametrize(
    ("key", "name", "value", "message"),
    [
        ("piapi_kling_3", "enable_audio", 1, "Must be true or false."),
        ("piapi_kling_3", "enable_audio", "true", "Must be true or false."),
        ("piapi_kling_3", "cfg_scale", -0.1, "Must be a number from 0 to 1."),
        ("piapi_kling_3", "cfg_scale", True, "Must be a number from 0 to 1."),
        ("piapi_kling_3", "cfg_scale", "0.5", "Must be a number from 0 to 1."),
        ("piapi_kling_3", "cfg_scale", float("nan"), "Must be a number from 0 to 1."),
        ("piapi_kling_3", "cfg_scale", float("inf"), "Must be a number from 0 to 1."),
        ("piapi_kling_3", "cfg_scale", 10**400, "Must be a number from 0 to 1."),
        ("piapi_kling_3", "negative_prompt", 5, "Must be a string."),
        ("piapi_kling_3", "negative_prompt", "x" * 2001, "Must be at most 2000 characters."),
        ("piapi_kling_3", "negative_prompt", "a\x00b", "Must not contain NUL characters."),
        ("piapi_kling_3", "mode", None, "Must not be null."),
        ("piapi_skyreels", "guidance_scale", 10.5, "Must be a number from 0 to 10."),
        ("piapi_veo3", "resolution", "4k", "Must be one of: 720p, 1080p."),
        ("piapi_wanx_14b_lora", "lora_type", "nsfw-general", "Must be one of: ghibli"),
        ("piapi_wanx_14b_lora", "lora_strength", 1.01, "Must be a number from 0 to 1."),
    ],
)
def test_bad_values_are_named_with_the_rule(key: str, name: str, value: Any, message: str) -> None:
    mode = next(iter(BY_KEY[key].modes))
    given = {"lora_type": "ghibli"} if key == "piapi_wanx_14b_lora" else {}
    problems = _problems(key, {**given, name: value}, mode)

    assert list(problems) == [name]
    assert problems[name][0].startswith(message)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x.test/a.jpg",
        "not a url",
        "https://",
        "https://x.test/a b.jpg",
        "http://[::1",
        7,
        "h" * 2049,
    ],
)
def test_image_url_options_must_be_http_urls(url: Any) -> None:
    problems = _problems("piapi_luma", {"end_image_url": url}, IMAGE_TO_VIDEO)

    assert list(problems) == ["end_image_url"]


def test_a_null_url_option_means_no_last_frame() -> None:
    values = BY_KEY["piapi_luma"].normalise_options({"end_image_url": None}, IMAGE_TO_VIDEO)

    assert values == {"end_image_url": None, "loop": False}


def test_apply_sends_always_options_and_set_ones_only() -> None:
    task_input: dict[str, Any] = {}
    values = KLING.normalise_options({"cfg_scale": 0.5, "negative_prompt": "blur"}, TEXT_TO_VIDEO)

    apply(KLING.options, values, TEXT_TO_VIDEO, task_input)

    # cfg_scale at its default stays out; the always-sent ones go even at their default.
    assert task_input == {
        "mode": "std",
        "enable_audio": False,
        "negative_prompt": "blur",
        "prefer_multi_shots": False,
    }


def test_apply_writes_nested_piapi_fields() -> None:
    task_input: dict[str, Any] = {}
    values = LORA.normalise_options({"lora_type": "pixel-art", "lora_strength": 0}, TEXT_TO_VIDEO)

    apply(LORA.options, values, TEXT_TO_VIDEO, task_input)

    assert task_input == {"lora_settings": [{"lora_type": "pixel-art", "lora_strength": 0.0}]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a", {"a": 1}),
        ("a.b", {"a": {"b": 1}}),
        ("a[1].b", {"a": [{}, {"b": 1}]}),
        ("a[0]", {"a": [1]}),
    ],
)
def test_put_makes_what_is_missing(path: str, expected: dict[str, Any]) -> None:
    target: dict[str, Any] = {}
    put(target, path, 1)
    assert target == expected


def test_put_refuses_a_malformed_path() -> None:
    with pytest.raises(ValueError, match="bad option path"):
        put({}, "a..b", 1)


def test_normalise_works_on_any_declared_options() -> None:
    count = Option("count", OptionKind.INT, "d", "n", default=2, minimum=1, maximum=4)
    flag = Option("flag", OptionKind.BOOL, "d", "f", default=False, send=Send.IF_SET)

    assert normalise("m", (count, flag), {"count": 4}, TEXT_TO_VIDEO) == {"count": 4, "flag": False}
    with pytest.raises(OptionsError) as caught:
        normalise("m", (count,), {"count": 2.0}, TEXT_TO_VIDEO)
    assert caught.value.problems == {"count": ["Must be a whole number from 1 to 4."]}
