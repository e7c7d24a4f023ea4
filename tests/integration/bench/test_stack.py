"""The bench's private Postgres is durable; the chaos run's is fast (each takes a free port)."""

from __future__ import annotations

import shutil

from bench.stack import Stack
from tests.chaos.services import PrivatePostgres


def test_the_bench_cluster_is_durable_and_the_chaos_one_fast(tmp_path) -> None:
    assert PrivatePostgres(root=tmp_path).durability() == {"fsync": "off"}
    assert PrivatePostgres(root=tmp_path, durable=True).durability() == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
    }
    stack = Stack(tmp_path)
    try:
        assert stack.pg.durable
    finally:
        shutil.rmtree(stack.pg.root, ignore_errors=True)
