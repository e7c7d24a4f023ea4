"""Start-up checks of the broker that protect job messages."""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class _ConfigReader(Protocol):
    def config_get(self, pattern: str) -> dict[str, Any]: ...


def redis_eviction_policy_is_safe(client: _ConfigReader) -> bool:
    """False (and a warning) unless Redis is set never to evict keys.

    Redis under memory pressure with an evicting policy drops queued messages,
    and a dropped countdown poll is a job the sweeper has to rescue.
    """
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except Exception as exc:  # noqa: BLE001 - managed Redis may forbid CONFIG
        log.warning(
            "could not read Redis maxmemory-policy (%s); make sure it is noeviction",
            type(exc).__name__,
        )
        return False
    if policy != "noeviction":
        log.warning(
            "Redis maxmemory-policy is %r: under memory pressure it will drop queued "
            "job messages. Set it to noeviction.",
            policy,
        )
        return False
    return True
