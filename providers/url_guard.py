"""Which URLs we may call on a client's behalf: no loopback, private or metadata addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

Resolver = Callable[..., list[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
# The one message for every refused address: it must not tell a caller where a host points.
NON_PUBLIC = "its host resolves to a non-public address"

# IANA allocates global unicast IPv6 only from here; the rest is special or unassigned.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# IPv6 forms that carry an IPv4 address in their last 32 bits. Python 3.11 calls most of
# these is_global whatever they carry (::ffff:0:127.0.0.1, 64:ff9b::127.0.0.1, ::127.0.0.1),
# so they are judged by the IPv4 address alone.
_LAST_32_BITS = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # SIIT IPv4-translated (RFC 2765)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (RFC 4291, deprecated); :: and ::1 too
)
# Local-use NAT64 (RFC 8215): an operator splits it into prefixes of any RFC 6052 length, so
# where the IPv4 address sits is unknowable here. IANA marks it not globally reachable.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def carried_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...] | None:
    """The IPv4 addresses an IPv6 address stands for: () if none, None if unknowable."""
    if address in _NAT64_LOCAL:
        return None
    for network in _LAST_32_BITS:
        if address in network:
            return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    if address.sixtofour is not None:  # 2002::/16, bits 16..47
        return (address.sixtofour,)
    if address.teredo is not None:  # 2001::/32: the server, and the client un-XORed
        return address.teredo
    return ()


def is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address, judging IPv6 forms by the IPv4 inside."""
    if isinstance(address, ipaddress.IPv4Address):
        # is_global leaves out loopback, RFC 1918, link-local (169.254.169.254, the cloud
        # metadata service), CGNAT, reserved and unspecified; not multicast.
        return address.is_global and not address.is_multicast
    carried = carried_ipv4(address)
    if carried is None:
        return False
    if carried:
        return all(is_public(inner) for inner in carried)
    return address in _GLOBAL_UNICAST and address.is_global


def lookup(host: str, port: int, resolve: Resolver = socket.getaddrinfo) -> list[IPAddress]:
    """Every address host resolves to (an IP literal is itself); OSError if it does not resolve."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = resolve(host, port, proto=socket.IPPROTO_TCP)
    except UnicodeError as exc:
        raise OSError("the host name cannot be encoded") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise OSError("the host resolves to no address")
    return addresses


def address_refusal(addresses: Iterable[IPAddress]) -> str | None:
    """Why these addresses must not be called (naming none of them), or None."""
    return None if all(is_public(address) for address in addresses) else NON_PUBLIC


def refusal(url: str, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo) -> str | None:
    """Why url must not be called, or None. Every address the host resolves to is checked."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    if parts.scheme not in DEFAULT_PORTS or port is None or not parts.hostname:
        return "must be an http(s) URL with a host"
    if allow_private:
        return None
    try:
        addresses = lookup(parts.hostname, port, resolve)
    except (OSError, ValueError):
        return "its host does not resolve"
    return address_refusal(addresses)
