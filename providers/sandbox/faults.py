"""Fault injection for the sandbox: PiAPI's bad days, on demand and at a chosen rate."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("500", "429", "hang", "malformed")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Per endpoint ("create", "get"), the share of calls answered with each fault.

    500 and 429 come before any task is created (PiAPI refusing); "hang" and
    "malformed" come after (PiAPI accepted, but the answer never arrives whole).
    """

    rates: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    hang_s: float = 35.0  # longer than the client's read timeout
    retry_after_s: int = 2

    @classmethod
    def parse(cls, text: str | None) -> FaultPlan:
        """From JSON: {"create": {"500": 0.05, ...}, "get": {...}, "hang_s": 5}."""
        if not text:
            return cls()
        raw: dict[str, Any] = json.loads(text)
        rates = {
            endpoint: {kind: float(share) for kind, share in shares.items()}
            for endpoint, shares in raw.items()
            if endpoint in ("create", "get")
        }
        for shares in rates.values():
            unknown = set(shares) - set(KINDS)
            if unknown:
                raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {KINDS}")
        return cls(
            rates=rates,
            hang_s=float(raw.get("hang_s", 35.0)),
            retry_after_s=int(raw.get("retry_after_s", 2)),
        )

    def draw(self, endpoint: str, rng: random.Random) -> str | None:
        """The fault for one call to endpoint, or None for a normal answer."""
        roll = rng.random()
        for kind, share in self.rates.get(endpoint, {}).items():
            if roll < share:
                return kind
            roll -= share
        return None
