"""Which provider runs a request: the spec's duration rule, a forced choice, the tier's cap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from models.tiers import TIERS
from providers.catalogue import BY_KEY, ModeSpec, OptionsError, ProviderModel, format_usd

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
# Every provider the automatic choice can pick, whatever the duration.
AUTO_CHOICES: tuple[str, ...] = tuple(key for _, key in _DURATION_LADDER)


class SelectionError(Exception):
    """No provider can run this request; the message says why, for the client."""

    field = "provider"


class ModeNotSupportedError(SelectionError):
    """A forced provider cannot do the requested generation mode."""


class TierNotAllowedError(SelectionError):
    """The user's tier may not pay for the provider this request needs."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The provider chosen, the mode it runs, its options, and the clip and price they imply."""

    model: ProviderModel
    spec: ModeSpec
    clip_s: int
    cost: Decimal | None  # None: PiAPI publishes no price for it
    options: Mapping[str, Any]  # every option of the mode, defaults filled in
    allowed: bool  # within the tier's price cap

    @property
    def cost_estimated(self) -> bool:
        """True when the cost is not a price PiAPI (or the spec) states."""
        return self.spec.price.estimate


def within_cap(cost: Decimal | None, tier: str) -> bool:
    """True when the tier may pay cost for one clip; an unknown cost fits no finite cap."""
    cap = TIER_PRICE_CAPS[tier]
    return cap is None or (cost is not None and cost <= cap)


def quote(
    *,
    duration_s: int,
    mode: str,
    tier: str,
    forced: str | None = None,
    options: Mapping[str, Any] | None = None,
    catalogue: Mapping[str, ProviderModel] = BY_KEY,
) -> Selection:
    """The provider a request gets and its price, allowed or not by the tier's cap.

    Raises ModeNotSupportedError for a forced provider without the mode, and
    OptionsError for options the chosen provider does not take.
    """
    if tier not in TIER_PRICE_CAPS:
        raise ValueError(f"unknown tier {tier!r}")
    if forced is not None:
        return _forced(
            catalogue, forced, duration_s=duration_s, mode=mode, tier=tier, given=options
        )

    wanted = next(key for limit, key in _DURATION_LADDER if duration_s <= limit)
    # The spec's pick first, then cheaper rungs of the same ladder, so a capped tier
    # gets the best it may pay for rather than a refusal. Options are checked against
    # the spec's pick; a cheaper rung that does not take them is passed over.
    keys = [key for _, key in _DURATION_LADDER]
    first: Selection | None = None
    for key in reversed(keys[: keys.index(wanted) + 1]):
        model = catalogue[key]
        if mode not in model.modes:
            continue
        try:
            selection = _selection(model, mode, duration_s, options, tier)
        except OptionsError:
            if first is None:
                raise
            continue
        first = first or selection
        if selection.allowed:
            return selection
    if first is None:
        raise ModeNotSupportedError(f"No provider on the automatic ladder can do {mode}.")
    return first


def select_provider(
    *,
    duration_s: int,
    mode: str,
    tier: str,
    forced: str | None = None,
    options: Mapping[str, Any] | None = None,
    catalogue: Mapping[str, ProviderModel] = BY_KEY,
) -> Selection:
    """Pick a provider the tier may pay for, or raise SelectionError with a reason to show."""
    chosen = quote(
        duration_s=duration_s,
        mode=mode,
        tier=tier,
        forced=forced,
        options=options,
        catalogue=catalogue,
    )
    if not chosen.allowed:
        raise TierNotAllowedError(
            cap_refusal(chosen, mode=mode, tier=tier, forced=forced is not None)
        )
    return chosen


def cap_refusal(chosen: Selection, *, mode: str, tier: str, forced: bool) -> str:
    """Why the tier may not run chosen, with prices as $0.20."""
    cap = format_usd(TIER_PRICE_CAPS[tier])
    if not forced:
        return f"No provider for {mode} is within the {tier} tier's price cap of {cap}."
    key = chosen.model.key
    if chosen.cost is None:
        return (
            f"{key} has no published price, so the {tier} tier (providers up to {cap} per "
            "clip) may not use it."
        )
    return (
        f"{key} costs {format_usd(chosen.cost)} for this {chosen.clip_s} s {mode} clip; "
        f"the {tier} tier may use providers up to {cap} per clip."
    )


def _forced(
    catalogue: Mapping[str, ProviderModel],
    key: str,
    *,
    duration_s: int,
    mode: str,
    tier: str,
    given: Mapping[str, Any] | None,
) -> Selection:
    model = catalogue[key]
    if mode not in model.modes:
        able = sorted(k for k, m in catalogue.items() if mode in m.modes)
        raise ModeNotSupportedError(
            f"{model.key} cannot do {mode}; providers that can: {', '.join(able)}."
        )
    return _selection(model, mode, duration_s, given, tier)


def _selection(
    model: ProviderModel,
    mode: str,
    duration_s: int,
    given: Mapping[str, Any] | None,
    tier: str,
) -> Selection:
    values = model.normalise_options(given, mode)
    clip_s = model.clip_length_for(duration_s)
    cost = model.cost_for(mode, clip_s, values)
    return Selection(
        model, model.modes[mode], clip_s, cost, MappingProxyType(values), within_cap(cost, tier)
    )
