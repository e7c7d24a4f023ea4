"""Discovery: the provider catalogue as this user may use it, and the user's account."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint

from api.auth import current_user
from api.schemas import AccountSchema, ProvidersBody
from models.accounts import User
from models.in_flight import count_in_flight
from models.tiers import TIERS
from providers.catalogue import CATALOGUE
from providers.selection import within_cap

blp = Blueprint("account", __name__, url_prefix="/api", description="Catalogue and account")


@blp.route("/providers", methods=["GET"])
@blp.response(200, ProvidersBody)
@blp.alt_response(401, schema="Error", description="401 error")
@blp.alt_response(503, schema="Error", description="503 error")
def providers() -> dict[str, Any]:
    """Every provider: modes, prices, ratios, clip lengths, and whether your tier may use it."""
    tier = current_user().tier
    listed = []
    for model in CATALOGUE:
        listed.append(
            {
                "provider": model.key,
                "piapi_model": model.piapi_model,
                "modes": {
                    mode: {
                        "task_type": spec.task_type,
                        "model_name": spec.model_name,
                        "price_usd": spec.price_usd,
                        "notice": spec.notice,
                    }
                    for mode, spec in model.modes.items()
                },
                "aspect_ratios": list(model.aspect_ratios),
                "clip_lengths_s": list(model.clip_lengths_s),
                "deadline_s": model.deadline_s,
                "allowed": any(
                    within_cap(model.cost_for(mode, model.clip_lengths_s[0]), tier)
                    for mode in model.modes
                ),
            }
        )
    return {"providers": listed}


@blp.route("/account", methods=["GET"])
@blp.response(200, AccountSchema)
@blp.alt_response(401, schema="Error", description="401 error")
@blp.alt_response(503, schema="Error", description="503 error")
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
