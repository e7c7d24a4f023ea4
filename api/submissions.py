"""Turning a validated generate request into a job row, priced and with its prompt."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.errors import InvalidRequestError, ProviderNotAllowedError
from api.identity import User
from models.db import utcnow
from models.jobs import Job
from providers.prompts import build_prompt
from providers.selection import (
    ModeNotSupportedError,
    TierNotAllowedError,
    select_provider,
)


def new_job(req: dict[str, Any], user: User) -> Job:
    """A job ready to commit, or an APIError saying why no provider can run it."""
    mode = req["generation_mode"]
    try:
        chosen = select_provider(
            duration_s=req["duration"],
            mode=mode,
            tier=user.tier,
            forced=req["provider"],
        )
    except ModeNotSupportedError as exc:
        raise InvalidRequestError(str(exc), fields={"provider": [str(exc)]}) from exc
    except TierNotAllowedError as exc:
        raise ProviderNotAllowedError(str(exc), fields={"provider": [str(exc)]}) from exc

    model = chosen.model
    now = utcnow()
    return Job(
        user_id=user.id,
        campaign_id=req["campaign_id"],
        provider=model.key,
        model_name=chosen.spec.model_name,
        task_type=chosen.spec.task_type,
        generation_mode=mode,
        prompt=build_prompt(model, style=req["style"], clip_s=chosen.clip_s, script=req["script"]),
        script=req["script"],
        style=req["style"],
        aspect_ratio=model.aspect_ratio_for(req["aspect_ratio"]),
        image_url=req["image_url"],
        requested_duration=req["duration"],
        actual_duration=chosen.clip_s,
        cost=chosen.cost,
        notice=chosen.spec.notice,
        created_at=now,
        updated_at=now,
        deadline_at=now + dt.timedelta(seconds=model.deadline_s),
    )
