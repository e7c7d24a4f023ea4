"""The catalogue as a whole: the ids clients use, and rows that agree with PiAPI's facts
(the sandbox's rules hold them apart from the catalogue: runtimes and what a task costs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from providers.catalogue import (
    BY_KEY,
    CATALOGUE,
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    OptionKind,
    PriceSource,
)
from providers.prompts import build_task_request
from providers.sandbox.rules import POINTS_PER_USD, RUNTIME_S, check_request
from tests.bodies import PROVIDER_IDS

IDS = PROVIDER_IDS
ROW_MODES = [(m.key, mode) for m in CATALOGUE for mode in m.modes]


def test_the_catalogue_holds_exactly_the_ids_clients_use() -> None:
    assert set(BY_KEY) == IDS
    assert len(CATALOGUE) == len(IDS)


def test_modes_each_model_offers() -> None:
    assert list(BY_KEY["piapi_skyreels"].modes) == [IMAGE_TO_VIDEO]
    assert list(BY_KEY["piapi_sora2"].modes) == [TEXT_TO_VIDEO]
    assert list(BY_KEY["piapi_sora2_pro"].modes) == [TEXT_TO_VIDEO]
    both = IDS - {"piapi_skyreels", "piapi_sora2", "piapi_sora2_pro"}
    assert all(set(BY_KEY[key].modes) == {TEXT_TO_VIDEO, IMAGE_TO_VIDEO} for key in both)


def test_every_option_has_a_default_but_a_lora_type() -> None:
    required = {(m.key, o.name) for m in CATALOGUE for o in m.options if o.required}
    defaulted = [o for m in CATALOGUE for o in m.options if not o.required]

    assert required == {("piapi_wanx_14b_lora", "lora_type")}
    # end_image_url's default is "no last frame" (null); every other default is a value.
    assert all(o.default is not None for o in defaulted if o.name != "end_image_url")


def test_one_option_name_has_one_type_everywhere() -> None:
    kinds: dict[str, set[OptionKind]] = {}
    for model in CATALOGUE:
        for option in model.options:
            kinds.setdefault(option.name, set()).add(option.kind)
    assert all(len(found) == 1 for found in kinds.values()), kinds


def test_defaults_are_valid_values_of_their_options() -> None:
    for model in CATALOGUE:
        for option in model.options:
            if option.default is not None:
                assert option.check(option.default) == option.default, (model.key, option.name)


@pytest.mark.parametrize(("key", "mode"), ROW_MODES)
def test_typical_runtime_is_the_sandboxs(key: str, mode: str) -> None:
    model = BY_KEY[key]
    spec = model.modes[mode]
    base = model.runtime_clip_s or model.clip_lengths_s[0]

    assert model.runtime_for(mode, base) == RUNTIME_S[(model.piapi_model, spec.task_type)]


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda m: m.key)
def test_deadlines_are_generous(model: Any) -> None:
    longest = max(model.runtime_for(mode, model.clip_lengths_s[-1]) for mode in model.modes)

    assert model.deadline_s >= 15 * 60
    assert model.deadline_s >= 2 * longest


@pytest.mark.parametrize(
    ("key", "source"),
    [
        ("piapi_kling_3", PriceSource.PUBLISHED),
        ("piapi_veo3", PriceSource.PUBLISHED),
        ("piapi_veo31_fast", PriceSource.PUBLISHED),
        ("piapi_hailuo", PriceSource.PUBLISHED),
        ("piapi_wanx_14b", PriceSource.PUBLISHED),
        ("piapi_hunyuan_fast", PriceSource.SPEC),
        ("piapi_kling_turbo", PriceSource.INFERRED),
        ("piapi_luma", PriceSource.INFERRED),
        ("piapi_sora2", PriceSource.INFERRED),
        ("piapi_wanx_14b_lora", PriceSource.THIRD_PARTY),
        ("piapi_skyreels", PriceSource.UNPUBLISHED),
        ("piapi_sora2_pro", PriceSource.UNPUBLISHED),
    ],
)
def test_every_price_says_where_it_comes_from(key: str, source: PriceSource) -> None:
    price = next(iter(BY_KEY[key].modes.values())).price

    assert price.source is source
    assert price.note
    assert (price.base_usd is None) is (source is PriceSource.UNPUBLISHED)


def _options_spread(key: str, mode: str) -> list[dict[str, Any]]:
    """The default options, and each priced option at each of its values."""
    model = BY_KEY[key]
    base = {"lora_type": "ghibli"} if key == "piapi_wanx_14b_lora" else {}
    spread = [base]
    for surcharge in model.modes[mode].price.surcharges:
        spread.append({**base, surcharge.option: surcharge.value})
    priced = {s.option: s.value for s in model.modes[mode].price.surcharges}
    if len(priced) > 1:
        spread.append({**base, **priced})
    return spread


@pytest.mark.parametrize(("key", "mode"), ROW_MODES)
def test_the_quote_is_what_piapi_charges(key: str, mode: str) -> None:
    # The sandbox charges PiAPI's published (or inferred) prices, in usage points.
    model = BY_KEY[key]
    for given in _options_spread(key, mode):
        options = model.normalise_options(given, mode)
        for clip_s in model.clip_lengths_s:
            cost = model.cost_for(mode, clip_s, options)
            body = build_task_request(
                model,
                mode=mode,
                task_type=model.modes[mode].task_type,
                prompt="A cat",
                aspect_ratio="16:9",
                clip_s=clip_s,
                image_url="https://x.test/a.jpg" if mode == IMAGE_TO_VIDEO else None,
                options=options,
            )
            charged = Decimal(check_request(body).points) / POINTS_PER_USD
            if cost is None:
                assert model.modes[mode].price.source is PriceSource.UNPUBLISHED
            else:
                assert cost == charged, (key, mode, clip_s, given)
