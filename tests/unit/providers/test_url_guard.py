"""Webhook URLs may only reach public addresses (unless local development allows otherwise)."""

from __future__ import annotations

import socket

import pytest

from providers.url_guard import refusal


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_a_public_address_is_fine() -> None:
    assert (
        refusal(
            "https://hooks.example.com/x", allow_private=False, resolve=resolver("93.184.216.34")
        )
        is None
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_inside_addresses_are_refused(address: str) -> None:
    why = refusal("https://hooks.example.com/x", allow_private=False, resolve=resolver(address))
    assert why is not None and "non-public" in why


def test_one_inside_address_among_public_ones_is_enough_to_refuse() -> None:
    resolve = resolver("93.184.216.34", "10.0.0.1")
    assert refusal("https://rebind.example.com/", allow_private=False, resolve=resolve)


def test_unresolvable_hosts_and_other_schemes_are_refused() -> None:
    def fails(*_: object, **__: object) -> list[tuple[object, ...]]:
        raise socket.gaierror("no such host")

    assert "resolve" in refusal("https://nope.invalid/", allow_private=False, resolve=fails)
    assert refusal("ftp://example.com/", allow_private=True) is not None
    assert refusal("http:///nohost", allow_private=True) is not None


def test_local_development_may_allow_private_hosts() -> None:
    assert refusal("http://127.0.0.1:9000/hook", allow_private=True) is None
