"""Fetching input images as PiAPI does, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import random
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response
from werkzeug.serving import make_server

from providers.sandbox.app import create_sandbox_app
from providers.sandbox.engine import Sandbox
from providers.sandbox.images import MAX_IMAGE_BYTES, fetch_image, image_type


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # 2x2, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\xff\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)
HTML = b"<!doctype html><title>Not found</title><p>nothing here"


class ImageServer:
    """A threaded werkzeug server on 127.0.0.1 serving a few fixed files, counting hits."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        app = Flask("images")
        files = {
            "product.png": (PNG, "image/png"),
            "photo.jpg": (JPEG, "image/jpeg"),
            "pic.webp": (WEBP, "image/webp"),
            "page.html": (HTML, "text/html"),
            "fake.jpg": (HTML, "image/jpeg"),  # HTML named and labelled as a JPEG
            "huge.png": (PNG + bytes(MAX_IMAGE_BYTES), "image/png"),
        }

        @app.get("/<name>")
        def serve(name: str) -> Any:
            self.hits.append(name)
            if name not in files:
                return Response("missing", status=404)
            data, mimetype = files[name]
            return Response(data, mimetype=mimetype)

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(scope="module")
def images() -> Iterator[ImageServer]:
    with ImageServer() as server:
        yield server


@pytest.fixture
def closed_port_url() -> str:
    # A port that was just free: nothing listens there, so the connection is refused.
    server = make_server("127.0.0.1", 0, Flask("closed"))
    port = server.server_port
    server.server_close()
    return f"http://127.0.0.1:{port}/gone.png"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _sandbox(clock: Clock, *, fetch: bool = True) -> Sandbox:
    return Sandbox(
        public_url="http://sandbox.test",
        time_scale=0.1,
        clock=clock,
        rng=random.Random(0),
        fetch_images=fetch,
        image_timeout_s=2.0,
    )


def _skyreels(image: str) -> dict[str, Any]:
    return {
        "model": "Qubico/skyreels",
        "task_type": "img2video",
        "input": {"prompt": "a product on a table", "image": image},
    }


# --- fetch_image ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type", "kind"),
    [
        ("product.png", PNG, "image/png", "png"),
        ("photo.jpg", JPEG, "image/jpeg", "jpeg"),
        ("pic.webp", WEBP, "image/webp", "webp"),
    ],
)
def test_an_image_is_recorded_with_its_status_type_size_and_hash(
    images: ImageServer, name: str, data: bytes, content_type: str, kind: str
) -> None:
    fetched = fetch_image("image_url", images.url(name), timeout_s=2)

    assert fetched.as_dict() == {
        "field": "image_url",
        "url": images.url(name),
        "status": 200,
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "image_type": kind,
        "error": None,
    }


@pytest.mark.parametrize("name", ["page.html", "fake.jpg"])
def test_html_is_not_an_image_whatever_its_name_or_header(images: ImageServer, name: str) -> None:
    fetched = fetch_image("image", images.url(name), timeout_s=2)

    assert fetched.status == 200
    assert fetched.image_type is None
    assert fetched.sha256 == hashlib.sha256(HTML).hexdigest()
    assert fetched.error is not None
    assert "input.image" in fetched.error
    assert "is not a JPEG, PNG or WebP image" in fetched.error


def test_a_404_is_recorded_as_unusable(images: ImageServer) -> None:
    fetched = fetch_image("image_url", images.url("nothing.png"), timeout_s=2)

    assert fetched.status == 404
    assert (
        fetched.error
        == f"could not download input.image_url from {images.url('nothing.png')}: HTTP 404"
    )


def test_an_unreachable_url_is_recorded_without_a_status(closed_port_url: str) -> None:
    fetched = fetch_image("start_image", closed_port_url, timeout_s=2)

    assert (fetched.status, fetched.size, fetched.sha256) == (None, 0, None)
    assert fetched.error is not None
    assert fetched.error.startswith(f"could not download input.start_image from {closed_port_url}")


def test_an_image_past_10_mb_is_refused_without_reading_it_all(images: ImageServer) -> None:
    fetched = fetch_image("image", images.url("huge.png"), timeout_s=5)

    assert fetched.error is not None
    assert "larger than" in fetched.error
    assert MAX_IMAGE_BYTES < fetched.size < MAX_IMAGE_BYTES + 128 * 1024


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "png"),
        (JPEG, "jpeg"),
        (WEBP, "webp"),
        (b"GIF89a....", None),
        (b"", None),
        (HTML, None),
    ],
)
def test_image_type_is_decided_by_the_bytes(data: bytes, kind: str | None) -> None:
    assert image_type(data) == kind


# --- the sandbox with fetch_images ----------------------------------------------


def test_a_fetched_image_task_completes_and_records_what_the_url_served(
    images: ImageServer,
) -> None:
    clock = Clock()
    sandbox = _sandbox(clock)
    task_id = sandbox.create(_skyreels(images.url("product.png")))["data"]["task_id"]
    clock.t += 1000

    assert sandbox.get(task_id)["data"]["status"] == "completed"
    (row,) = sandbox.summary()
    (record,) = row["images"]
    assert record["field"] == "image"
    assert record["url"] == images.url("product.png")
    assert record["sha256"] == hashlib.sha256(PNG).hexdigest()  # the bytes that were uploaded
    assert (record["status"], record["content_type"], record["size"]) == (
        200,
        "image/png",
        len(PNG),
    )


@pytest.mark.parametrize("name", ["page.html", "fake.jpg", "missing.png"])
def test_an_unusable_image_fails_the_task_naming_the_field_and_url(
    images: ImageServer, name: str
) -> None:
    clock = Clock()
    sandbox = _sandbox(clock)
    created = sandbox.create(_skyreels(images.url(name)))["data"]
    assert created["status"] == "pending"  # PiAPI accepts the body; the task fails later

    clock.t += 1000
    data = sandbox.get(created["task_id"])["data"]

    assert data["status"] == "failed"
    assert data["error"]["code"] == 10000
    assert "input.image" in data["error"]["message"]
    assert images.url(name) in data["error"]["message"]
    assert data["meta"]["usage"]["consume"] == 0
    assert sandbox.outcome(created["task_id"]) == "failed"


def test_it_fails_as_soon_as_it_would_have_started(images: ImageServer) -> None:
    clock = Clock()
    sandbox = _sandbox(clock)
    task_id = sandbox.create(_skyreels(images.url("page.html")))["data"]["task_id"]

    left = sandbox.seconds_until_end(task_id)

    assert left is not None
    assert left <= 300 * 0.1 * 0.2  # at most the pending share of Skyreels' runtime


def test_every_image_of_a_task_is_fetched(images: ImageServer) -> None:
    body = {
        "model": "kling",
        "task_type": "video_generation",
        "input": {
            "prompt": "a product turning",
            "version": "3.0",
            "image_url": images.url("photo.jpg"),
            "image_tail_url": images.url("pic.webp"),
        },
    }
    luma = {
        "model": "luma",
        "task_type": "video_generation",
        "input": {
            "prompt": "a product turning",
            "start_image": images.url("product.png"),
            "end_image": images.url("photo.jpg"),
        },
    }
    sandbox = _sandbox(Clock())
    sandbox.create(body)
    sandbox.create(luma)

    kling_row, luma_row = sandbox.summary()
    assert [(r["field"], r["image_type"]) for r in kling_row["images"]] == [
        ("image_url", "jpeg"),
        ("image_tail_url", "webp"),
    ]
    assert [(r["field"], r["image_type"]) for r in luma_row["images"]] == [
        ("start_image", "png"),
        ("end_image", "jpeg"),
    ]


def test_without_fetch_images_nothing_is_downloaded(images: ImageServer) -> None:
    before = len(images.hits)
    sandbox = _sandbox(Clock(), fetch=False)

    sandbox.create(_skyreels(images.url("product.png")))

    assert len(images.hits) == before
    assert sandbox.summary()[0]["images"] == []


def test_the_sandbox_is_built_without_fetching_by_default() -> None:
    assert Sandbox(public_url="http://sandbox.test").fetch_images is False


def test_sandbox_tasks_lists_each_tasks_images(images: ImageServer) -> None:
    sandbox = _sandbox(Clock())
    http = create_sandbox_app(sandbox).test_client()

    resp = http.post(
        "/api/v1/task", json=_skyreels(images.url("product.png")), headers={"x-api-key": "k"}
    )
    assert resp.status_code == 200
    (task,) = http.get("/sandbox/tasks").get_json()["tasks"]

    assert task["images"] == [
        fetch_image("image", images.url("product.png"), timeout_s=2).as_dict()
    ]
