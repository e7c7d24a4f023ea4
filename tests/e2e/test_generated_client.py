"""A client generated from the running stack's /api/openapi.json runs the spec's flow, typed.

openapi-python-client generates the package (a warning fails, but for those ALLOWED_WARNINGS
names: every construct of the document is one it understands); generated_client_flow.py,
beside it, runs text- and image-to-video, follows both to completed and reads the library.
`mypy --strict` over the flow proves what the annotations in it say: the always-present
fields are not optional, and no cast is needed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
CONFIG = "post_hooks: []\npackage_name_override: videogen_api\n"
# Assignments mypy must refuse: a string id is not an int, a nullable time may be None.
WRONG = """\
from __future__ import annotations

import datetime as dt

from videogen_api.models import Job, LibraryPage


def wrong(job: Job, page: LibraryPage) -> None:
    video_id: int = job.video_id
    started_at: dt.datetime = job.started_at
    next_cursor: str = page.next_cursor
"""


# What the generator may not understand, each with the reason that is fine. A raw image body
# (POST /api/uploads, once uploads exist) has no function of its own: the same route takes
# multipart/form-data, which the client does have.
ALLOWED_WARNINGS = [("POST /api/uploads", "Unsupported content type image/")]


def _unexpected_warnings(report: str) -> list[str]:
    """Every generator warning that ALLOWED_WARNINGS does not name."""
    found = re.findall(r"WARNING parsing (\S+ \S+) within \S+\.\s+([^\n]+)", report)
    unexpected = [
        f"{operation}: {reason}"
        for operation, reason in found
        if not any(
            operation == allowed and reason.startswith(start) for allowed, start in ALLOWED_WARNINGS
        )
    ]
    parsed = len(found)
    others = report.count("WARNING") - parsed
    return unexpected + ["a warning of another kind"] * others


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def client_dir(stack: Stack, tmp_path: Path) -> Path:
    """tmp_path holding the generated package videogen_api and the flow beside it."""
    (tmp_path / "generator.yml").write_text(CONFIG)
    document = stack.http().get(f"{stack.api}/api/openapi.json", timeout=30)
    assert document.status_code == 200
    (tmp_path / "openapi.json").write_text(document.text)
    generated = _run(
        str(BIN / "openapi-python-client"),
        "generate",
        "--path",
        "openapi.json",
        "--meta",
        "none",
        "--config",
        "generator.yml",
        "--output-path",
        "videogen_api",
        cwd=tmp_path,
    )
    report = generated.stdout + generated.stderr
    assert generated.returncode == 0, report
    assert _unexpected_warnings(report) == [], report
    shutil.copy(HERE / "generated_client_flow.py", tmp_path / "flow.py")
    (tmp_path / "wrong.py").write_text(WRONG)
    return tmp_path


def _mypy(cwd: Path, script: str) -> subprocess.CompletedProcess[str]:
    # Errors inside the generated package are not ours to judge: silent, but still read.
    return _run(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--follow-imports=silent",
        "--no-incremental",
        "--cache-dir=/dev/null",
        script,
        cwd=cwd,
    )


def test_the_flow_type_checks_with_no_cast_and_required_fields(client_dir: Path) -> None:
    flow = (client_dir / "flow.py").read_text()
    assert "cast(" not in flow and "type: ignore" not in flow and "Any =" not in flow

    checked = _mypy(client_dir, "flow.py")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The same checker refuses what the document does not promise, so the pass means something.
    refused = _mypy(client_dir, "wrong.py")
    assert refused.returncode == 1, refused.stdout
    for line in (9, 10, 11):
        assert f"wrong.py:{line}: error: Incompatible types in assignment" in refused.stdout


def test_the_generated_client_runs_the_specs_flow(stack: Stack, client_dir: Path) -> None:
    run = _run(sys.executable, "flow.py", stack.api, stack.key, cwd=client_dir)
    assert run.returncode == 0, run.stdout + run.stderr
    seen: dict[str, Any] = json.loads(run.stdout)

    t2v, i2v = seen["finished"]
    assert [job["status"] for job in seen["accepted"]] == ["processing", "processing"]
    assert (t2v["status"], i2v["status"]) == ("completed", "completed")
    assert (t2v["generation_mode"], i2v["generation_mode"]) == ("text_to_video", "image_to_video")
    assert i2v["provider"] == "piapi_wanx_1.3b"
    # "123" and 123 in the bodies are the same campaign, a string in every answer.
    assert t2v["campaign_id"] == i2v["campaign_id"] == "123"
    assert t2v["video_url"] and i2v["video_url"]
    assert t2v["progress"] == i2v["progress"] == 100
    library = seen["library"]
    assert {t2v["video_id"], i2v["video_id"]} <= set(library["ids"])
    assert library["total"] >= 2 and library["per_page"] == 100 and library["page"] == 1
