"""The request's database access: `g.db`, a Session made on first use, and the bind it uses.

Flask makes `g` from `app.app_ctx_globals_class`, and documents a subclass as the place
for a lazy per-request database handle. Status reads on a pooled connection
(models.db.read_connection) and most status requests need no session at all: making
one for every request and closing it unused was 3 % of a status request's CPU.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask.ctx import _AppCtxGlobals
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

_FACTORY, _BIND = "session_factory", "db_bind"


class RequestGlobals(_AppCtxGlobals):
    """flask.g, whose `db` is the request's Session, made when first read."""

    db: Session

    def __getattr__(self, name: str) -> Any:
        if name != "db":
            return super().__getattr__(name)
        session: Session = current_app.extensions[_FACTORY]()
        self.db = session
        return session


def install_request_db(app: Flask, factory: sessionmaker[Session]) -> None:
    """Give every request a lazy `g.db` from factory, closed (rolled back) at its end."""
    app.app_ctx_globals_class = RequestGlobals
    app.extensions[_FACTORY] = factory
    app.extensions[_BIND] = factory.kw["bind"]

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        if (db := g.pop("db", None)) is not None:
            db.close()  # anything not committed is rolled back here


def request_bind() -> Engine | Connection:
    """What the request's Session would be bound to, without making one."""
    bind: Engine | Connection = current_app.extensions[_BIND]
    return bind
