"""Discovery: the provider catalogue as this user may use it, and the user's account."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import g
from flask_smorest import Blueprint

from api.auth import current_user
from api.catalogue_schemas import ProvidersBody
from api.errors import documented_errors
from api.schemas import AccountSchema
from models.accounts import User
from models.in_flight import count_in_flight
from models.tiers import TIERS
from providers.catalogue import CATALOGUE, Option, Price, ProviderModel
from providers.selection import within_cap

blp = Blueprint("account", __name__, url_prefix="/api", description="Catalogue and account")


@blp.route("/providers", methods=["GET"])
@blp.response(200, ProvidersBody)
@documented_errors(blp)
def providers() -> dict[str, Any]:
    """Every provider: modes, prices, options, clips, image limits, and whether your tier may."""
    tier = current_user().tier
    return {"providers": [provider_view(model, tier) for model in CATALOGUE]}


def provider_view(model: ProviderModel, tier: str) -> dict[str, Any]:
    """One catalogue row as GET /api/providers lists it for a user of tier."""
    shortest = model.clip_lengths_s[0]
    first_mode = next(iter(model.modes))
    return {
        "provider": model.key,
        "label": model.label,
        "family": model.family,
        "piapi_model": model.piapi_model,
        "modes": {
            mode: {
                "task_type": spec.task_type,
                "model_name": spec.model_name,
                "notice": spec.notice,
                "price_usd": model.cost_for(mode, shortest),
                "price": _price_view(spec.price),
                "typical_runtime_s": model.runtime_for(mode, shortest),
            }
            for mode, spec in model.modes.items()
        },
        "aspect_ratios": list(model.aspect_ratios),
        "clip_lengths_s": list(model.clip_lengths_s),
        "duration_input": model.duration_input.value,
        "deadline_s": model.deadline_s,
        "typical_runtime_s": model.runtime_for(first_mode, shortest),
        "runtime_clip_s": model.runtime_clip_s,
        "options": [_option_view(option) for option in model.options],
        "image_limits": asdict(model.image_limits),
        "max_prompt_chars": model.max_prompt_chars,
        "allowed": any(within_cap(model.cost_for(mode, shortest), tier) for mode in model.modes),
    }


def _price_view(price: Price) -> dict[str, Any]:
    return {
        "unit": price.unit,
        "per_s": price.per_s,
        "base_usd": price.base_usd,
        "surcharges": [
            {"option": s.option, "value": s.value, "usd": s.usd} for s in price.surcharges
        ],
        "source": price.source.value,
        "estimate": price.estimate,
        "note": price.note,
    }


def _option_view(option: Option) -> dict[str, Any]:
    return {
        "name": option.name,
        "type": option.kind.value,
        "description": option.description,
        "default": option.default,
        "required": option.required,
        "minimum": option.minimum,
        "maximum": option.maximum,
        "choices": list(option.choices),
        "max_length": option.max_length,
        "modes": sorted(option.modes),
        "piapi_field": option.piapi_field,
    }


@blp.route("/account", methods=["GET"])
@blp.response(200, AccountSchema)
@documented_errors(blp)
def account() -> dict[str, Any]:
    """Your user id, tier and its limits, jobs in flight, and your webhook signing secret."""
    principal = current_user()
    user = g.db.get_one(User, principal.id)
    tier = TIERS[user.tier]
    return {
        "user_id": user.id,
        "tier": user.tier,
        "price_cap_usd": tier.price_cap_usd,
        "max_in_flight": tier.max_in_flight,
        "in_flight": count_in_flight(g.db, user.id),
        "webhook_secret": user.webhook_secret,
    }
