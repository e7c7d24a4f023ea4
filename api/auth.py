"""Bearer API keys on every /api route, and who the caller is."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, g, request
from sqlalchemy.orm import Session, sessionmaker

from api.errors import APIError
from models.accounts import authenticate

# Routes that authenticate otherwise (PiAPI's shared secret) or are public documentation.
WEBHOOKS = "/api/webhooks/"
PUBLIC = ("/api/openapi.json", "/api/docs", WEBHOOKS)


class UnauthorizedError(APIError):
    status, code = 401, "unauthorized"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: the user whose jobs these are, and their tier."""

    id: int
    tier: str


class KeyCache:
    """Keys that authenticated recently, so a busy client costs no query per request.

    A revoked key, or a user moved to another tier, takes effect within ttl_s (0: every
    request asks the database). Entries are keyed by the key's SHA-256, never the key.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s, self._max, self._clock = ttl_s, max_entries, clock
        self._entries: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threads share one cache

    def get(self, presented: str) -> Principal | None:
        if self._ttl_s <= 0:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        with self._lock:
            hit = self._entries.get(digest)
            if hit is None:
                return None
            if hit[1] <= self._clock():
                del self._entries[digest]
                return None
            return hit[0]

    def put(self, presented: str, principal: Principal) -> None:
        if self._ttl_s <= 0:
            return
        digest = hashlib.sha256(presented.encode()).digest()
        with self._lock:
            self._entries[digest] = (principal, self._clock() + self._ttl_s)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)  # the oldest entry goes first


def current_user() -> Principal:
    """The caller of this request (set by the authentication hook)."""
    return g.principal  # type: ignore[no-any-return]


def install_auth(app: Flask, factory: sessionmaker[Session], *, cache_ttl_s: float) -> None:
    """Require `Authorization: Bearer <key>` on /api routes, answering 401 otherwise."""
    cache = KeyCache(cache_ttl_s)

    @app.before_request
    def _authenticate() -> None:
        path = request.path
        if not path.startswith("/api/") or path.startswith(PUBLIC):
            return
        if request.routing_exception is not None:
            return  # no such route (404) or method (405): nothing to authenticate for
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise UnauthorizedError("Send your API key as `Authorization: Bearer <key>`.")
        presented = presented.strip()
        if (principal := cache.get(presented)) is None:
            # A session of its own: the request's session stays untouched by authentication.
            with factory() as session:
                user = authenticate(session, presented)
            if user is None:
                raise UnauthorizedError("The API key is unknown or revoked.")
            principal = Principal(user.id, user.tier)
            cache.put(presented, principal)
        g.principal = principal


def install_webhook_secret(app: Flask) -> None:
    """Require PiAPI's shared secret on /api/webhooks/ before anything reads the body.

    Install it before the body guards: a caller without the secret learns nothing about
    how we judge a body (and the OpenAPI document need not say what an unauthenticated
    body may hold), it gets a 401.
    """

    @app.before_request
    def _webhook_secret() -> None:
        if not request.path.startswith(WEBHOOKS) or request.routing_exception is not None:
            return
        expected = app.extensions["settings"].piapi_webhook_secret
        sent = request.headers.get("x-webhook-secret", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise UnauthorizedError("Wrong or missing x-webhook-secret.")
