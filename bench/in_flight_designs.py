"""One tenant's accept transactions from N threads on a durable Postgres, per in-flight design.

The comparison behind migration 0010, at the database alone (no HTTP, no Python web
stack): `python -m bench.in_flight_designs OLD_CHECKOUT` where OLD_CHECKOUT holds a
commit from before 0010 (`git archive dde2ddb | tar -x -C /tmp/before`), for the
users.in_flight schema. Each design runs in turn, in alternating rounds:

- insert: the job's INSERT and COMMIT alone, nothing counted (its insert trigger dropped).
- baseline-app: bench/baseline_app.py's INSERT: counted by the trigger, all in shard 0.
- users-row (0004): SELECT users.in_flight FOR UPDATE; INSERT (trigger +1 on users); COMMIT.
- shards (0010): lock a shard with room, SKIP LOCKED (else wait for one); INSERT; COMMIT.
- async-counter: SET LOCAL synchronous_commit = off; conditional UPDATE +1 of one counter
  row; COMMIT (no wait for the disk); INSERT (no insert trigger); COMMIT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg2

from bench.common import say
from bench.generate_quick import DurablePostgres
from tests.stack import ROOT, VENV_BIN

LIMIT = 10**9  # never reached: this measures the check's cost, not refusals
_INSERT = """
INSERT INTO video_generations (user_id, provider, model_name, task_type, generation_mode,
  prompt, script, style, aspect_ratio, requested_duration, actual_duration, cost, status,
  phase, progress, poll_count, submit_attempts, storage_attempts, created_at, updated_at,
  deadline_at{columns})
VALUES (1, 'piapi_hunyuan_fast', 'hunyuan-fast', 'fast-txt2video', 'text_to_video', 'p', 's',
  'social', '16:9', 5, 5, 0.03, 'processing', 'queued', 0, 0, 0, 0, now(), now(),
  now() + interval '1 day'{values})
RETURNING id
"""
_QUOTA = "%(base)s + CASE WHEN {t}.shard < %(extra)s THEN 1 ELSE 0 END"
_WITH_ROOM = (
    f"user_id = 1 AND count < {_QUOTA.format(t='s')} AND NOT EXISTS (SELECT 1 FROM "
    f"user_in_flight_shards o WHERE o.user_id = 1 AND o.count > {_QUOTA.format(t='o')})"
)
_FREE = (
    f"SELECT shard FROM user_in_flight_shards s WHERE {_WITH_ROOM} "
    "ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_ROOMY = f"SELECT shard FROM user_in_flight_shards s WHERE {_WITH_ROOM} ORDER BY random() LIMIT 1"
_THIS = (
    f"SELECT shard FROM user_in_flight_shards s WHERE {_WITH_ROOM} AND shard = %(shard)s FOR UPDATE"
)
_QUOTAS = {"base": LIMIT // 16, "extra": LIMIT % 16}

Cursor = Any


def _insert(cur: Cursor, shard: int | None = None) -> None:
    extra = ("", "") if shard is None else (", in_flight_shard", f", {int(shard)}")
    cur.execute(_INSERT.format(columns=extra[0], values=extra[1]))
    cur.connection.commit()


def _users_row(cur: Cursor) -> None:
    cur.execute("SELECT in_flight FROM users WHERE id = 1 FOR UPDATE")
    assert cur.fetchone()[0] < LIMIT
    _insert(cur)


def _shards(cur: Cursor) -> None:
    while True:  # models/in_flight.py's way while shards have room
        cur.execute(_FREE, _QUOTAS)
        if (row := cur.fetchone()) is not None:
            return _insert(cur, row[0])
        cur.connection.rollback()
        cur.execute(_ROOMY, _QUOTAS)
        cur.execute(_THIS, {**_QUOTAS, "shard": cur.fetchone()[0]})
        if (row := cur.fetchone()) is not None:
            return _insert(cur, row[0])
        cur.connection.rollback()


def _async_counter(cur: Cursor) -> None:
    cur.execute("SET LOCAL synchronous_commit = off")
    cur.execute(
        "UPDATE user_in_flight_shards SET count = count + 1"
        " WHERE user_id = 1 AND shard = 0 AND count < %s RETURNING shard",
        (LIMIT,),
    )
    assert cur.fetchone() is not None
    cur.connection.commit()
    _insert(cur)


def _database(admin: str, name: str, checkout: Path, statements: Sequence[str]) -> str:
    conn = psycopg2.connect(admin + "postgres")
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    subprocess.run(
        [str(VENV_BIN / "alembic"), "upgrade", "head"],
        cwd=checkout,
        env={
            **os.environ,
            "DATABASE_URL": f"postgresql+psycopg2://{admin.removeprefix('postgresql://')}{name}",
            "PYTHONPATH": str(checkout),
        },
        check=True,
        capture_output=True,
    )
    conn = psycopg2.connect(admin + name)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(
        "INSERT INTO users (id, tier, webhook_secret, created_at)"
        " VALUES (1, 'enterprise', 'x', now())"
    )
    for statement in statements:
        cur.execute(statement)
    conn.close()
    return admin + name


def _run(dsn: str, transaction: Callable[[Cursor], None], threads: int, seconds: float) -> float:
    stop = time.monotonic() + seconds
    done = [0] * threads

    def worker(i: int) -> None:
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        while time.monotonic() < stop:
            transaction(cur)
            done[i] += 1
        conn.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / (time.monotonic() - started)


def main(old_checkout: Path, rounds: int = 3, seconds: float = 4.0) -> None:
    pg = DurablePostgres()
    pg.init()
    try:
        admin = f"postgresql://postgres@127.0.0.1:{pg.port}/"
        no_insert_trigger = "DROP TRIGGER video_generations_in_flight_insert ON video_generations"
        shards = "INSERT INTO user_in_flight_shards SELECT 1, g, 0 FROM generate_series(0, 15) g"
        with_shards = _database(admin, "d_shards", ROOT, [shards])
        designs: dict[str, tuple[str, Callable[[Cursor], None]]] = {
            "insert": (_database(admin, "d_insert", ROOT, [no_insert_trigger]), _insert),
            "baseline-app": (with_shards, _insert),
            "users-row": (_database(admin, "d_users", old_checkout, []), _users_row),
            "shards": (with_shards, _shards),
            "async-counter": (
                _database(admin, "d_async", ROOT, [no_insert_trigger, shards]),
                _async_counter,
            ),
        }
        conn = psycopg2.connect(admin + "postgres")
        cur = conn.cursor()
        shown = []
        for setting in ("fsync", "synchronous_commit"):
            cur.execute(f"SHOW {setting}")
            shown.append(f"{setting} {cur.fetchone()[0]}")
        conn.close()
        say(", ".join(shown))
        for threads in (2, 16):
            got: dict[str, list[float]] = {name: [] for name in designs}
            for _ in range(rounds):
                for name, (dsn, transaction) in designs.items():
                    got[name].append(_run(dsn, transaction, threads, seconds))
            for name, runs in got.items():
                say(
                    f"{threads:2} threads {name:14} {sum(runs) / len(runs):6.0f} tx/s, "
                    f"{sum(runs) / sum(got['insert']):.2f} of insert, "
                    f"rounds {[round(r) for r in runs]}"
                )
    finally:
        pg.destroy()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), *(int(a) for a in sys.argv[2:3]))
