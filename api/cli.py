"""`flask --app wsgi keys ...`: create, list and revoke API keys."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.accounts import ApiKey, authenticate, ensure_user, issue_key, revoke_key
from models.tiers import TIERS


def register_cli(app: Flask, factory: sessionmaker[Session]) -> None:
    """Add the `keys` command group to app."""
    keys = AppGroup("keys", help="Manage API keys (stored hashed; shown once).")

    @keys.command("create")
    @click.option("--user", "user_id", type=int, required=True, help="User id the key acts as.")
    @click.option("--tier", type=click.Choice(sorted(TIERS)), required=True)
    @click.option("--name", default=None, help="A label, e.g. the client that uses it.")
    def create(user_id: int, tier: str, name: str | None) -> None:
        """Create a key and print it. It cannot be shown again."""
        with factory.begin() as session:
            issued = issue_key(session, ensure_user(session, user_id, tier), name=name)
        click.echo(f"key id {issued.key_id} for user {issued.user_id} ({issued.tier} tier):")
        click.echo(issued.secret)

    @keys.command("list")
    @click.option("--user", "user_id", type=int, default=None)
    def list_keys(user_id: int | None) -> None:
        """List keys (never their secrets)."""
        query = select(ApiKey).order_by(ApiKey.id)
        if user_id is not None:
            query = query.where(ApiKey.user_id == user_id)
        with factory() as session:
            for key in session.scalars(query):
                state = "revoked" if key.revoked_at else "active"
                click.echo(
                    f"{key.id}\tuser {key.user_id}\tvgk_{key.lookup}_…\t{state}\t"
                    f"{key.name or ''}\t{key.created_at:%Y-%m-%d %H:%M}"
                )

    @keys.command("revoke")
    @click.argument("key_id", type=int)
    def revoke(key_id: int) -> None:
        """Revoke a key by id; requests with it get 401 from now on."""
        with factory.begin() as session:
            done = revoke_key(session, key_id)
        if not done:
            raise click.ClickException(f"no active key {key_id}")
        click.echo(f"revoked key {key_id}")

    @keys.command("dev")
    @click.option("--file", "path", type=click.Path(path_type=Path), required=True)
    @click.option("--user", "user_id", type=int, default=1)
    def dev(path: Path, user_id: int) -> None:
        """Print a development key for user 1 (pro), reusing the one saved in --file."""
        saved = path.read_text().strip() if path.exists() else ""
        with factory.begin() as session:
            if not saved or authenticate(session, saved) is None:
                saved = issue_key(session, ensure_user(session, user_id, "pro"), name="dev").secret
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(saved + "\n")
                path.chmod(0o600)
        click.echo(saved)

    app.cli.add_command(keys)
