"""HTTP that connects only where the address guard allows: each hop resolved once, checked, pinned.

A host is looked up once per request (and once per redirect hop), every address it resolves to
is checked with providers/url_guard.py, and the connection goes to those very addresses, in the
resolver's order, the next one only when a connection could not be made: urllib3 is handed an
IP, so there is no second lookup for a rebinding DNS server to answer differently. The name
stays in the Host header, in TLS SNI and in the certificate check.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from urllib3.exceptions import MaxRetryError, NewConnectionError

from providers.url_guard import DEFAULT_PORTS, Resolver, address_refusal, lookup

# Before requests 2.32.2 HTTPAdapter.send never calls this hook, and the pin would be skipped.
if not hasattr(HTTPAdapter, "build_connection_pool_key_attributes"):
    raise ImportError("guarded_http needs requests >= 2.32.3")


class AddressRefusedError(requests.ConnectionError):
    """Nothing was sent: the host resolves to an address the guard refuses (named nowhere)."""


def host_header(url: str) -> str:
    """The Host header for url: its host name, and its port unless that is the scheme's default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is None or parts.port == DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{parts.port}"


class GuardedAdapter(HTTPAdapter):
    """Sends each request to an address checked for it, never through a proxy."""

    def __init__(self, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        super().__init__()

    def checked_addresses(self, request: PreparedRequest) -> list[str]:
        """Every address the request's host resolves to, looked up once, each one checked."""
        parts = urlsplit(str(request.url))
        host = parts.hostname
        if not host or parts.scheme not in DEFAULT_PORTS:
            raise requests.exceptions.InvalidURL("must be an http(s) URL with a host")
        try:
            addresses = lookup(host, parts.port or DEFAULT_PORTS[parts.scheme], self.resolve)
        except (OSError, ValueError) as exc:
            raise requests.ConnectionError(
                f"{host} does not resolve ({type(exc).__name__})", request=request
            ) from exc
        if not self.allow_private and (why := address_refusal(addresses)) is not None:
            raise AddressRefusedError(why, request=request)
        return [str(address) for address in addresses]

    def build_connection_pool_key_attributes(
        self,
        request: PreparedRequest,
        verify: bool | str,
        cert: str | tuple[str, str] | None = None,
    ) -> tuple[Any, Any]:  # Any: types-requests' TypedDicts lack server_hostname
        """The pool for the address send() is trying (else the first checked one)."""
        params, tls = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(params)
        pool_kwargs: dict[str, Any] = dict(tls)
        name = host_params["host"]
        host_params["host"] = _TRYING.get() or self.checked_addresses(request)[0]
        # urllib3 verifies against the pool's host (now the IP) unless told the name; for
        # http it drops both keywords, but they still keep pools apart per name.
        pool_kwargs["server_hostname"] = name
        pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Send to a checked address with Host set to the URL's name; proxies are ignored."""
        addresses = self.checked_addresses(request)
        pinned = request.copy()
        # urllib3 would otherwise write the pool's host, the IP, into the Host header.
        pinned.headers["Host"] = host_header(str(request.url))
        *others, last = addresses
        for address in others:
            try:
                return self._send_to(address, pinned, stream, timeout, verify, cert)
            except requests.ConnectionError as exc:
                if not _never_connected(exc):
                    raise  # something may have been sent: not for us to send it again
        return self._send_to(last, pinned, stream, timeout, verify, cert)

    def _send_to(
        self,
        address: str,
        request: PreparedRequest,
        stream: bool,
        timeout: float | tuple[float, float] | tuple[float, None] | None,
        verify: bool | str,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None,
    ) -> Response:
        trying = _TRYING.set(address)
        try:
            # A proxy would look the name up itself, outside the pin: always direct.
            return super().send(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=None
            )
        finally:
            _TRYING.reset(trying)


# The address send() is trying, for build_connection_pool_key_attributes (same call, same thread).
_TRYING: ContextVar[str | None] = ContextVar("guarded_http_trying", default=None)


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the request failed before a connection was made, so nothing was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


def guarded_session(
    *,
    allow_private: bool,
    resolve: Resolver = socket.getaddrinfo,
    max_redirects: int = 5,
) -> requests.Session:
    """A Session whose every request and redirect hop goes only to an address that was checked.

    allow_private skips the address rules (local development, the sandbox on 127.0.0.1) but
    still pins each connection to the one lookup. The environment is not read (trust_env is
    off): no proxy variables, netrc or REQUESTS_CA_BUNDLE.
    """
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = max_redirects
    adapter = GuardedAdapter(allow_private=allow_private, resolve=resolve)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
