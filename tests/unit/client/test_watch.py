"""`videogen watch` and `submit --watch`: plain lines in a pipe, a live bar on a terminal."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import responses
from rich.console import Console

from client.api import APIError, ClientError, VideoClient
from client.main import JOB_CANCELED, JOB_FAILED, OK, REFUSED, UNAVAILABLE, main
from client.watch import MAX_MISSED_POLLS, elapsed_s, plain_line, watch

API = "http://api.test"
KEY = "vg_live_unit_secret_4242"
STATUS = f"{API}/api/video/status/7"


def job(status: str = "processing", progress: int = 0, **extra: object) -> dict:
    return {
        "video_id": "7",
        "status": status,
        "progress": progress,
        "created_at": "2026-11-26T09:00:00Z",
        "completed_at": "2026-11-26T09:01:05Z" if status != "processing" else None,
        "video_url": "http://cdn.test/v.mp4" if status == "completed" else None,
        "error_code": "10000" if status == "failed" else None,
        "error_message": "PiAPI failed the task" if status == "failed" else None,
        **extra,
    }


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOGEN_URL", API)
    monkeypatch.setenv("VIDEOGEN_API_KEY", KEY)


@pytest.fixture
def api() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def test_watch_prints_a_line_per_change_and_exits_0_on_completed(api, capsys) -> None:
    for body in (job(), job(progress=0), job(progress=50), job("completed", 50)):
        api.get(STATUS, json=body)

    code = main(["watch", "7", "--interval", "0"])
    out, err = capsys.readouterr()

    assert code == OK
    lines = out.splitlines()
    assert lines == [
        lines[0],
        lines[1],
        "video 7: completed 100% (elapsed 0:01:05)",  # completed is 100% whatever PiAPI said
        "completed: http://cdn.test/v.mp4",
    ]
    assert lines[0].startswith("video 7: processing 0% (elapsed ")  # the repeat is not shown
    assert lines[1].startswith("video 7: processing 50% (elapsed ")
    assert KEY not in out + err


@pytest.mark.parametrize(
    ("final", "exit_code", "shown"),
    [
        ("failed", JOB_FAILED, "failed (10000: PiAPI failed the task)"),
        ("canceled", JOB_CANCELED, "canceled"),
    ],
)
def test_watch_exits_non_zero_when_the_job_does_not_complete(
    api, capsys, final, exit_code, shown
) -> None:
    api.get(STATUS, json=job(progress=20))
    api.get(STATUS, json=job(final, 20))

    code = main(["watch", "7", "--interval", "0"])

    assert code == exit_code
    out = capsys.readouterr().out
    assert f"video 7: {final} 20%" in out
    assert out.splitlines()[-1] == shown


def test_submit_watch_starts_from_the_generate_body(api, capsys) -> None:
    api.post(f"{API}/api/video/generate", status=202, json=job())
    api.get(STATUS, json=job("completed", 100))

    code = main(["submit", "A cat", "--watch", "--interval", "0"])
    out, err = capsys.readouterr()

    assert code == OK
    assert "submitted video 7" in err
    assert out.splitlines()[0].startswith("video 7: processing 0%")
    assert "video 7: completed 100%" in out


def test_watch_rides_out_a_few_missed_polls(api, capsys) -> None:
    api.get(STATUS, json={"error": {"code": "unavailable", "message": "DB down"}}, status=503)
    api.get(STATUS, body=__import__("requests").ConnectionError("refused"))
    api.get(STATUS, json=job("completed", 100))

    assert main(["watch", "7", "--interval", "0"]) == OK
    assert capsys.readouterr().out.count("poll failed") == 2


def test_watch_gives_up_after_too_many_missed_polls(api, capsys) -> None:
    api.get(STATUS, status=503, json={"error": {"code": "unavailable", "message": "DB down"}})

    assert main(["watch", "7", "--interval", "0"]) == UNAVAILABLE
    assert f"gave up watching after {MAX_MISSED_POLLS + 1} failed polls" in capsys.readouterr().err


def test_watch_of_someone_elses_job_is_refused_at_once(api, capsys) -> None:
    api.get(STATUS, status=404, json={"error": {"code": "not_found", "message": "No video 7."}})

    assert main(["watch", "7", "--interval", "0"]) == REFUSED
    assert len(api.calls) == 1


def test_watch_sleeps_the_interval_between_polls(api) -> None:
    api.get(STATUS, json=job(progress=10))
    api.get(STATUS, json=job("completed", 100))
    slept: list[float] = []

    watch(
        VideoClient(API, KEY), "7", Console(file=io.StringIO()), interval_s=1.5, sleep=slept.append
    )

    assert slept == [1.5]  # none before the first poll, one between the two


def test_on_a_terminal_the_bar_is_redrawn_up_to_100_percent(api) -> None:
    api.get(STATUS, json=job(progress=25))
    api.get(STATUS, json=job(progress=60))
    api.get(STATUS, json=job("completed", 100))
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)

    final = watch(VideoClient(API, KEY), "7", console, interval_s=0, sleep=lambda _s: None)

    drawn = screen.getvalue()
    assert final["status"] == "completed"
    assert "\r" in drawn or "\x1b[" in drawn  # redrawn in place, not line after line
    frames = [
        f for f in re.split(r"[\r\n]", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)) if f.strip()
    ]
    last = frames[-1]
    assert "video 7" in last and "100%" in last and "completed" in last and "0:01:05" in last
    assert "━" in last  # the bar itself


def test_elapsed_runs_from_creation_and_stops_at_the_end() -> None:
    now = dt.datetime(2026, 11, 26, 9, 0, 42, tzinfo=dt.UTC)
    assert elapsed_s(job(), now) == 42
    assert elapsed_s(job("completed", 100), now) == 65
    assert plain_line(job(progress=5) | {"created_at": None}) == (
        "video 7: processing 5% (elapsed 0:00:00)"
    )


def test_api_error_transience() -> None:
    assert APIError(503, "unavailable", "").transient
    assert APIError(429, "rate_limited", "").transient
    assert not APIError(404, "not_found", "").transient
    assert isinstance(APIError(404, "not_found", ""), ClientError)


def test_brackets_in_an_error_message_are_shown_as_they_are(api, capsys) -> None:
    api.get(STATUS, json=job(progress=20))
    api.get(STATUS, json=job("failed", 20, error_message="script had [sandbox:fail] in [b]it"))

    assert main(["watch", "7", "--interval", "0"]) == JOB_FAILED
    assert capsys.readouterr().out.splitlines()[-1] == (
        "failed (10000: script had [sandbox:fail] in [b]it)"
    )
