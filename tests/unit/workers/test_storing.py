"""Downloads go through the guard: a redirect into our network is refused, never followed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.guarded_http import guarded_session
from providers.sandbox.app import MEDIA_DIR
from tests.fake_network import FakeDNS, Network, Server, install_network, serving
from workers.storing import KINDS, Fetched, StoreError, fetch

PUBLIC = "93.184.216.34"
SAMPLE = (MEDIA_DIR / "sample.mp4").read_bytes()
VIDEO = next(kind for kind in KINDS if kind.name == "video")


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    return install_network(monkeypatch)


@pytest.fixture
def server(network: Network) -> Iterator[Server]:
    """PiAPI's file host: files.test, a public address that leads to this local server."""
    with serving() as served:
        network.route(PUBLIC, 80, served.port)
        served.replies["/v.mp4"] = (200, {"Content-Type": "video/mp4"}, SAMPLE)
        yield served


def _fetch(url: str, into: Path, dns: FakeDNS) -> Fetched:
    http = guarded_session(allow_private=False, resolve=dns)
    return fetch(http, url, VIDEO, into=into, max_bytes=10**7)


def test_a_redirect_to_a_public_host_is_downloaded(
    network: Network, server: Server, tmp_path: Path
) -> None:
    server.redirect("/go", "http://files.test/v.mp4")
    dns = FakeDNS({"files.test": [PUBLIC]})

    got = _fetch("http://files.test/go", tmp_path, dns)

    assert got.path.read_bytes() == SAMPLE
    assert dns.calls == ["files.test", "files.test"]
    assert network.targets == [(PUBLIC, 80), (PUBLIC, 80)]


@pytest.mark.parametrize(
    "inside",
    [
        "127.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:0:127.0.0.1]",
        "[2002:7f00:1::]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",  # 169.254.169.254, the metadata service, through NAT64
        "localhost.test",
    ],
)
def test_a_redirect_into_our_network_is_refused(
    network: Network, server: Server, tmp_path: Path, inside: str
) -> None:
    # The server's real port: without the guard, only the fake network would stand between.
    server.redirect("/go", f"http://{inside}:{server.port}/v.mp4")
    dns = FakeDNS({"files.test": [PUBLIC], "localhost.test": ["127.0.0.1"]})

    with pytest.raises(StoreError) as caught:
        _fetch("http://files.test/go", tmp_path, dns)

    assert str(caught.value) == "video: download refused: its host resolves to a non-public address"
    assert network.targets == [(PUBLIC, 80)]  # never a connection to the inside address
    assert server.seen == [("/go", "files.test")]


def test_a_url_that_points_inside_is_refused_before_connecting(
    network: Network, tmp_path: Path
) -> None:
    dns = FakeDNS({"files.test": ["10.0.0.7"]})
    with pytest.raises(StoreError, match="download refused"):
        _fetch("http://files.test/v.mp4", tmp_path, dns)
    assert network.targets == []
