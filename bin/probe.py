"""Tell bin/up which backing services answer: `probe.py postgres|redis|createdb URL`."""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def create_database(url: str) -> None:
    """Create the database named in url if it does not exist (Postgres only)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url.replace("postgresql+psycopg2", "postgresql"))
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "postgres":
        sys.exit(0 if reachable("127.0.0.1", 5432) else 1)
    if what == "redis":
        sys.exit(0 if reachable("127.0.0.1", 6379) else 1)
    if what == "createdb":
        create_database(sys.argv[2])
        sys.exit(0)
    sys.exit(f"unknown probe {what}")
