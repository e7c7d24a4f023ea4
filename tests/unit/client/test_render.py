"""What was quoted and what was charged, in `status` and `library`: "est." for an estimate,
"not published" for no price, and the charge once the task ended."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from client.exit_codes import OK
from client.render import cost, library_table, option_value, options_text
from tests.unit.client.conftest import API, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")


def job(video_id: str, **extra: object) -> dict:
    return {
        "video_id": video_id,
        "status": "completed",
        "progress": 100,
        "generation_mode": "text_to_video",
        "provider": "piapi_kling_3",
        "model_name": "kling",
        "script": "A fox in the snow",
        "cost": 0.75,
        "cost_estimated": False,
        "charged_usd": None,
        "options": {},
        "created_at": "2026-11-26T09:00:00Z",
        **extra,
    }


def test_status_shows_cost_charged_and_options(mocked_api, capsys) -> None:
    body = job(
        "7",
        charged_usd=0.47,
        options={"mode": "pro", "enable_audio": True, "negative_prompt": "", "cfg_scale": 0.5},
    )
    mocked_api.get(f"{API}/api/video/status/7", json=body)

    code, out, _ = run_cli(capsys, "status", "7")

    lines = {line.split("  ", 1)[0]: line for line in out.splitlines()}
    assert code == OK
    assert lines["cost"].split()[-1] == "$0.75"
    assert lines["charged"].split()[-1] == "$0.47"
    assert 'mode=pro, enable_audio=true, negative_prompt="", cfg_scale=0.5' in lines["options"]


def test_status_of_an_unpriced_running_job(mocked_api, capsys) -> None:
    body = job("8", status="processing", cost=None, cost_estimated=True, charged_usd=None)
    mocked_api.get(f"{API}/api/video/status/8", json=body)

    code, out, _ = run_cli(capsys, "status", "8")

    assert code == OK
    assert "price not published" in out
    assert "charged" not in out and "options" not in out  # nothing to show yet


def test_library_shows_estimates_unknown_prices_and_charges(mocked_api, capsys) -> None:
    page = {
        "videos": [
            job("9", charged_usd=0.47),
            job("8", cost=0.28, cost_estimated=True, status="processing", progress=40),
            job("7", cost=None, cost_estimated=True, charged_usd=0.31),
        ],
        "page": 1,
        "per_page": 20,
        "total": 3,
    }
    mocked_api.get(f"{API}/api/video/library", json=page)

    code, out, _ = run_cli(capsys, "library")

    assert code == OK
    header = next(line for line in out.splitlines() if "created (UTC)" in line)
    assert "cost" in header and "charged" in header
    rows = {
        line.split()[0]: line
        for line in out.splitlines()
        if line.split()[:1] in (["9"], ["8"], ["7"])
    }
    assert "$0.75" in rows["9"] and "$0.47" in rows["9"]
    assert "$0.28 est." in rows["8"] and rows["8"].split("est.")[1].split()[0] == "-"
    assert "not published" in rows["7"] and "$0.31" in rows["7"]


def test_charged_is_dropped_before_the_creation_time_on_a_narrow_terminal() -> None:
    page = {"videos": [job("12", charged_usd=0.5)], "page": 1, "per_page": 20, "total": 1}
    screen = io.StringIO()
    Console(file=screen, width=90).print(library_table(page, 90))

    header = next(line for line in screen.getvalue().splitlines() if " id " in f" {line} ")
    assert "created (UTC)" in header and "cost" in header and "charged" not in header


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((0.03,), "$0.03"),
        ((0.28, True), "$0.28 est."),
        ((None, True), "-"),
        ((0.0125,), "$0.0125"),
        ((2,), "$2.00"),
    ],
)
def test_cost(args, text) -> None:
    assert cost(*args) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("pro", "pro"),
        ("blurry hands", '"blurry hands"'),
        ("true", '"true"'),  # a string that would read back as a bool keeps its quotes
        ("12", '"12"'),
        ("", '""'),
        (True, "true"),
        (None, "null"),
        (0.5, "0.5"),
    ],
)
def test_option_values_read_back_the_same_through_option(value, text) -> None:
    assert option_value(value) == text
    assert options_text({"x": value}) == f"x={text}"
