"""Which provider runs a request: the spec's duration rule, a forced choice, the tier's cap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from models.tiers import TIERS
from providers.catalogue import BY_KEY, ModeSpec, ProviderModel

# Highest price per clip each tier may run; None means no cap.
TIER_PRICE_CAPS: Mapping[str, Decimal | None] = MappingProxyType(
    {name: tier.price_cap_usd for name, tier in TIERS.items()}
)

# The spec's auto-selection, cheapest first: (longest requested duration, provider).
_DURATION_LADDER: tuple[tuple[int, str], ...] = (
    (10, "piapi_hunyuan_fast"),
    (60, "piapi_wanx_1.3b"),
    (10**9, "piapi_wanx_14b"),
)


class SelectionError(Exception):
    """No provider can run this request; the message says why, for the client."""

    field = "provider"


class ModeNotSupportedError(SelectionError):
    """A forced provider cannot do the requested generation mode."""


class TierNotAllowedError(SelectionError):
    """The user's tier may not pay for the provider this request needs."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The provider chosen, the mode spec it runs, and the clip and price that implies."""

    model: ProviderModel
    spec: ModeSpec
    clip_s: int
    cost: Decimal


def within_cap(cost: Decimal, tier: str) -> bool:
    """True when the tier may pay cost for one clip."""
    cap = TIER_PRICE_CAPS[tier]
    return cap is None or cost <= cap


def select_provider(
    *,
    duration_s: int,
    mode: str,
    tier: str,
    forced: str | None = None,
    catalogue: Mapping[str, ProviderModel] = BY_KEY,
) -> Selection:
    """Pick a provider, or raise SelectionError with a reason fit to show the client."""
    if tier not in TIER_PRICE_CAPS:
        raise ValueError(f"unknown tier {tier!r}")
    if forced is not None:
        return _forced(catalogue, forced, duration_s=duration_s, mode=mode, tier=tier)

    wanted = next(key for limit, key in _DURATION_LADDER if duration_s <= limit)
    # The spec's pick first, then cheaper rungs of the same ladder, so a capped tier
    # gets the best it may pay for rather than a refusal.
    keys = [key for _, key in _DURATION_LADDER]
    for key in reversed(keys[: keys.index(wanted) + 1]):
        model = catalogue[key]
        if mode in model.modes:
            selection = _selection(model, mode, duration_s)
            if within_cap(selection.cost, tier):
                return selection
    raise TierNotAllowedError(f"No provider for {mode} is within the {tier} tier's price cap.")


def _forced(
    catalogue: Mapping[str, ProviderModel],
    key: str,
    *,
    duration_s: int,
    mode: str,
    tier: str,
) -> Selection:
    model = catalogue[key]
    if mode not in model.modes:
        able = sorted(k for k, m in catalogue.items() if mode in m.modes)
        raise ModeNotSupportedError(
            f"{model.key} cannot do {mode}; providers that can: {', '.join(able)}."
        )
    selection = _selection(model, mode, duration_s)
    cap = TIER_PRICE_CAPS[tier]
    if not within_cap(selection.cost, tier):
        raise TierNotAllowedError(
            f"{model.key} costs {selection.cost} USD per clip for {mode}; the {tier} "
            f"tier may use providers up to {cap} USD."
        )
    return selection


def _selection(model: ProviderModel, mode: str, duration_s: int) -> Selection:
    clip_s = model.clip_length_for(duration_s)
    return Selection(model, model.modes[mode], clip_s, model.cost_for(mode, clip_s))
