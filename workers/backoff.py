"""How long to wait before asking PiAPI again after it could not answer."""

from __future__ import annotations

import random

BASE_S = 2.0
CAP_S = 300.0


def backoff_s(
    retries: int, *, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Exponential backoff with full jitter, never sooner than PiAPI's Retry-After."""
    # The exponent is bounded so a huge retry count cannot overflow a float.
    ceiling = min(CAP_S, BASE_S * 2 ** min(retries, 32))
    wait = (rng or random).uniform(ceiling / 2, ceiling)
    return max(wait, retry_after or 0.0)
