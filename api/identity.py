"""Who is asking. Until API keys exist, every request acts as the configured dev user."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True, slots=True)
class User:
    """The caller: an id that owns jobs, and the tier that caps what they may run."""

    id: int
    tier: str


def current_user() -> User:
    """The user this request acts for (DEV_USER_ID / DEV_USER_TIER)."""
    settings = current_app.extensions["settings"]
    return User(settings.dev_user_id, settings.dev_user_tier)
