"""Prompt text and the exact create-task bodies sent to PiAPI, per provider, mode and options."""

from __future__ import annotations

from typing import Any

import pytest

from providers.catalogue import (
    ASPECT_RATIOS,
    BY_KEY,
    CATALOGUE,
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    Option,
    OptionKind,
)
from providers.prompts import build_prompt, build_task_request
from providers.sandbox.rules import I2V, T2V, check_request
from providers.selection import select_provider

PROMPT = "Professional, engaging marketing video with smooth transitions. 5-second clip. Script: x"
IMAGE = "https://example.com/product.jpg"
LAST = "https://example.com/last.jpg"
LORA = {"lora_type": "ghibli"}


def _body(model: str, task_type: str, /, **task_input: Any) -> dict[str, Any]:
    return {"model": model, "task_type": task_type, "input": {"prompt": PROMPT, **task_input}}


def _veo(key: str, model: str, task_type: str) -> list[tuple[Any, ...]]:
    plain = {
        "aspect_ratio": "16:9",
        "duration": "8s",
        "generate_audio": False,
        "resolution": "720p",
    }
    return [
        (key, TEXT_TO_VIDEO, 8, None, {}, _body(model, task_type, **plain)),
        (key, IMAGE_TO_VIDEO, 8, IMAGE, {}, _body(model, task_type, **plain, image_url=IMAGE)),
        (
            key,
            TEXT_TO_VIDEO,
            8,
            None,
            {"generate_audio": True, "resolution": "1080p", "negative_prompt": "blur"},
            _body(
                model,
                task_type,
                aspect_ratio="16:9",
                duration="8s",
                generate_audio=True,
                resolution="1080p",
                negative_prompt="blur",
            ),
        ),
    ]


KLING_DEFAULTS = {"mode": "std", "enable_audio": False, "prefer_multi_shots": False}
TURBO = {"version": "2.5-turbo", "mode": "pro", "negative_prompt": ""}

# (provider, mode, clip_s, image_url, options asked, the exact body PiAPI must receive)
BODIES: list[tuple[str, str, int, str | None, dict[str, Any], dict[str, Any]]] = [
    (
        "piapi_hunyuan_fast",
        TEXT_TO_VIDEO,
        5,
        None,
        {},
        _body("Qubico/hunyuan", "fast-txt2video", aspect_ratio="16:9"),
    ),
    (
        "piapi_hunyuan_fast",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {},
        _body("Qubico/hunyuan", "img2video-concat", aspect_ratio="16:9", image=IMAGE),
    ),
    (
        "piapi_wanx_1.3b",
        TEXT_TO_VIDEO,
        5,
        None,
        {},
        _body("Qubico/wanx", "txt2video-1.3b", aspect_ratio="16:9"),
    ),
    (
        "piapi_wanx_1.3b",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {"negative_prompt": "blur"},
        _body(
            "Qubico/wanx", "img2video-14b", aspect_ratio="16:9", image=IMAGE, negative_prompt="blur"
        ),
    ),
    (
        "piapi_wanx_14b",
        TEXT_TO_VIDEO,
        5,
        None,
        {},
        _body("Qubico/wanx", "txt2video-14b", aspect_ratio="16:9"),
    ),
    (
        "piapi_wanx_14b",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {},
        _body("Qubico/wanx", "img2video-14b", aspect_ratio="16:9", image=IMAGE),
    ),
    (
        "piapi_wanx_14b_lora",
        TEXT_TO_VIDEO,
        5,
        None,
        LORA,
        _body(
            "Qubico/wanx",
            "txt2video-14b-lora",
            aspect_ratio="16:9",
            lora_settings=[{"lora_type": "ghibli", "lora_strength": 1.0}],
        ),
    ),
    (
        "piapi_wanx_14b_lora",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {"lora_type": "inflate-effect", "lora_strength": 0.6},
        _body(
            "Qubico/wanx",
            "img2video-14b-lora",
            aspect_ratio="16:9",
            image=IMAGE,
            lora_settings=[{"lora_type": "inflate-effect", "lora_strength": 0.6}],
        ),
    ),
    (
        "piapi_skyreels",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {},
        _body("Qubico/skyreels", "img2video", aspect_ratio="16:9", image=IMAGE, guidance_scale=3.5),
    ),
    (
        "piapi_luma",
        TEXT_TO_VIDEO,
        5,
        None,
        {},
        _body(
            "luma", "video_generation", aspect_ratio="16:9", model="ray-v2", duration=5, loop=False
        ),
    ),
    (
        "piapi_luma",
        TEXT_TO_VIDEO,
        10,
        None,
        {"loop": True},
        _body(
            "luma", "video_generation", aspect_ratio="16:9", model="ray-v2", duration=10, loop=True
        ),
    ),
    (
        "piapi_luma",
        IMAGE_TO_VIDEO,
        5,
        IMAGE,
        {},
        _body(
            "luma",
            "video_generation",
            aspect_ratio="16:9",
            model="ray-v2",
            duration=5,
            start_image=IMAGE,
            loop=False,
        ),
    ),
    (
        "piapi_luma",
        IMAGE_TO_VIDEO,
        10,
        IMAGE,
        {"end_image_url": LAST},
        _body(
            "luma",
            "video_generation",
            aspect_ratio="16:9",
            model="ray-v2",
            duration=10,
            start_image=IMAGE,
            end_image=LAST,
            loop=False,
        ),
    ),
    (
        "piapi_kling_3",
        TEXT_TO_VIDEO,
        5,
        None,
        {},
        _body(
            "kling",
            "video_generation",
            aspect_ratio="16:9",
            version="3.0",
            duration=5,
            **KLING_DEFAULTS,
        ),
    ),
    (
        "piapi_kling_3",
        TEXT_TO_VIDEO,
        15,
        None,
        {
            "mode": "pro",
            "enable_audio": True,
            "negative_prompt": "blur",
            "cfg_scale": 0.8,
            "prefer_multi_shots": True,
        },
        _body(
            "kling",
            "video_generation",
            aspect_ratio="16:9",
            version="3.0",
            duration=15,
            mode="pro",
            enable_audio=True,
            negative_prompt="blur",
            cfg_scale=0.8,
            prefer_multi_shots=True,
        ),
    ),
    (
        "piapi_kling_3",
        IMAGE_TO_VIDEO,
        3,
        IMAGE,
        {"end_image_url": LAST},
        _body(
            "kling",
            "video_generation",
            version="3.0",
            duration=3,
            image_url=IMAGE,
            image_tail_url=LAST,
            **KLING_DEFAULTS,
        ),
    ),
    (
        "piapi_kling_turbo",
        TEXT_TO_VIDEO,
        5,
        None,
        {},
        _body(
            "kling-turbo",
            "video_generation",
            aspect_ratio="16:9",
            image_url="",
            duration=5,
            **TURBO,
        ),
    ),
    (
        "piapi_kling_turbo",
        IMAGE_TO_VIDEO,
        10,
        IMAGE,
        {"cfg_scale": 0.2},
        _body(
            "kling-turbo",
            "video_generation",
            image_url=IMAGE,
            duration=10,
            cfg_scale=0.2,
            **TURBO,
        ),
    ),
    (
        "piapi_hailuo",
        TEXT_TO_VIDEO,
        6,
        None,
        {},
        _body("hailuo", "video_generation", model="t2v-01", expand_prompt=False),
    ),
    (
        "piapi_hailuo",
        IMAGE_TO_VIDEO,
        6,
        IMAGE,
        {"expand_prompt": True},
        _body("hailuo", "video_generation", model="i2v-01", image_url=IMAGE, expand_prompt=True),
    ),
    *_veo("piapi_veo3_fast", "veo3", "veo3-video-fast"),
    *_veo("piapi_veo3", "veo3", "veo3-video"),
    *_veo("piapi_veo31_fast", "veo3.1", "veo3.1-video-fast"),
    *_veo("piapi_veo31", "veo3.1", "veo3.1-video"),
    (
        "piapi_sora2",
        TEXT_TO_VIDEO,
        4,
        None,
        {},
        _body("sora2", "sora2-video", aspect_ratio="16:9", duration=4),
    ),
    (
        "piapi_sora2_pro",
        TEXT_TO_VIDEO,
        12,
        None,
        {},
        _body("sora2", "sora2-pro-video", aspect_ratio="16:9", duration=12),
    ),
]
IDS = [f"{b[0]}-{b[1]}-{b[2]}s-{'-'.join(b[4]) or 'defaults'}" for b in BODIES]


def _build(
    key: str, mode: str, clip_s: int, image_url: str | None, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    model = BY_KEY[key]
    return build_task_request(
        model,
        mode=mode,
        task_type=model.modes[mode].task_type,
        prompt=PROMPT,
        aspect_ratio="16:9",
        clip_s=clip_s,
        image_url=image_url,
        # As the job stores them: checked, defaults filled in.
        options=model.normalise_options(options or {}, mode),
    )


def test_every_catalogue_provider_and_mode_has_a_body_case() -> None:
    covered = {(key, mode) for key, mode, *_ in BODIES}

    assert covered == {(m.key, mode) for m in CATALOGUE for mode in m.modes}


@pytest.mark.parametrize(
    ("key", "mode", "clip_s", "image_url", "options", "expected"), BODIES, ids=IDS
)
def test_task_body_is_exactly_what_piapi_documents(
    key: str,
    mode: str,
    clip_s: int,
    image_url: str | None,
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    assert _build(key, mode, clip_s, image_url, options) == expected


@pytest.mark.parametrize(
    ("key", "mode", "clip_s", "image_url", "options", "expected"), BODIES, ids=IDS
)
def test_task_body_is_accepted_by_the_sandbox_rules(
    key: str,
    mode: str,
    clip_s: int,
    image_url: str | None,
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    accepted = check_request(_build(key, mode, clip_s, image_url, options))

    assert accepted.model == expected["model"]
    assert accepted.task_type == expected["task_type"]
    assert accepted.image_url == image_url
    if expected["model"] != "luma":  # luma runs both modes as one task type
        assert accepted.kind == (I2V if mode == IMAGE_TO_VIDEO else T2V)


def _spread(option: Option) -> list[Any]:
    """Values across an option's range: each end, each choice, set and unset."""
    if option.kind is OptionKind.BOOL:
        return [True, False]
    if option.kind is OptionKind.ENUM:
        return list(option.choices)
    if option.kind is OptionKind.NUMBER:
        assert option.minimum is not None and option.maximum is not None
        return [option.minimum, (option.minimum + option.maximum) / 2, option.maximum]
    if option.kind is OptionKind.URL:
        return [LAST, None]
    return ["", "blurry, distorted", "x" * 2000]


SPREAD = [
    (model.key, mode, option.name, value)
    for model in CATALOGUE
    for mode in model.modes
    for option in model.options_for(mode)
    for value in _spread(option)
]


@pytest.mark.parametrize(("key", "mode", "name", "value"), SPREAD)
def test_every_option_value_makes_a_body_piapi_accepts(
    key: str, mode: str, name: str, value: Any
) -> None:
    model = BY_KEY[key]
    given = {**LORA} if any(o.required for o in model.options) else {}
    given[name] = value
    for clip_s in model.clip_lengths_s:
        body = _build(key, mode, clip_s, IMAGE if mode == IMAGE_TO_VIDEO else None, given)
        check_request(body)


@pytest.mark.parametrize("key", ["piapi_hunyuan_fast", "piapi_wanx_1.3b", "piapi_wanx_14b"])
def test_qubico_bodies_carry_the_image_in_input_image_and_no_duration(key: str) -> None:
    body = _build(key, IMAGE_TO_VIDEO, 5, IMAGE)

    assert body["input"]["image"] == IMAGE
    assert "start_image" not in body["input"]
    assert "duration" not in body["input"]
    assert "duration" not in _build(key, TEXT_TO_VIDEO, 5, None)["input"]


@pytest.mark.parametrize(
    ("key", "clip_s", "sent"),
    [
        ("piapi_kling_3", 3, 3),
        ("piapi_kling_3", 15, 15),
        ("piapi_kling_turbo", 10, 10),
        ("piapi_luma", 10, 10),
        ("piapi_sora2", 8, 8),
        ("piapi_veo3_fast", 8, "8s"),
        ("piapi_veo31", 8, "8s"),
    ],
)
def test_duration_goes_in_the_form_each_model_reads(key: str, clip_s: int, sent: Any) -> None:
    duration = _build(key, TEXT_TO_VIDEO, clip_s, None)["input"]["duration"]

    assert duration == sent
    assert type(duration) is type(sent)


@pytest.mark.parametrize("key", ["piapi_hailuo", "piapi_skyreels", "piapi_wanx_14b_lora"])
def test_fixed_clip_models_get_no_duration(key: str) -> None:
    mode = next(iter(BY_KEY[key].modes))
    options = LORA if key == "piapi_wanx_14b_lora" else {}
    body = _build(key, mode, BY_KEY[key].clip_lengths_s[0], IMAGE, options)

    assert "duration" not in body["input"]


def test_an_option_of_another_mode_is_never_sent() -> None:
    # Stored options hold only the mode's own, but a stray value must still not leak.
    model = BY_KEY["piapi_kling_3"]
    body = build_task_request(
        model,
        mode=TEXT_TO_VIDEO,
        task_type="video_generation",
        prompt=PROMPT,
        aspect_ratio="16:9",
        clip_s=5,
        image_url=None,
        options={"end_image_url": LAST},
    )

    assert "image_tail_url" not in body["input"]


def test_a_job_stored_before_options_existed_gets_the_defaults() -> None:
    body = build_task_request(
        BY_KEY["piapi_kling_3"],
        mode=TEXT_TO_VIDEO,
        task_type="video_generation",
        prompt=PROMPT,
        aspect_ratio="16:9",
        clip_s=5,
        image_url=None,
        options=None,
    )

    assert body == _body(
        "kling",
        "video_generation",
        aspect_ratio="16:9",
        version="3.0",
        duration=5,
        **KLING_DEFAULTS,
    )


@pytest.mark.parametrize("clip_s", [5, 10])
def test_luma_body_carries_start_image_duration_and_ray_v2(clip_s: int) -> None:
    body = _build("piapi_luma", IMAGE_TO_VIDEO, clip_s, IMAGE)

    assert body["input"]["start_image"] == IMAGE
    assert "image" not in body["input"]
    assert body["input"]["duration"] == clip_s
    assert body["input"]["model"] == "ray-v2"


def test_text_to_video_ignores_a_stray_image_url() -> None:
    body = _build("piapi_hunyuan_fast", TEXT_TO_VIDEO, 5, IMAGE)

    assert "image" not in body["input"]
    check_request(body)


@pytest.mark.parametrize("image_url", [None, ""])
def test_image_to_video_without_an_image_is_refused(image_url: str | None) -> None:
    with pytest.raises(ValueError, match="image URL"):
        _build("piapi_wanx_14b", IMAGE_TO_VIDEO, 5, image_url)


def test_building_bodies_does_not_mutate_the_catalogue() -> None:
    _build("piapi_luma", IMAGE_TO_VIDEO, 10, IMAGE)
    _build("piapi_wanx_14b_lora", TEXT_TO_VIDEO, 5, None, {"lora_type": "pixel-art"})
    _build("piapi_kling_turbo", TEXT_TO_VIDEO, 5, None)

    assert dict(BY_KEY["piapi_luma"].extra_input) == {"model": "ray-v2"}
    assert dict(BY_KEY["piapi_kling_turbo"].modes[TEXT_TO_VIDEO].extra_input) == {"image_url": ""}
    assert _build("piapi_wanx_14b_lora", TEXT_TO_VIDEO, 5, None, LORA)["input"][
        "lora_settings"
    ] == [{"lora_type": "ghibli", "lora_strength": 1.0}]


@pytest.mark.parametrize(("key", "mode"), [(m.key, mode) for m in CATALOGUE for mode in m.modes])
@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
@pytest.mark.parametrize("duration_s", [1, 5, 6, 9, 600])
def test_every_selectable_request_yields_a_body_piapi_accepts(
    key: str, mode: str, ratio: str, duration_s: int
) -> None:
    # The path api/submissions.py and workers/submission.py take, end to end.
    options = LORA if key == "piapi_wanx_14b_lora" else {}
    chosen = select_provider(
        duration_s=duration_s, mode=mode, tier="pro", forced=key, options=options
    )
    model = chosen.model
    prompt = build_prompt(model, style="social", clip_s=chosen.clip_s, script="A cat")
    body = build_task_request(
        model,
        mode=mode,
        task_type=chosen.spec.task_type,
        prompt=prompt,
        aspect_ratio=model.aspect_ratio_for(ratio),
        clip_s=chosen.clip_s,
        image_url=IMAGE if mode == IMAGE_TO_VIDEO else None,
        options=chosen.options,
    )

    check_request(body)


# (provider, style, clip_s, exact prompt)
PROMPTS = [
    (
        "piapi_hunyuan_fast",
        "marketing",
        5,
        "Professional, engaging marketing video with smooth transitions. "
        "Duration: 5s. Script: Launch day",
    ),
    (
        "piapi_hunyuan_fast",
        "educational",
        5,
        "Clear, informative educational video with clean visuals. Duration: 5s. Script: Launch day",
    ),
    (
        "piapi_hunyuan_fast",
        "social",
        5,
        "Dynamic, eye-catching social media video optimized for mobile. "
        "Duration: 5s. Script: Launch day",
    ),
    (
        "piapi_wanx_1.3b",
        "marketing",
        5,
        "Professional, engaging marketing video with smooth transitions. "
        "5-second clip. Script: Launch day",
    ),
    (
        "piapi_wanx_14b",
        "educational",
        5,
        "Clear, informative educational video with clean visuals. "
        "5-second clip. Script: Launch day",
    ),
    (
        "piapi_luma",
        "social",
        10,
        "Dynamic, eye-catching social media video optimized for mobile. "
        "10-second clip. Script: Launch day",
    ),
]


@pytest.mark.parametrize(("key", "style", "clip_s", "expected"), PROMPTS)
def test_build_prompt_exact_text(key: str, style: str, clip_s: int, expected: str) -> None:
    prompt = build_prompt(BY_KEY[key], style=style, clip_s=clip_s, script="  Launch day\n")

    assert prompt == expected


def test_build_prompt_keeps_the_script_verbatim_inside() -> None:
    script = 'Say "hi" {not a field} 100%'

    prompt = build_prompt(BY_KEY["piapi_wanx_14b"], style="marketing", clip_s=5, script=script)

    assert prompt.endswith(f"Script: {script}")


def test_build_prompt_unknown_style_is_an_error() -> None:
    with pytest.raises(KeyError):
        build_prompt(BY_KEY["piapi_luma"], style="cinematic", clip_s=5, script="x")
