"""Users, their tiers, and the API keys they authenticate with (stored hashed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, utcnow
from models.in_flight import create_shards

KEY_PREFIX = "vgk_"


class User(Base):
    """Someone who owns jobs. The tier caps what they may run and how much at once."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tier: Mapped[str] = mapped_column(String(20))
    # Signs outgoing webhooks (Standard Webhooks: "whsec_" + base64 of 32 random bytes).
    webhook_secret: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """One API key. Only its SHA-256 is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    lookup: Mapped[str] = mapped_column(String(16), unique=True)  # public part of the key
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `secret` is the only copy of the key there will ever be."""

    key_id: int
    user_id: int
    tier: str
    secret: str


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _hash(key: str) -> str:
    # API keys carry 190+ bits of randomness: a fast hash is enough, no KDF needed.
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_user(session: Session, user_id: int, tier: str) -> User:
    """The user with this id, created with its in-flight counters or moved to this tier."""
    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, tier=tier, webhook_secret=new_webhook_secret())
        session.add(user)
        session.flush()
        create_shards(session, user_id)
    else:
        user.tier = tier
        session.flush()
    return user


def issue_key(session: Session, user: User, *, name: str | None = None) -> IssuedKey:
    """Create a key for user; the caller shows IssuedKey.secret once and forgets it."""
    lookup = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    key = ApiKey(user_id=user.id, lookup=lookup, key_hash=_hash(secret), name=name)
    session.add(key)
    session.flush()
    return IssuedKey(key.id, user.id, user.tier, secret)


def authenticate(session: Session, presented: str) -> User | None:
    """The user a presented key belongs to, or None if it is unknown or revoked."""
    if not presented.startswith(KEY_PREFIX):
        return None
    lookup = presented[len(KEY_PREFIX) :].split("_", 1)[0]
    row = session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.lookup == lookup, ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    key, user = row
    return user if hmac.compare_digest(key.key_hash, _hash(presented)) else None


def revoke_key(session: Session, key_id: int) -> bool:
    """Revoke a key for good; False if it was unknown or already revoked."""
    done = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(ApiKey.id)
    ).scalar_one_or_none()
    return done is not None
