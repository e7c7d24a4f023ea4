"""What a clip costs: a base price per clip or per seconds, plus what options add.

Every price says where it comes from. Where PiAPI publishes none, the price is unknown
(base_usd None) and a quote's cost is None: nothing here invents a number.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
QUANTUM = Decimal("0.0001")  # video_generations.cost is Numeric(10, 4)
POINTS_PER_USD = 10_000_000  # PiAPI's meta.usage points (REFERENCE.md)


class PriceSource(enum.StrEnum):
    """Where a price comes from; only PUBLISHED and SPEC are not estimates."""

    PUBLISHED = "published"  # PiAPI's own documentation
    SPEC = "spec"  # the product spec's figure for this model
    INFERRED = "inferred"  # worked out from usage points PiAPI reported
    THIRD_PARTY = "third_party"  # someone else's copy of PiAPI's price, unverified
    UNPUBLISHED = "unpublished"  # PiAPI publishes none: the price is unknown


ESTIMATES = frozenset({PriceSource.INFERRED, PriceSource.THIRD_PARTY, PriceSource.UNPUBLISHED})


@dataclass(frozen=True, slots=True)
class Surcharge:
    """USD added to the base rate when option has value (e.g. enable_audio true)."""

    option: str
    value: Any
    usd: Decimal


@dataclass(frozen=True, slots=True)
class Price:
    """A mode's price: base_usd per clip (per_s None) or per per_s seconds of video."""

    base_usd: Decimal | None
    source: PriceSource
    note: str
    per_s: int | None = None
    surcharges: tuple[Surcharge, ...] = ()

    @property
    def estimate(self) -> bool:
        """True unless PiAPI (or the spec) states this price."""
        return self.source in ESTIMATES

    @property
    def unit(self) -> str:
        """ "clip" or "seconds" (then per_s says how many)."""
        return "clip" if self.per_s is None else "seconds"

    def cost(self, clip_s: int, options: Mapping[str, Any]) -> Decimal | None:
        """USD for one clip of clip_s seconds with these option values; None when unknown."""
        if self.base_usd is None:
            return None
        rate = self.base_usd + sum(
            (s.usd for s in self.surcharges if options.get(s.option) == s.value), Decimal(0)
        )
        units = Decimal(1) if self.per_s is None else Decimal(clip_s) / Decimal(self.per_s)
        return (rate * units).quantize(QUANTUM)


def published(base: str, note: str, *, per_s: int | None = None, **extra: Any) -> Price:
    """A price PiAPI documents."""
    return Price(Decimal(base), PriceSource.PUBLISHED, note, per_s=per_s, **extra)


def unpublished(note: str) -> Price:
    """A model PiAPI publishes no price for: every quote is unknown."""
    return Price(None, PriceSource.UNPUBLISHED, note)


def surcharge(option: str, value: Any, usd: str) -> Surcharge:
    """USD an option's value adds to the base rate."""
    return Surcharge(option, value, Decimal(usd))


def usd_from_points(points: int) -> Decimal:
    """PiAPI's usage points in USD, to the cent's hundredth."""
    return (Decimal(points) / POINTS_PER_USD).quantize(QUANTUM)


def format_usd(amount: Decimal | None) -> str:
    """$0.20 (two decimals, more only where the amount has them); "an unknown price" for None."""
    if amount is None:
        return "an unknown price"
    shown = amount.quantize(CENT) if amount == amount.quantize(CENT) else amount.normalize()
    return f"${shown}"
