"""Bearer API keys on every /api route, and who the caller is."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g, request
from sqlalchemy.orm import Session, sessionmaker

from api.errors import APIError
from models.accounts import authenticate

# Routes that authenticate otherwise (PiAPI's shared secret) or are public documentation.
PUBLIC = ("/api/openapi.json", "/api/docs", "/api/webhooks/")


class UnauthorizedError(APIError):
    status, code = 401, "unauthorized"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: the user whose jobs these are, and their tier."""

    id: int
    tier: str


def current_user() -> Principal:
    """The caller of this request (set by the authentication hook)."""
    return g.principal  # type: ignore[no-any-return]


def install_auth(app: Flask, factory: sessionmaker[Session]) -> None:
    """Require `Authorization: Bearer <key>` on /api routes, answering 401 otherwise."""

    @app.before_request
    def _authenticate() -> None:
        path = request.path
        if not path.startswith("/api/") or path.startswith(PUBLIC):
            return
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise UnauthorizedError("Send your API key as `Authorization: Bearer <key>`.")
        # A session of its own: the request's session stays untouched by authentication.
        with factory() as session:
            user = authenticate(session, presented.strip())
        if user is None:
            raise UnauthorizedError("The API key is unknown or revoked.")
        g.principal = Principal(user.id, user.tier)
