"""Prices: per clip or per seconds, surcharges by option value, and where each comes from."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.catalogue import PriceSource, format_usd, usd_from_points
from providers.catalogue.pricing import Price, published, surcharge, unpublished


def test_per_clip_price_ignores_the_length() -> None:
    price = published("0.20", "n")

    assert price.cost(6, {}) == Decimal("0.20")
    assert price.unit == "clip"


def test_per_seconds_price_scales_with_the_clip() -> None:
    price = Price(Decimal("0.20"), PriceSource.INFERRED, "n", per_s=5)

    assert price.cost(10, {}) == Decimal("0.40")
    assert price.unit == "seconds"


def test_surcharges_add_for_their_option_value_only() -> None:
    price = published(
        "0.10",
        "n",
        per_s=1,
        surcharges=(surcharge("enable_audio", True, "0.05"), surcharge("mode", "pro", "0.05")),
    )

    assert price.cost(5, {"enable_audio": False, "mode": "std"}) == Decimal("0.50")
    assert price.cost(5, {"enable_audio": True, "mode": "std"}) == Decimal("0.75")
    assert price.cost(5, {"enable_audio": False, "mode": "pro"}) == Decimal("0.75")
    assert price.cost(5, {"enable_audio": True, "mode": "pro"}) == Decimal("1.00")


def test_an_unpublished_price_has_no_cost_and_is_an_estimate() -> None:
    price = unpublished("none")

    assert price.cost(5, {}) is None
    assert price.estimate


@pytest.mark.parametrize(
    ("source", "estimate"),
    [
        (PriceSource.PUBLISHED, False),
        (PriceSource.SPEC, False),
        (PriceSource.INFERRED, True),
        (PriceSource.THIRD_PARTY, True),
        (PriceSource.UNPUBLISHED, True),
    ],
)
def test_which_sources_are_estimates(source: PriceSource, estimate: bool) -> None:
    assert Price(Decimal(1), source, "n").estimate is estimate


@pytest.mark.parametrize(
    ("points", "usd"),
    [(3_200_000, "0.32"), (2_000_000, "0.2"), (0, "0"), (1_234, "0.0001"), (10_000_000, "1")],
)
def test_usage_points_in_usd(points: int, usd: str) -> None:
    assert usd_from_points(points) == Decimal(usd)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("0.2"), "$0.20"),
        (Decimal("0.2000"), "$0.20"),
        (Decimal("0.12"), "$0.12"),
        (Decimal("1.5"), "$1.50"),
        (Decimal("0.0625"), "$0.0625"),
        (None, "an unknown price"),
    ],
)
def test_format_usd(amount: Decimal | None, shown: str) -> None:
    assert format_usd(amount) == shown
