"""The videogen CLI against a mocked HTTP API: arguments, bodies, output and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from responses import matchers
from rich.console import Console

from client.main import (
    LOCAL,
    NOT_READY,
    OK,
    REFUSED,
    UNAVAILABLE,
    USAGE,
    build_parser,
    main,
)
from client.render import library_table

API = "http://api.test"
KEY = "vg_live_unit_secret_4242"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {KEY}"})
VIDEO_URL = "http://cdn.test/media/abc/video.mp4"


def job(status: str = "processing", progress: int = 0, **extra: object) -> dict:
    return {
        "video_id": "7",
        "status": status,
        "progress": progress,
        "generation_mode": "text_to_video",
        "provider": "piapi_hunyuan_fast",
        "model_name": "Qubico/hunyuan",
        "script": "A cat playing with a ball",
        "cost": 0.03,
        "duration": 5,
        "created_at": "2026-11-26T09:00:00Z",
        "completed_at": "2026-11-26T09:00:09Z" if status != "processing" else None,
        "video_url": VIDEO_URL if status == "completed" else None,
        **extra,
    }


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOGEN_URL", API)
    monkeypatch.setenv("VIDEOGEN_API_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "160")


@pytest.fixture
def api() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err  # whatever happened, the key is never shown
    return code, out, err


def test_submit_sends_only_the_given_fields_with_the_key(api, capsys) -> None:
    api.post(
        f"{API}/api/video/generate",
        status=202,
        json=job(),
        match=[
            AUTH,
            matchers.json_params_matcher(
                {
                    "generation_mode": "text_to_video",
                    "script": "A cat playing with a ball",
                    "style": "social",
                    "duration": 5,
                    "campaign_id": "123",
                }
            ),
        ],
    )

    code, out, err = run(
        capsys, "submit", "A cat playing with a ball", "--style", "social",
        "--duration", "5", "--campaign-id", "123",
    )  # fmt: skip

    assert (code, out.strip()) == (OK, "7")  # the id alone on stdout, for $(videogen submit)
    assert "submitted video 7" in err


def test_submit_with_an_image_is_image_to_video_and_sends_idempotency_key(api, capsys) -> None:
    api.post(
        f"{API}/api/video/generate",
        status=202,
        json=job(generation_mode="image_to_video"),
        match=[
            matchers.header_matcher({"Idempotency-Key": "retry-1"}),
            matchers.json_params_matcher(
                {
                    "generation_mode": "image_to_video",
                    "script": "Animate this product",
                    "image_url": "https://example.com/product.jpg",
                    "provider": "piapi_wanx_1.3b",
                    "webhook_events": ["completed", "progress"],
                }
            ),
        ],
    )

    code, _, _ = run(
        capsys, "submit", "Animate this product", "--image-url", "https://example.com/product.jpg",
        "--provider", "piapi_wanx_1.3b", "--idempotency-key", "retry-1",
        "--webhook-event", "completed", "--webhook-event", "progress",
    )  # fmt: skip

    assert code == OK


def test_submit_reads_the_script_from_stdin(api, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("from a file"))
    api.post(
        f"{API}/api/video/generate",
        status=202,
        json=job(),
        match=[
            matchers.json_params_matcher(
                {"generation_mode": "text_to_video", "script": "from a file"}
            )
        ],
    )

    assert run(capsys, "submit", "-")[0] == OK


def test_validation_errors_show_every_failing_field(api, capsys) -> None:
    api.post(
        f"{API}/api/video/generate",
        status=422,
        json={
            "error": {
                "code": "validation_error",
                "message": "The request is invalid.",
                "fields": {
                    "style": ["Must be one of: educational, marketing, social."],
                    "webhook_events": {"0": ["Must be one of: completed."]},
                },
            }
        },
    )

    code, out, err = run(capsys, "submit", "x", "--style", "funky")

    assert code == REFUSED
    assert out == ""
    assert "422 validation_error: The request is invalid." in err
    assert "style: Must be one of: educational, marketing, social." in err
    assert "webhook_events.0: Must be one of: completed." in err


@pytest.mark.parametrize(
    ("status", "body", "exit_code", "shown"),
    [
        (401, {"error": {"code": "unauthorized", "message": "Unknown key."}}, REFUSED, "401"),
        (404, {"error": {"code": "not_found", "message": "No video 7."}}, REFUSED, "No video 7."),
        (429, {"error": {"code": "rate_limited", "message": "Too many."}}, UNAVAILABLE, "retry"),
        (503, {"error": {"code": "unavailable", "message": "DB down."}}, UNAVAILABLE, "503"),
        (502, "<html>bad gateway</html>", UNAVAILABLE, "502 http_error"),
    ],
)
def test_api_errors_map_to_exit_codes(api, capsys, status, body, exit_code, shown) -> None:
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    api.get(f"{API}/api/video/status/7", status=status, headers={"Retry-After": "3"}, **kwargs)

    code, _, err = run(capsys, "status", "7")

    assert code == exit_code
    assert shown in err


def test_unreachable_api_is_exit_4_without_the_key(api, capsys) -> None:
    api.get(f"{API}/api/video/library", body=__import__("requests").ConnectionError("refused"))

    code, _, err = run(capsys, "library")

    assert code == UNAVAILABLE
    assert f"cannot reach {API}" in err


def test_no_key_is_a_usage_error(capsys, monkeypatch) -> None:
    monkeypatch.delenv("VIDEOGEN_API_KEY")

    code, _, err = run(capsys, "library")

    assert code == USAGE
    assert "VIDEOGEN_API_KEY" in err


def test_url_and_key_options_work_before_and_after_the_command(monkeypatch) -> None:
    monkeypatch.delenv("VIDEOGEN_URL")
    parser = build_parser()

    assert parser.parse_args(["status", "1"]).url == "http://127.0.0.1:8000"
    assert parser.parse_args(["--url", "http://a", "status", "1"]).url == "http://a"
    after = parser.parse_args(["--key", "k1", "status", "1", "--url", "http://b"])
    assert (after.url, after.key) == ("http://b", "k1")


@pytest.mark.parametrize(
    "argv",
    [[], ["submit"], ["submit", "x", "--mode", "gif"], ["watch"], ["library", "--status", "x"]],
)
def test_bad_arguments_exit_2(capsys, argv) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == USAGE
    assert KEY not in "".join(capsys.readouterr())


def test_help_does_not_show_the_key_from_the_environment(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert KEY not in "".join(capsys.readouterr())


def test_status_summary_and_json(api, capsys) -> None:
    failed = job("failed", 40, error_code="10000", error_message="PiAPI failed it")
    api.get(f"{API}/api/video/status/7", json=failed, match=[AUTH])
    api.get(f"{API}/api/video/status/7", json=failed)

    code, out, _ = run(capsys, "status", "7")
    assert code == OK
    assert "failed" in out and "40%" in out and "10000: PiAPI failed it" in out
    assert "$0.03" in out and "piapi_hunyuan_fast (Qubico/hunyuan)" in out

    code, out, _ = run(capsys, "status", "7", "--json")
    assert (code, json.loads(out)) == (OK, failed)


def test_library_table_with_filters(api, capsys) -> None:
    page = {
        "videos": [
            job("completed", 100, video_id="9", script="A very long script " * 10),
            job("processing", 30, video_id="8", provider="piapi_wanx_1.3b", cost=0.12),
        ],
        "page": 2,
        "per_page": 2,
        "total": 5,
    }
    api.get(
        f"{API}/api/video/library",
        json=page,
        match=[
            matchers.query_param_matcher(
                {"page": "2", "per_page": "2", "status": "completed", "provider": "piapi_wanx_1.3b"}
            )
        ],
    )

    code, out, _ = run(
        capsys, "library", "--page", "2", "--per-page", "2", "--status", "completed",
        "--provider", "piapi_wanx_1.3b",
    )  # fmt: skip

    assert code == OK
    lines = out.splitlines()
    header = next(line for line in lines if "created (UTC)" in line)
    for column in ("id", "mode", "status", "progress", "provider", "cost", "script"):
        assert column in header
    row9 = next(line for line in lines if "2026-11-26 09:00 " in line and " 9 " in line)
    assert "completed" in row9 and "100%" in row9 and "$0.03" in row9
    assert "A very long script A very" in row9 and "…" in row9  # an excerpt, not the script
    row8 = next(line for line in lines if " 8 " in line)
    assert "30%" in row8 and "piapi_wanx_1.3b" in row8 and "$0.12" in row8
    assert "page 2 of 3, 5 videos" in out


def test_download_streams_the_video_without_sending_the_key(api, capsys, tmp_path) -> None:
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 1000
    api.get(f"{API}/api/video/status/7", json=job("completed", 100))
    api.get(VIDEO_URL, body=video, headers={"Content-Length": str(len(video))})
    dest = tmp_path / "out.mp4"

    code, _, err = run(capsys, "download", "7", "-o", str(dest))

    assert code == OK
    assert dest.read_bytes() == video
    assert f"saved {len(video)} bytes" in err
    assert "Authorization" not in api.calls[1].request.headers  # another host: no key
    assert list(tmp_path.iterdir()) == [dest]  # the .part file is gone


def test_download_defaults_to_video_id_mp4(api, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    api.get(f"{API}/api/video/status/7", json=job("completed", 100))
    api.get(VIDEO_URL, body=b"mp4")

    assert run(capsys, "download", "7")[0] == OK
    assert (tmp_path / "video-7.mp4").read_bytes() == b"mp4"


def test_download_of_an_unfinished_job_writes_nothing(api, capsys, tmp_path) -> None:
    api.get(f"{API}/api/video/status/7", json=job("processing", 10))

    code, _, err = run(capsys, "download", "7", "-o", str(tmp_path / "x.mp4"))

    assert code == NOT_READY
    assert "processing" in err
    assert list(tmp_path.iterdir()) == []


def test_download_refused_by_the_media_host_leaves_no_file(api, capsys, tmp_path) -> None:
    api.get(
        f"{API}/api/video/status/7",
        json=job("completed", 100, video_url=VIDEO_URL + "?X-Amz-Signature=tok"),
    )
    api.get(VIDEO_URL, status=403, body="expired")

    code, _, err = run(capsys, "download", "7", "-o", str(tmp_path / "x.mp4"))

    assert code == REFUSED
    assert "403" in err and "X-Amz-Signature" not in err  # a signed URL's token is a secret
    assert list(tmp_path.iterdir()) == []


def test_cancel(api, capsys) -> None:
    api.post(f"{API}/api/video/7/cancel", json=job("canceled"), match=[AUTH])

    code, out, _ = run(capsys, "cancel", "7")

    assert (code, out.strip()) == (OK, "video 7: canceled")


def test_the_cli_imports_nothing_of_the_service() -> None:
    probe = (
        "import sys, client.main, client.watch, client.render, client.api; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'celery', 'sqlalchemy', 'kombu', 'api', 'models', 'workers', 'providers'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    ).stdout.strip()
    assert loaded == "[]"


@pytest.mark.parametrize(
    ("width", "kept", "dropped"),
    [
        (140, ["id", "created (UTC)", "mode", "script"], []),
        (100, ["id", "created (UTC)", "mode", "cost"], ["script"]),
        (80, ["id", "mode", "status", "cost"], ["script", "created (UTC)"]),
        (60, ["id", "status", "progress", "provider", "cost"], ["script", "created", "mode"]),
    ],
)
def test_a_narrow_terminal_drops_columns_instead_of_cutting_them(width, kept, dropped) -> None:
    page = {"videos": [job("processing", 40, video_id="12")], "page": 1, "per_page": 20, "total": 1}
    screen = io.StringIO()
    Console(file=screen, width=width).print(library_table(page, width))

    lines = screen.getvalue().splitlines()
    header = next(line for line in lines if " id " in f" {line} ")
    row = next(line for line in lines if line.lstrip().startswith("12 "))
    assert all(column in header for column in kept)
    assert not any(column in header for column in dropped)
    assert "…" not in row.replace("A cat playing with a ball", "")  # nothing else is cut
    assert "piapi_hunyuan_fast" in row and "40%" in row
    assert max(len(line) for line in lines) <= width


def test_download_into_a_folder_uses_the_default_name(api, capsys, tmp_path) -> None:
    api.get(f"{API}/api/video/status/7", json=job("completed", 100))
    api.get(VIDEO_URL, body=b"mp4")

    assert run(capsys, "download", "7", "-o", str(tmp_path))[0] == OK
    assert (tmp_path / "video-7.mp4").read_bytes() == b"mp4"


def test_download_to_an_unwritable_place_is_a_clear_error(api, capsys, tmp_path) -> None:
    api.get(f"{API}/api/video/status/7", json=job("completed", 100))
    api.get(VIDEO_URL, body=b"mp4")

    code, _, err = run(capsys, "download", "7", "-o", str(tmp_path / "missing" / "x.mp4"))

    assert code == LOCAL
    assert "cannot write" in err and "Traceback" not in err


def test_library_follows_a_cursor_and_prints_the_next_one(api, capsys) -> None:
    page = {
        "videos": [job("completed", 100, video_id="9")],
        "page": 501,
        "per_page": 1,
        "total": 1_000_000,
        "total_is_estimate": True,
        "next_cursor": "WzEsMTc2NCwyLDUwMiwiYWJjIl0",
    }
    api.get(
        f"{API}/api/video/library",
        json=page,
        match=[
            matchers.query_param_matcher(
                {"cursor": "abc-_1", "per_page": "1", "campaign_id": "7 8"}
            )
        ],
    )

    code, out, err = run(
        capsys, "library", "--cursor", "abc-_1", "--per-page", "1", "--campaign-id", "7 8"
    )

    assert code == OK
    assert "page 501 of about 1000000, about 1000000 videos" in out
    assert (
        "next page: videogen library --campaign-id '7 8' --per-page 1"
        " --cursor WzEsMTc2NCwyLDUwMiwiYWJjIl0" in err
    )


def test_library_last_page_prints_no_cursor_and_page_with_cursor_is_refused(api, capsys) -> None:
    body = {"videos": [], "page": 1, "per_page": 20, "total": 0, "next_cursor": None}
    api.get(
        f"{API}/api/video/library",
        json=body,
        match=[matchers.query_param_matcher({"per_page": "20"})],
    )

    code, _, err = run(capsys, "library")

    assert code == OK and "next page" not in err
    with pytest.raises(SystemExit) as exited:
        main(["library", "--page", "2", "--cursor", "abc"])
    assert exited.value.code == USAGE


def test_every_command_and_exit_code_is_in_the_cli_reference() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text()
    reference = docs[docs.index("## The videogen CLI") :]
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]

    for name in commands:
        assert f"| `videogen {name}" in reference, name
    for code in (OK, USAGE, REFUSED, UNAVAILABLE, NOT_READY, LOCAL):
        assert f"| `{code}` |" in reference
