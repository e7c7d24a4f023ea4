"""Guarded HTTP: one lookup per hop, every address checked, the connection pinned to it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from urllib3.connectionpool import HTTPSConnectionPool

from providers.guarded_http import (
    AddressRefusedError,
    GuardedAdapter,
    guarded_session,
    host_header,
)
from tests.fake_network import (
    FakeDNS,
    Network,
    Server,
    install_network,
    serving,
    tls_server_context,
)

PUBLIC = "93.184.216.34"
OTHER_PUBLIC = "1.1.1.1"


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    return install_network(monkeypatch)


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as served:
        yield served


def test_dns_rebinding_never_reaches_loopback(network: Network, server: Server) -> None:
    dns = FakeDNS({"rebind.test": [PUBLIC, "127.0.0.1"]})
    network.route(PUBLIC, 80, server.port)
    server.replies["/hello"] = (200, {}, b"hello")
    http = guarded_session(allow_private=False, resolve=dns)

    resp = http.get("http://rebind.test/hello", timeout=5)

    assert (resp.status_code, resp.content) == (200, b"hello")
    assert dns.calls == ["rebind.test"]  # one lookup, and the connection used its answer
    assert network.targets == [(PUBLIC, 80)]
    assert server.seen == [("/hello", "rebind.test")]  # the name, not the address
    assert resp.url == "http://rebind.test/hello"

    # The next request asks again and hears 127.0.0.1: refused before any connection.
    with pytest.raises(AddressRefusedError) as refused:
        http.get("http://rebind.test/hello", timeout=5)
    assert "127.0.0.1" not in str(refused.value)
    assert dns.calls == ["rebind.test", "rebind.test"]
    assert network.targets == [(PUBLIC, 80)]


def test_a_redirect_is_resolved_checked_and_pinned_again(network: Network, server: Server) -> None:
    dns = FakeDNS({"rebind.test": [PUBLIC, "127.0.0.1"]})
    network.route(PUBLIC, 80, server.port)
    server.redirect("/start", "/next")
    server.replies["/next"] = (200, {}, b"inside")
    http = guarded_session(allow_private=False, resolve=dns)

    with pytest.raises(AddressRefusedError):
        http.get("http://rebind.test/start", timeout=5)

    assert dns.calls == ["rebind.test", "rebind.test"]  # once per hop
    assert network.targets == [(PUBLIC, 80)]
    assert server.seen == [("/start", "rebind.test")]


def test_a_redirect_to_another_public_host_is_followed(network: Network, server: Server) -> None:
    dns = FakeDNS({"files.test": [PUBLIC], "cdn.test": [OTHER_PUBLIC]})
    network.route(PUBLIC, 80, server.port)
    network.route(OTHER_PUBLIC, 8080, server.port)
    server.redirect("/start", "http://cdn.test:8080/file")
    server.replies["/file"] = (200, {}, b"file")
    http = guarded_session(allow_private=False, resolve=dns)

    resp = http.get("http://files.test/start", timeout=5)

    assert resp.content == b"file"
    assert dns.calls == ["files.test", "cdn.test"]
    assert network.targets == [(PUBLIC, 80), (OTHER_PUBLIC, 8080)]
    assert server.seen == [("/start", "files.test"), ("/file", "cdn.test:8080")]


def test_redirects_are_limited(network: Network, server: Server) -> None:
    network.route(PUBLIC, 80, server.port)
    server.redirect("/loop", "/loop")
    dns = FakeDNS({"files.test": [PUBLIC]})
    http = guarded_session(allow_private=False, resolve=dns, max_redirects=3)

    with pytest.raises(requests.TooManyRedirects):
        http.get("http://files.test/loop", timeout=5)
    assert len(dns.calls) == 4


def test_private_addresses_allowed_are_still_pinned(network: Network, server: Server) -> None:
    dns = FakeDNS({"sandbox.test": ["127.0.0.1", "10.9.9.9"]})
    network.route("127.0.0.1", server.port, server.port)
    server.replies["/v.mp4"] = (200, {}, b"video")
    http = guarded_session(allow_private=True, resolve=dns)

    resp = http.get(f"http://sandbox.test:{server.port}/v.mp4", timeout=5)

    assert resp.content == b"video"
    assert dns.calls == ["sandbox.test"]  # urllib3 was given the address, not the name
    assert network.targets == [("127.0.0.1", server.port)]


def test_the_next_checked_address_is_tried_when_one_cannot_be_reached(
    network: Network, server: Server
) -> None:
    # An IPv6 address first, as getaddrinfo may answer, on a host whose IPv6 is down.
    dns = FakeDNS({"dual.test": [("2606:4700::1111", PUBLIC)]})
    network.route(PUBLIC, 80, server.port)
    server.replies["/x"] = (200, {}, b"over ipv4")
    http = guarded_session(allow_private=False, resolve=dns)

    assert http.get("http://dual.test/x", timeout=5).content == b"over ipv4"
    assert dns.calls == ["dual.test"]
    assert network.targets == [("2606:4700::1111", 80), (PUBLIC, 80)]


def test_one_refused_address_among_several_refuses_the_host(network: Network) -> None:
    dns = FakeDNS({"dual.test": [(PUBLIC, "::ffff:10.0.0.1")]})
    with pytest.raises(AddressRefusedError):
        guarded_session(allow_private=False, resolve=dns).get("http://dual.test/", timeout=5)
    assert network.targets == []


def test_a_request_that_may_have_been_sent_is_not_sent_again(network: Network) -> None:
    # The first address accepts the connection and drops it: the request may have arrived.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_and_drop() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=accept_and_drop, daemon=True).start()
    network.route(PUBLIC, 80, port)
    dns = FakeDNS({"dual.test": [(PUBLIC, OTHER_PUBLIC)]})
    try:
        with pytest.raises(requests.ConnectionError):
            guarded_session(allow_private=False, resolve=dns).post(
                "http://dual.test/hook", data=b"{}", timeout=5
            )
    finally:
        listener.close()
    assert network.targets == [(PUBLIC, 80)]


def test_proxies_do_not_bypass_the_pin(
    network: Network, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    network.route(PUBLIC, 80, server.port)
    server.replies["/x"] = (200, {}, b"direct")
    dns = FakeDNS({"files.test": [PUBLIC]})
    http = guarded_session(allow_private=False, resolve=dns)

    resp = http.get("http://files.test/x", proxies={"http": "http://proxy.test:3128"}, timeout=5)

    assert resp.content == b"direct"
    assert network.targets == [(PUBLIC, 80)]
    assert dns.calls == ["files.test"]  # the proxy's name was never looked up


def test_an_unresolvable_host_is_a_connection_error_not_a_refusal(network: Network) -> None:
    http = guarded_session(allow_private=False, resolve=FakeDNS({}))
    with pytest.raises(requests.ConnectionError) as caught:
        http.get("http://nowhere.test/", timeout=5)
    assert not isinstance(caught.value, AddressRefusedError)
    assert network.targets == []


def test_https_pools_keep_the_name_for_sni_and_the_certificate(network: Network) -> None:
    dns = FakeDNS({"files.test": [PUBLIC]})
    adapter = guarded_session(allow_private=False, resolve=dns).get_adapter("https://files.test/")
    assert isinstance(adapter, GuardedAdapter)
    request = requests.Request("GET", "https://files.test/v.mp4").prepare()

    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)
    assert host_params == {"scheme": "https", "host": PUBLIC, "port": None}
    assert pool_kwargs["server_hostname"] == pool_kwargs["assert_hostname"] == "files.test"

    pool = adapter.get_connection_with_tls_context(request, True)
    assert isinstance(pool, HTTPSConnectionPool)
    assert pool.host == PUBLIC
    assert pool.conn_kw["server_hostname"] == "files.test"
    assert pool.assert_hostname == "files.test"


def test_the_host_header_is_the_urls_name() -> None:
    assert host_header("https://Files.Test/x") == "files.test"
    assert host_header("https://files.test:443/x") == "files.test"
    assert host_header("http://files.test:8080/x") == "files.test:8080"
    assert host_header("http://[2606:4700::1111]:8080/x") == "[2606:4700::1111]:8080"


def test_tls_is_checked_against_the_name_not_the_pinned_address(
    network: Network, tmp_path: Path
) -> None:
    # A throwaway certificate for files.test only: no IP address in it.
    cert, context = tls_server_context(tmp_path, "files.test")
    sni: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # None: carry on
    dns = FakeDNS({"files.test": [PUBLIC], "other.test": [PUBLIC]})
    http = guarded_session(allow_private=False, resolve=dns)

    with serving(wrap=lambda sock: context.wrap_socket(sock, server_side=True)) as tls:
        network.route(PUBLIC, 443, tls.port)
        tls.replies["/v.mp4"] = (200, {}, b"video")
        resp = http.get("https://files.test/v.mp4", verify=str(cert), timeout=5)
        assert resp.content == b"video"
        assert sni == ["files.test"]
        assert tls.seen == [("/v.mp4", "files.test")]

        # Same address, another name: the certificate does not name it, so no answer.
        with pytest.raises(requests.exceptions.SSLError):
            http.get("https://other.test/v.mp4", verify=str(cert), timeout=5)
    assert network.targets == [(PUBLIC, 443), (PUBLIC, 443)]
