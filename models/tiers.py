"""What each tier may do: the price of one clip it may pay, and how many jobs at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier's limits. price_cap_usd None means any provider."""

    name: str
    price_cap_usd: Decimal | None
    max_in_flight: int


TIERS: Mapping[str, Tier] = MappingProxyType(
    {
        "free": Tier("free", Decimal("0.12"), max_in_flight=2),
        "pro": Tier("pro", None, max_in_flight=50),
        # For a service that submits in bulk (and the chaos run): no cap that bites.
        "enterprise": Tier("enterprise", None, max_in_flight=100_000),
    }
)
