"""A fake DNS and a fake network for tests of guarded HTTP: public addresses lead to 127.0.0.1.

FakeDNS answers from a script and counts its calls. Network replaces urllib3's
create_connection: it records every address a connection is made to, sends the routed ones
(a "public" address, say) to a local server, and refuses everything else, so a test never
reaches past 127.0.0.1 and can see where a connection would have gone.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection

from tests.stack import free_port


@dataclass
class FakeDNS:
    """Answers each name from a script (the last answer repeats); records every question.

    An answer is an address, or a tuple of them for a host with several.
    """

    answers: dict[str, list[str | tuple[str, ...]]]
    calls: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        asked = sum(1 for name in self.calls if name == host)
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        script = self.answers[host]
        answer = script[min(asked, len(script) - 1)]
        addresses = (answer,) if isinstance(answer, str) else answer
        return [_info(address, port) for address in addresses]


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@dataclass
class Network:
    """Where connections were made to, and which (address, port) pairs lead to 127.0.0.1."""

    routes: dict[tuple[str, int], int] = field(default_factory=dict)
    targets: list[tuple[str, int]] = field(default_factory=list)

    def route(self, address: str, port: int, to_local_port: int) -> None:
        self.routes[(address, port)] = to_local_port

    def create_connection(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        host, port = address
        self.targets.append((host, port))
        if (host, port) not in self.routes:
            raise ConnectionRefusedError(f"the test network has no route to {host}:{port}")
        return _real_create_connection(("127.0.0.1", self.routes[(host, port)]), *args, **kwargs)


_real_create_connection = urllib3.util.connection.create_connection


def install_network(monkeypatch: pytest.MonkeyPatch) -> Network:
    """A Network that every urllib3 connection goes through until the test ends."""
    net = Network()
    monkeypatch.setattr(urllib3.util.connection, "create_connection", net.create_connection)
    return net


Reply = tuple[int, dict[str, str], bytes]


class Server:
    """A local HTTP server: path -> (status, headers, body); records (path, Host) it was asked."""

    def __init__(self, wrap: Callable[[socket.socket], socket.socket] | None = None) -> None:
        self.replies: dict[str, Reply] = {}
        self.seen: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Host", "")))
                status, headers, body = server.replies.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        if wrap is not None:
            self.httpd.socket = wrap(self.httpd.socket)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def redirect(self, path: str, location: str) -> None:
        self.replies[path] = (302, {"Location": location}, b"")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving(wrap: Callable[[socket.socket], socket.socket] | None = None) -> Iterator[Server]:
    """A local HTTP server for the duration of the block."""
    served = Server(wrap)
    try:
        yield served
    finally:
        served.close()


def tls_server_context(tmp: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for name alone, and its PEM path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context
