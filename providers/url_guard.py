"""Which URLs we may call on a client's behalf: no loopback, private or metadata addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Resolver = Callable[..., list[tuple[Any, ...]]]


def refusal(url: str, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo) -> str | None:
    """Why url must not be called, or None. Every address the host resolves to is checked."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if allow_private:
        return None
    try:
        infos = resolve(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "its host does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            # Covers loopback, RFC 1918, link-local (169.254.169.254, the cloud
            # metadata service), CGNAT, reserved and unspecified addresses.
            return f"its host resolves to a non-public address ({address})"
    return None
