"""The API process's cache of recently authenticated keys."""

from __future__ import annotations

from api.auth import KeyCache, Principal

ALICE = Principal(1, "pro")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_trusted_until_its_ttl_runs_out() -> None:
    clock = Clock()
    cache = KeyCache(10, clock=clock)
    assert cache.get("vgk_a_secret") is None
    cache.put("vgk_a_secret", ALICE)
    clock.now += 9.9
    assert cache.get("vgk_a_secret") == ALICE
    clock.now += 0.1
    assert cache.get("vgk_a_secret") is None  # asked of the database again: revocation bites


def test_another_key_is_not_taken_for_a_cached_one() -> None:
    cache = KeyCache(10)
    cache.put("vgk_a_secret", ALICE)
    assert cache.get("vgk_a_secreT") is None
    assert cache.get("vgk_a_secret ") is None


def test_a_ttl_of_zero_turns_the_cache_off() -> None:
    cache = KeyCache(0)
    cache.put("vgk_a_secret", ALICE)
    assert cache.get("vgk_a_secret") is None


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    cache = KeyCache(10, max_entries=3)
    for n in range(5):
        cache.put(f"vgk_{n}", Principal(n, "free"))
    assert [cache.get(f"vgk_{n}") for n in range(5)] == [
        None,
        None,
        Principal(2, "free"),
        Principal(3, "free"),
        Principal(4, "free"),
    ]


def test_the_key_itself_is_not_kept() -> None:
    cache = KeyCache(10)
    cache.put("vgk_a_secret", ALICE)
    assert all(b"vgk_a_secret" not in digest for digest in cache._entries)
