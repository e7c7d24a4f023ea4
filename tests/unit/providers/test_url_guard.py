"""Webhook URLs may only reach public addresses (unless local development allows otherwise)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest

from providers.url_guard import is_public, refusal

REFUSED = "its host resolves to a non-public address"


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
    assert why == REFUSED


def test_one_inside_address_among_public_ones_is_enough_to_refuse() -> None:
    resolve = resolver("93.184.216.34", "10.0.0.1")
    assert refusal("https://rebind.example.com/", allow_private=False, resolve=resolve)


def test_unresolvable_hosts_and_other_schemes_are_refused() -> None:
    def fails(*_: object, **__: object) -> list[tuple[object, ...]]:
        raise socket.gaierror("no such host")

    assert "resolve" in (refusal("https://nope.invalid/", allow_private=False, resolve=fails) or "")
    assert refusal("ftp://example.com/", allow_private=True) is not None
    assert refusal("http:///nohost", allow_private=True) is not None


def test_local_development_may_allow_private_hosts() -> None:
    assert refusal("http://127.0.0.1:9000/hook", allow_private=True) is None


def _v4(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


def _v6(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


def _prefix(prefix: str) -> int:
    return int(ipaddress.IPv6Address(prefix))


# Each IPv6 form that carries an IPv4 address, built from that address.
CARRIERS: dict[str, Callable[[str], str]] = {
    "ipv4-mapped ::ffff:0:0/96": lambda a: _v6(_prefix("::ffff:0:0") | _v4(a)),
    "siit ::ffff:0:0:0/96": lambda a: _v6(_prefix("::ffff:0:0:0") | _v4(a)),
    "ipv4-compatible ::/96": lambda a: _v6(_v4(a)),
    "nat64 64:ff9b::/96": lambda a: _v6(_prefix("64:ff9b::") | _v4(a)),
    "6to4 2002::/16": lambda a: _v6(_prefix("2002::") | _v4(a) << 80 | 1),
    "teredo 2001::/32 (server)": lambda a: _teredo(a, "8.8.4.4"),
    "teredo 2001::/32 (client)": lambda a: _teredo("8.8.4.4", a),
}
INSIDE_V4 = ["127.0.0.1", "10.0.0.5", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1"]


def _teredo(server: str, client: str) -> str:
    """A Teredo address: server in bits 32..63, the client XORed with ones in the last 32."""
    flags_and_port = 0x8000 << 16 | (0xFFFF ^ 3544)
    value = _prefix("2001::") | _v4(server) << 64 | flags_and_port << 32
    return _v6(value | (_v4(client) ^ 0xFFFFFFFF))


def _refusal_for(address: str) -> str | None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def resolve(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return refusal("https://hooks.example.com/x", allow_private=False, resolve=resolve)


def test_the_forms_are_built_as_python_reads_them() -> None:
    assert ipaddress.IPv6Address(CARRIERS["6to4 2002::/16"]("127.0.0.1")).sixtofour == (
        ipaddress.IPv4Address("127.0.0.1")
    )
    assert ipaddress.IPv6Address(_teredo("8.8.8.8", "127.0.0.1")).teredo == (
        ipaddress.IPv4Address("8.8.8.8"),
        ipaddress.IPv4Address("127.0.0.1"),
    )
    assert CARRIERS["siit ::ffff:0:0:0/96"]("127.0.0.1") == "::ffff:0:7f00:1"
    assert CARRIERS["nat64 64:ff9b::/96"]("127.0.0.1") == "64:ff9b::7f00:1"


@pytest.mark.parametrize("inner", INSIDE_V4)
@pytest.mark.parametrize("form", list(CARRIERS))
def test_an_ipv6_form_carrying_an_inside_ipv4_address_is_refused(form: str, inner: str) -> None:
    address = CARRIERS[form](inner)
    why = _refusal_for(address)
    assert why == REFUSED, address
    assert address not in REFUSED and inner not in why  # never tells where the host points


@pytest.mark.parametrize("form", list(CARRIERS))
def test_an_ipv6_form_carrying_a_public_ipv4_address_passes(form: str) -> None:
    for public in ("8.8.8.8", "1.1.1.1"):
        address = CARRIERS[form](public)
        assert _refusal_for(address) is None, address


@pytest.mark.parametrize(
    "address",
    ["64:ff9b:1::808:808", "64:ff9b:1::7f00:1", "64:ff9b:1:808:8:800::", "64:ff9b:1:ffff::1"],
)
def test_local_use_nat64_is_refused_whatever_it_carries(address: str) -> None:
    # RFC 8215: where the IPv4 address sits depends on the operator's prefix length.
    assert _refusal_for(address) == REFUSED


@pytest.mark.parametrize("address", ["::", "::1", "::2:3:4", "100::1", "ff0e::1", "2001:db8::1"])
def test_ipv6_outside_global_unicast_is_refused(address: str) -> None:
    assert _refusal_for(address) == REFUSED


@pytest.mark.parametrize("address", ["2606:4700:4700::1111", "2001:4860:4860::8888"])
def test_a_public_ipv6_address_passes(address: str) -> None:
    assert _refusal_for(address) is None
    assert is_public(ipaddress.IPv6Address(address))


def test_ip_literals_are_judged_without_asking_the_resolver() -> None:
    def never(*_: object, **__: object) -> list[tuple[object, ...]]:
        raise AssertionError("an IP literal needs no lookup")

    for url in ("http://127.0.0.1:8080/", "http://[::ffff:127.0.0.1]/", "http://[2002:7f00:1::]/"):
        assert refusal(url, allow_private=False, resolve=never) == REFUSED
    assert refusal("http://8.8.8.8/", allow_private=False, resolve=never) is None


def test_a_url_with_a_bad_port_is_refused_as_malformed() -> None:
    assert refusal("http://example.com:99999/", allow_private=True) is not None
    assert refusal("ftp://example.com:21/", allow_private=True) is not None
