"""`videogen submit` with image files and model options: the file is uploaded first (its
bytes as multipart `file`), then generate carries the upload's id; --option values are JSON
when they parse; a refused upload is exit 3 and makes no job."""

from __future__ import annotations

import argparse
import io
from typing import Any

import pytest
import responses
from responses import matchers
from werkzeug.wrappers import Request

from client.compose import parse_option
from client.exit_codes import OK, REFUSED, USAGE
from client.main import main
from tests.unit.client.conftest import API, KEY, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
JPEG = b"\xff\xd8\xff\xe0" + b"last frame" * 100


def upload_body(upload_id: str, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "url": f"{API}/media/uploads/{upload_id}",
        "content_type": content_type,
        "size": len(data),
        "sha256": "0" * 64,
        "width": 640,
        "height": 480,
        "expires_at": "2026-11-27T09:00:00Z",
    }


def job(**extra: Any) -> dict[str, Any]:
    return {
        "video_id": "7",
        "status": "processing",
        "provider": "piapi_kling_3",
        "cost": 0.75,
        "cost_estimated": False,
        **extra,
    }


def sent_file(call: Any) -> tuple[str | None, str | None, bytes]:
    """The multipart request's `file` field as the server (werkzeug) reads it."""
    body = call.request.body
    body = body if isinstance(body, bytes) else body.encode()
    request = Request.from_values(
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=call.request.headers["Content-Type"],
        method="POST",
    )
    try:
        part = request.files["file"]
        return part.filename, part.mimetype, part.read()
    finally:
        request.close()  # its spooled temporary files


def test_submit_image_uploads_the_file_then_generates_with_its_id(mocked_api, capsys, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    mocked_api.post(
        f"{API}/api/uploads",
        status=201,
        json=upload_body("upl_" + "a" * 24, PNG),
        match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})],
    )
    mocked_api.post(
        f"{API}/api/video/generate",
        status=202,
        json=job(generation_mode="image_to_video"),
        match=[
            matchers.json_params_matcher(
                {
                    "generation_mode": "image_to_video",  # implied by --image
                    "script": "Animate this product",
                    "provider": "piapi_kling_3",
                    "image_upload_id": "upl_" + "a" * 24,
                    "options": {"enable_audio": True, "mode": "pro"},
                }
            )
        ],
    )

    code, out, err = run_cli(
        capsys, "submit", "Animate this product", "--image", str(photo),
        "--provider", "piapi_kling_3", "--option", "enable_audio=true", "--option", "mode=pro",
    )  # fmt: skip

    assert (code, out.strip()) == (OK, "7")
    upload = mocked_api.calls[0]
    assert upload.request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.request.headers["Content-Length"] == str(len(upload.request.body))
    assert sent_file(upload) == ("photo.png", "image/png", PNG)
    assert f"uploaded photo.png ({len(PNG)} bytes, image/png, 640x480): upl_" in err
    assert "submitted video 7 (piapi_kling_3, $0.75)" in err


def test_submit_end_image_is_uploaded_too(mocked_api, capsys, tmp_path) -> None:
    first, last = tmp_path / "first.png", tmp_path / "last.jpg"
    first.write_bytes(PNG)
    last.write_bytes(JPEG)
    mocked_api.post(f"{API}/api/uploads", status=201, json=upload_body("upl_" + "1" * 24, PNG))
    mocked_api.post(
        f"{API}/api/uploads", status=201, json=upload_body("upl_" + "2" * 24, JPEG, "image/jpeg")
    )
    mocked_api.post(
        f"{API}/api/video/generate",
        status=202,
        json=job(cost=0.2, cost_estimated=True),
        match=[
            matchers.json_params_matcher(
                {
                    "generation_mode": "image_to_video",
                    "script": "A door opens",
                    "provider": "piapi_luma",
                    "image_upload_id": "upl_" + "1" * 24,
                    "end_image_upload_id": "upl_" + "2" * 24,
                }
            )
        ],
    )

    code, _, err = run_cli(
        capsys, "submit", "A door opens", "--provider", "piapi_luma",
        "--image", str(first), "--end-image", str(last),
    )  # fmt: skip

    assert code == OK
    assert sent_file(mocked_api.calls[0]) == ("first.png", "image/png", PNG)
    assert sent_file(mocked_api.calls[1]) == ("last.jpg", "image/jpeg", JPEG)
    assert "$0.20 est." in err


def test_submit_prints_price_not_published_for_a_null_cost(mocked_api, capsys) -> None:
    mocked_api.post(
        f"{API}/api/video/generate",
        status=202,
        json=job(provider="piapi_sora2_pro", cost=None, cost_estimated=True),
    )

    code, _, err = run_cli(capsys, "submit", "A fox", "--provider", "piapi_sora2_pro")

    assert code == OK
    assert "submitted video 7 (piapi_sora2_pro, price not published)" in err
    assert "$None" not in err


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (415, "unsupported_media_type", "The file is not a JPEG, PNG or WebP image."),
        (413, "payload_too_large", "The file is over 20 MB."),
        (422, "validation_error", "The file is empty."),
    ],
)
def test_a_refused_upload_is_exit_3_and_makes_no_job(
    mocked_api, capsys, tmp_path, status, code, message
) -> None:
    page = tmp_path / "photo.jpg"
    page.write_bytes(b"<!doctype html><title>not an image</title>")
    mocked_api.post(
        f"{API}/api/uploads",
        status=status,
        json={"error": {"code": code, "message": message, "fields": {"file": [message]}}},
    )  # no generate is mocked: calling it would fail the test

    exit_code, out, err = run_cli(capsys, "submit", "x", "--image", str(page))

    assert (exit_code, out) == (REFUSED, "")
    assert f"{status} {code}: {message}" in err and f"file: {message}" in err
    assert sent_file(mocked_api.calls[0])[1] == "application/octet-stream"  # not an image


def test_a_connection_dropped_mid_upload_is_exit_4(mocked_api, capsys, tmp_path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    mocked_api.post(f"{API}/api/uploads", body=__import__("requests").ConnectionError("reset"))

    code, _, err = run_cli(capsys, "submit", "x", "--image", str(photo))

    assert code == 4 and "cannot reach" in err


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["--image", "{missing}"], "no such file"),
        (["--image", "{photo}", "--mode", "text_to_video"], "--image is for --mode image_to_video"),
        (
            ["--image", "{photo}", "--end-image", "{photo}", "--option", "end_image_url=https://a"],
            "not both",
        ),
    ],
)
def test_image_arguments_are_checked_before_any_upload(capsys, tmp_path, argv, shown) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    paths = {"missing": tmp_path / "nope.png", "photo": photo}
    args = [a.format(**paths) for a in argv]

    with responses.RequestsMock(assert_all_requests_are_fired=False) as nothing:
        code, _, err = run_cli(capsys, "submit", "x", *args)
        assert not nothing.calls

    assert code == USAGE and shown in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--image", "a.png", "--image-url", "https://example.com/a.png"],
        ["--option", "enable_audio"],
        ["--option", "=true"],
    ],
)
def test_bad_image_and_option_arguments_exit_2(capsys, argv) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["submit", "x", *argv])
    assert exited.value.code == USAGE


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("enable_audio=true", ("enable_audio", True)),
        ("mode=pro", ("mode", "pro")),
        ("cfg_scale=0.7", ("cfg_scale", 0.7)),
        ("lora_strength=1", ("lora_strength", 1)),
        ("end_image_url=null", ("end_image_url", None)),
        ("negative_prompt=blurry, dark", ("negative_prompt", "blurry, dark")),
        ('negative_prompt="123"', ("negative_prompt", "123")),
        ("negative_prompt=", ("negative_prompt", "")),
        ("end_image_url=https://x.test/a.jpg?b=c", ("end_image_url", "https://x.test/a.jpg?b=c")),
        (" mode =pro", ("mode", "pro")),
    ],
)
def test_option_values_are_json_when_they_parse_else_strings(text, parsed) -> None:
    assert parse_option(text) == parsed


def test_a_bad_option_names_the_form_it_wants() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=VALUE"):
        parse_option("enable_audio")


def test_a_large_upload_shows_a_byte_bar_on_a_terminal(mocked_api, tmp_path) -> None:
    from rich.console import Console

    from client.api import VideoClient
    from client.compose import PROGRESS_MIN_BYTES, upload

    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (PROGRESS_MIN_BYTES + 10)
    big = tmp_path / "big.png"
    big.write_bytes(data)
    mocked_api.post(f"{API}/api/uploads", status=201, json=upload_body("upl_" + "b" * 24, data))
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)

    answer = upload(VideoClient(API, KEY), big, terminal)

    assert answer["upload_id"] == "upl_" + "b" * 24
    assert sent_file(mocked_api.calls[0])[2] == data
    shown = screen.getvalue()
    assert "upload big.png" in shown and "1.0/1.0 MB" in shown  # the bar reached the end
    assert "uploaded big.png" in shown
