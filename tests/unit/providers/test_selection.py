"""Provider selection: the spec's duration ladder, forced providers, tier price cap."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

import pytest

from providers.catalogue import (
    BY_KEY,
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    DurationInput,
    ModeSpec,
    OptionsError,
    Price,
    PriceSource,
    ProviderModel,
)
from providers.selection import (
    ModeNotSupportedError,
    SelectionError,
    TierNotAllowedError,
    quote,
    select_provider,
    within_cap,
)


@pytest.mark.parametrize(
    ("duration_s", "expected"),
    [
        (1, "piapi_hunyuan_fast"),
        (5, "piapi_hunyuan_fast"),
        (10, "piapi_hunyuan_fast"),
        (11, "piapi_wanx_1.3b"),
        (60, "piapi_wanx_1.3b"),
        (61, "piapi_wanx_14b"),
        (600, "piapi_wanx_14b"),
    ],
)
def test_spec_duration_ladder(duration_s: int, expected: str) -> None:
    chosen = select_provider(duration_s=duration_s, mode=TEXT_TO_VIDEO, tier="pro")

    assert chosen.model.key == expected


@pytest.mark.parametrize(
    ("duration_s", "key", "task_type", "model_name", "cost"),
    [
        (10, "piapi_hunyuan_fast", "fast-txt2video", "hunyuan-fast", "0.03"),
        (30, "piapi_wanx_1.3b", "txt2video-1.3b", "wanx-1.3b", "0.12"),
        (120, "piapi_wanx_14b", "txt2video-14b", "wanx-14b", "0.28"),
    ],
)
def test_ladder_prices_match_the_spec(
    duration_s: int, key: str, task_type: str, model_name: str, cost: str
) -> None:
    chosen = select_provider(duration_s=duration_s, mode=TEXT_TO_VIDEO, tier="pro")

    assert chosen.model.key == key
    assert chosen.spec.task_type == task_type
    assert chosen.spec.model_name == model_name
    assert chosen.clip_s == 5
    assert chosen.cost == Decimal(cost)


def test_forced_provider_overrides_the_ladder() -> None:
    chosen = select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="pro", forced="piapi_wanx_14b")

    assert chosen.model.key == "piapi_wanx_14b"
    assert chosen.cost == Decimal("0.28")


@pytest.mark.parametrize(
    ("duration_s", "mode", "expected", "cost"),
    [
        (61, TEXT_TO_VIDEO, "piapi_wanx_1.3b", "0.12"),  # 14b (0.28) is over the cap
        (30, TEXT_TO_VIDEO, "piapi_wanx_1.3b", "0.12"),  # exactly the cap is allowed
        (5, TEXT_TO_VIDEO, "piapi_hunyuan_fast", "0.03"),
        # Every WanX image-to-video runs 14b at 0.28: step down to Hunyuan (0.09).
        (61, IMAGE_TO_VIDEO, "piapi_hunyuan_fast", "0.09"),
        (30, IMAGE_TO_VIDEO, "piapi_hunyuan_fast", "0.09"),
    ],
)
def test_free_tier_is_stepped_down_the_ladder(
    duration_s: int, mode: str, expected: str, cost: str
) -> None:
    chosen = select_provider(duration_s=duration_s, mode=mode, tier="free")

    assert chosen.model.key == expected
    assert chosen.cost == Decimal(cost)
    assert chosen.cost <= Decimal("0.12")


def test_pro_tier_is_not_stepped_down() -> None:
    chosen = select_provider(duration_s=61, mode=IMAGE_TO_VIDEO, tier="pro")

    assert chosen.model.key == "piapi_wanx_14b"
    assert chosen.cost == Decimal("0.28")


@pytest.mark.parametrize(
    ("forced", "mode", "duration_s"),
    [
        ("piapi_wanx_14b", TEXT_TO_VIDEO, 5),
        ("piapi_luma", TEXT_TO_VIDEO, 5),
        ("piapi_wanx_1.3b", IMAGE_TO_VIDEO, 5),  # runs 14b, so costs 0.28
    ],
)
def test_free_tier_forcing_an_over_cap_provider_is_refused(
    forced: str, mode: str, duration_s: int
) -> None:
    with pytest.raises(TierNotAllowedError) as caught:
        select_provider(duration_s=duration_s, mode=mode, tier="free", forced=forced)

    assert forced in str(caught.value)
    assert "0.12" in str(caught.value)
    assert caught.value.field == "provider"


def test_free_tier_may_force_a_provider_within_the_cap() -> None:
    chosen = select_provider(
        duration_s=5, mode=TEXT_TO_VIDEO, tier="free", forced="piapi_wanx_1.3b"
    )

    assert chosen.model.key == "piapi_wanx_1.3b"
    assert chosen.cost == Decimal("0.12")


def _text_only_catalogue() -> MappingProxyType[str, ProviderModel]:
    price = Price(Decimal("0.01"), PriceSource.PUBLISHED, "fake")
    text_only = ProviderModel(
        key="fake_text_only",
        label="Fake",
        family="Fake",
        piapi_model="Qubico/hunyuan",
        modes=MappingProxyType({TEXT_TO_VIDEO: ModeSpec("fast-txt2video", "fake", price)}),
        aspect_ratios=("16:9",),
        clip_lengths_s=(5,),
        duration_input=DurationInput.NONE,
        image_field="image",
        prompt_template="{style}. {clip}. {script}",
        deadline_s=60,
        typical_runtime_s=10,
    )
    return MappingProxyType({"fake_text_only": text_only, **BY_KEY})


def test_forced_provider_lacking_the_mode_is_refused() -> None:
    catalogue = _text_only_catalogue()

    with pytest.raises(ModeNotSupportedError) as caught:
        select_provider(
            duration_s=5,
            mode=IMAGE_TO_VIDEO,
            tier="pro",
            forced="fake_text_only",
            catalogue=catalogue,
        )

    message = str(caught.value)
    assert "fake_text_only cannot do image_to_video" in message
    assert "piapi_luma" in message  # names providers that can
    assert isinstance(caught.value, SelectionError)


def test_forced_provider_with_the_mode_in_a_fake_catalogue() -> None:
    chosen = select_provider(
        duration_s=5,
        mode=TEXT_TO_VIDEO,
        tier="free",
        forced="fake_text_only",
        catalogue=_text_only_catalogue(),
    )

    assert chosen.model.key == "fake_text_only"
    assert chosen.cost == Decimal("0.01")


def test_wanx_1_3b_image_to_video_runs_14b_with_a_notice() -> None:
    chosen = select_provider(
        duration_s=5, mode=IMAGE_TO_VIDEO, tier="pro", forced="piapi_wanx_1.3b"
    )

    assert chosen.model.key == "piapi_wanx_1.3b"
    assert chosen.spec.task_type == "img2video-14b"
    assert chosen.spec.model_name == "wanx-14b"
    assert chosen.cost == Decimal("0.28")
    assert chosen.spec.notice is not None
    assert "14b" in chosen.spec.notice


def test_no_notice_where_the_named_model_runs() -> None:
    chosen = select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="pro", forced="piapi_wanx_1.3b")

    assert chosen.spec.notice is None


@pytest.mark.parametrize(
    ("duration_s", "clip_s", "cost"),
    [
        (1, 5, "0.20"),
        (5, 5, "0.20"),
        (6, 10, "0.40"),
        (10, 10, "0.40"),
        (60, 10, "0.40"),
    ],
)
def test_luma_clip_length_and_cost(duration_s: int, clip_s: int, cost: str) -> None:
    chosen = select_provider(
        duration_s=duration_s, mode=TEXT_TO_VIDEO, tier="pro", forced="piapi_luma"
    )

    assert chosen.clip_s == clip_s
    assert chosen.cost == Decimal(cost)


@pytest.mark.parametrize("key", ["piapi_hunyuan_fast", "piapi_wanx_1.3b", "piapi_wanx_14b"])
def test_fixed_length_models_always_make_5_seconds(key: str) -> None:
    chosen = select_provider(duration_s=30, mode=TEXT_TO_VIDEO, tier="pro", forced=key)

    assert chosen.clip_s == 5
    assert chosen.cost == BY_KEY[key].modes[TEXT_TO_VIDEO].price.base_usd


@pytest.mark.parametrize(
    ("key", "asked", "expected"),
    [
        ("piapi_wanx_1.3b", "1:1", "16:9"),
        ("piapi_wanx_14b", "4:3", "16:9"),
        ("piapi_wanx_1.3b", "9:16", "9:16"),
        ("piapi_hunyuan_fast", "1:1", "1:1"),
        ("piapi_hunyuan_fast", "21:9", "16:9"),
        ("piapi_luma", "21:9", "21:9"),
    ],
)
def test_aspect_ratio_fallback(key: str, asked: str, expected: str) -> None:
    assert BY_KEY[key].aspect_ratio_for(asked) == expected


def test_unknown_tier_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown tier"):
        select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="platinum")


@pytest.mark.parametrize(
    ("cost", "tier", "expected"),
    [("0.12", "free", True), ("0.1201", "free", False), ("99", "pro", True)],
)
def test_within_cap(cost: str, tier: str, expected: bool) -> None:
    assert within_cap(Decimal(cost), tier) is expected


# --- quotes for the newer models, with options -----------------------------------


@pytest.mark.parametrize(
    ("key", "duration_s", "options", "cost"),
    [
        ("piapi_kling_3", 5, {}, "0.50"),  # 720p (std)
        ("piapi_kling_3", 5, {"enable_audio": True}, "0.75"),
        ("piapi_kling_3", 5, {"mode": "pro"}, "0.75"),  # 1080p
        ("piapi_kling_3", 5, {"mode": "pro", "enable_audio": True}, "1.00"),
        ("piapi_kling_3", 15, {}, "1.50"),
        ("piapi_veo3_fast", 8, {}, "0.48"),
        ("piapi_veo3_fast", 8, {"generate_audio": True}, "0.72"),
        ("piapi_veo3_fast", 8, {"resolution": "1080p"}, "0.48"),
        ("piapi_veo3", 8, {"generate_audio": True}, "1.92"),
        ("piapi_veo31_fast", 8, {}, "0.48"),
        ("piapi_sora2", 4, {}, "0.32"),
        ("piapi_sora2", 12, {}, "0.96"),
        ("piapi_hailuo", 5, {}, "0.20"),
        ("piapi_kling_turbo", 10, {}, "0.56"),
        ("piapi_wanx_14b_lora", 5, {"lora_type": "ghibli"}, "0.28"),
    ],
)
def test_pinned_quotes(key: str, duration_s: int, options: dict[str, object], cost: str) -> None:
    mode = next(iter(BY_KEY[key].modes))
    chosen = select_provider(
        duration_s=duration_s, mode=mode, tier="pro", forced=key, options=options
    )

    assert chosen.cost == Decimal(cost)


def test_hailuo_t2v_01_quote() -> None:
    chosen = select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="pro", forced="piapi_hailuo")

    assert (chosen.spec.model_name, chosen.clip_s, chosen.cost) == (
        "hailuo-t2v-01",
        6,
        Decimal("0.20"),
    )
    assert not chosen.cost_estimated


@pytest.mark.parametrize(
    ("key", "mode"), [("piapi_skyreels", IMAGE_TO_VIDEO), ("piapi_sora2_pro", TEXT_TO_VIDEO)]
)
def test_an_unpublished_price_quotes_null_as_an_estimate(key: str, mode: str) -> None:
    chosen = quote(duration_s=5, mode=mode, tier="pro", forced=key)

    assert chosen.cost is None
    assert chosen.cost_estimated
    assert chosen.allowed  # pro has no cap


def test_an_unknown_price_is_within_no_finite_cap() -> None:
    chosen = quote(duration_s=5, mode=IMAGE_TO_VIDEO, tier="free", forced="piapi_skyreels")

    assert not chosen.allowed
    with pytest.raises(TierNotAllowedError) as caught:
        select_provider(duration_s=5, mode=IMAGE_TO_VIDEO, tier="free", forced="piapi_skyreels")
    assert str(caught.value) == (
        "piapi_skyreels has no published price, so the free tier (providers up to $0.12 per "
        "clip) may not use it."
    )
    assert within_cap(None, "pro") and not within_cap(None, "free")


def test_the_cap_applies_to_the_quote_with_its_options() -> None:
    # Hailuo at $0.20 is over free's $0.12; Kling's audio surcharge counts too.
    with pytest.raises(TierNotAllowedError) as caught:
        select_provider(
            duration_s=3,
            mode=TEXT_TO_VIDEO,
            tier="free",
            forced="piapi_kling_3",
            options={"enable_audio": True},
        )
    assert str(caught.value) == (
        "piapi_kling_3 costs $0.45 for this 3 s text_to_video clip; the free tier may use "
        "providers up to $0.12 per clip."
    )


def test_refusals_format_prices_in_dollars() -> None:
    with pytest.raises(TierNotAllowedError) as caught:
        select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="free", forced="piapi_luma")

    assert "$0.20" in str(caught.value)
    assert "$0.12" in str(caught.value)
    assert "USD" not in str(caught.value)


def test_estimates_are_marked() -> None:
    assert select_provider(
        duration_s=5, mode=TEXT_TO_VIDEO, tier="pro", forced="piapi_luma"
    ).cost_estimated
    assert not select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="pro").cost_estimated


def test_the_quote_keeps_the_normalised_options() -> None:
    chosen = quote(duration_s=5, mode=TEXT_TO_VIDEO, tier="pro", forced="piapi_veo3", options={})

    assert dict(chosen.options) == {
        "generate_audio": False,
        "resolution": "720p",
        "negative_prompt": "",
    }


def test_options_without_a_provider_are_checked_against_the_automatic_choice() -> None:
    chosen = select_provider(
        duration_s=30, mode=TEXT_TO_VIDEO, tier="pro", options={"negative_prompt": "blur"}
    )
    assert chosen.model.key == "piapi_wanx_1.3b"
    assert chosen.options["negative_prompt"] == "blur"

    with pytest.raises(OptionsError) as caught:  # Hunyuan takes no options
        select_provider(duration_s=5, mode=TEXT_TO_VIDEO, tier="pro", options={"loop": True})
    assert list(caught.value.problems) == ["loop"]


def test_a_cheaper_rung_that_does_not_take_the_options_is_passed_over() -> None:
    # free, 61 s image-to-video: WanX 14b and 1.3b (both $0.28) are over the cap, and
    # Hunyuan (within it) takes no negative_prompt: nothing the tier may run fits.
    with pytest.raises(TierNotAllowedError):
        select_provider(
            duration_s=61,
            mode=IMAGE_TO_VIDEO,
            tier="free",
            options={"negative_prompt": "blur"},
        )
    # Without the option the ladder steps down to Hunyuan, as before.
    assert (
        select_provider(duration_s=61, mode=IMAGE_TO_VIDEO, tier="free").model.key
        == "piapi_hunyuan_fast"
    )
