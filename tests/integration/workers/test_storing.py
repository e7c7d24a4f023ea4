"""Storing a completed job's files: streamed from PiAPI's URLs into our storage, checked."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from models.jobs import Job, StorageState
from providers.guarded_http import guarded_session
from providers.sandbox.app import MEDIA_DIR
from providers.storage.local import LocalStorage
from tests.fake_network import FakeDNS, Network, Server, install_network, serving
from tests.stack import free_port
from workers.storing import KINDS, Fetched, StoreError, fail_or_retry, fetch, store_once

SAMPLE = (MEDIA_DIR / "sample.mp4").read_bytes()
THUMB = (MEDIA_DIR / "thumbnail.jpg").read_bytes()


class Origin:
    """A stand-in for PiAPI's file host: path -> (status, content type, body)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, str, bytes]] = {}
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, ctype, body = origin.files.get(self.path, (404, "text/html", b"<html>"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def origin() -> Iterator[Origin]:
    served = Origin()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    # Closed after the test: a pooled connection left to the garbage collector is a warning.
    with requests.Session() as session:
        yield session


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(str(tmp_path / "media"), public_base="http://api.test/media")


def _completed(session_factory, make_job, **urls: str) -> int:
    return make_job(status="completed", storage_state=StorageState.PENDING, **urls)


def _files(storage: LocalStorage) -> list[Path]:
    return [p for p in storage.root.rglob("*") if p.is_file()]


def test_a_video_and_thumbnail_are_stored_byte_identical_with_checksums(
    session_factory, make_job, origin, storage, http
) -> None:
    origin.files["/v.mp4"] = (200, "video/mp4", SAMPLE)
    origin.files["/t.jpg"] = (200, "image/jpeg", THUMB)
    job_id = _completed(
        session_factory,
        make_job,
        video_url=f"{origin.base}/v.mp4",
        thumbnail_url=f"{origin.base}/t.jpg",
    )

    files = store_once(session_factory, storage, http, job_id, max_bytes=10**7)

    assert set(files) == {"video", "thumbnail"}
    assert storage.path(files["video"]["key"]).read_bytes() == SAMPLE
    assert files["video"]["sha256"] == hashlib.sha256(SAMPLE).hexdigest()
    assert files["video"]["size"] == len(SAMPLE)
    assert files["thumbnail"]["made_by_us"] is False
    with session_factory() as s:
        job = s.get(Job, job_id)
        assert job.storage_state == StorageState.STORED
        assert job.stored_files == files
        assert job.video_url == f"{origin.base}/v.mp4"  # PiAPI's URL stays recorded


def test_a_guarded_session_allowing_private_hosts_downloads_from_the_sandbox(
    session_factory, make_job, origin, storage
) -> None:
    # What the workers use with the sandbox (on 127.0.0.1): pinned, but loopback allowed.
    origin.files["/v.mp4"] = (200, "video/mp4", SAMPLE)
    job_id = _completed(session_factory, make_job, video_url=f"{origin.base}/v.mp4")

    http = guarded_session(allow_private=True)
    files = store_once(session_factory, storage, http, job_id, max_bytes=10**7)

    assert storage.path(files["video"]["key"]).read_bytes() == SAMPLE


def test_a_guarded_session_refuses_the_sandbox_without_allow_private(
    session_factory, make_job, origin, storage
) -> None:
    origin.files["/v.mp4"] = (200, "video/mp4", SAMPLE)
    job_id = _completed(session_factory, make_job, video_url=f"{origin.base}/v.mp4")

    with pytest.raises(StoreError, match="video: download refused: its host resolves"):
        store_once(
            session_factory, storage, guarded_session(allow_private=False), job_id, max_bytes=10**7
        )


def test_a_missing_thumbnail_is_made_from_the_first_frame(
    session_factory, make_job, origin, storage, http
) -> None:
    import shutil

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: no thumbnail is made (README says so)")
    origin.files["/v.mp4"] = (200, "video/mp4", SAMPLE)
    job_id = _completed(session_factory, make_job, video_url=f"{origin.base}/v.mp4")

    files = store_once(session_factory, storage, http, job_id, max_bytes=10**7)

    assert files["thumbnail"]["made_by_us"] is True
    assert storage.path(files["thumbnail"]["key"]).read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        ((404, "text/html", b"<html>gone</html>"), "answered 404"),
        ((200, "text/html", b"<html>expired</html>"), "content type text/html"),
        ((200, "video/mp4", b"<!doctype html><html>expired link</html>"), "not a video"),
        ((200, "application/octet-stream", SAMPLE), "content type application/octet-stream"),
        ((200, "video/mp4", SAMPLE), "limit"),
    ],
    ids=["404", "html-page", "html-posing-as-video", "wrong-type", "too-big"],
)
def test_bad_sources_fail_the_storage_after_the_retries_and_leave_nothing(
    session_factory, make_job, origin, storage, served, reason, http
) -> None:
    origin.files["/v.mp4"] = served
    origin.files["/t.jpg"] = (200, "image/jpeg", THUMB)
    job_id = _completed(
        session_factory,
        make_job,
        video_url=f"{origin.base}/v.mp4",
        thumbnail_url=f"{origin.base}/t.jpg",
    )
    waits = []
    for _ in range(3):
        with pytest.raises(StoreError) as caught:
            store_once(session_factory, storage, http, job_id, max_bytes=len(SAMPLE) - 1)
        waits.append(
            fail_or_retry(
                session_factory, job_id, str(caught.value), max_attempts=3, wait_s=lambda n: 2.0**n
            )
        )

    assert reason in str(caught.value)
    assert waits == [2.0, 4.0, None]  # retried with backoff, then given up
    assert _files(storage) == []  # nothing partial left behind
    with session_factory() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.storage_state, job.storage_attempts) == ("completed", "failed", 3)
        assert reason in job.storage_error
    # a late, duplicated store message finds nothing to do
    assert store_once(session_factory, storage, http, job_id, max_bytes=10**7) is None


def test_a_failing_second_file_removes_the_first(
    session_factory, make_job, origin, storage, http
) -> None:
    origin.files["/v.mp4"] = (200, "video/mp4", SAMPLE)
    origin.files["/t.jpg"] = (200, "image/jpeg", THUMB)
    job_id = _completed(
        session_factory,
        make_job,
        video_url=f"{origin.base}/v.mp4",
        thumbnail_url=f"{origin.base}/t.jpg",
    )

    class Flaky(LocalStorage):
        def put(self, key, source, *, content_type):  # type: ignore[no-untyped-def]
            if key.endswith("thumbnail.jpg"):
                raise OSError("disk full")
            super().put(key, source, content_type=content_type)

    flaky = Flaky(str(storage.root), public_base="http://api.test/media")
    with pytest.raises(StoreError, match="storage refused"):
        store_once(session_factory, flaky, http, job_id, max_bytes=10**7)
    assert _files(storage) == []


class BigOrigin:
    """Serves a 500 MB 'video' generated on the fly, so the test itself holds no copy."""

    SIZE = 500 * 1024 * 1024

    def __init__(self) -> None:
        size = self.SIZE

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                block = SAMPLE[: 64 * 1024].ljust(64 * 1024, b"\0")
                for _ in range(size // len(block)):
                    self.wfile.write(block)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/big.mp4"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_memory_stays_flat_while_storing_500_mb(session_factory, make_job, storage, http) -> None:
    import tracemalloc

    big = BigOrigin()
    job_id = _completed(session_factory, make_job, video_url=big.url)
    tracemalloc.start()
    try:
        files = store_once(session_factory, storage, http, job_id, max_bytes=10**9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        big.server.shutdown()
        big.server.server_close()

    assert files["video"]["size"] == BigOrigin.SIZE
    assert storage.path(files["video"]["key"]).stat().st_size == BigOrigin.SIZE
    # Streaming in 1 MiB chunks: the peak is a few chunks, never the file.
    print(f"peak Python memory while storing 500 MB: {peak / 2**20:.1f} MiB")  # noqa: T201
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


# Downloads go through the guard: a redirect into our network is refused, never followed.

PUBLIC = "93.184.216.34"
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
