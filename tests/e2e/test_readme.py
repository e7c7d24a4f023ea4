"""README.md's "Try it" runs as written against the stack `make up` starts, with the answers shown.

Every ```bash block under "## Try it" runs in one bash session, in order, from the
repository's top folder, as a reader would paste it. Only what a reader's machine would
differ in is replaced: the ports (the test's stack listens on free ones) and the data folder.
Each `# ...` line under a command is that command's expected output, where `...` stands
for anything and `<words>` for one value; lines that only a terminal shows (progress bars)
are not compared.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, run_stack
from tests.stack import ROOT

README = ROOT / "README.md"
# `make up` runs the sandbox at 0.25: a Hunyuan job takes 15 s, and the README waits 20 s
# for one. The test runs it at 0.1 (6 s, still long enough for the README to cancel a job
# it has just sent) and shortens the README's waits in proportion.
TIME_SCALE = 0.1
MARK = "@@readme-command-"


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A stack of its own: the README's video ids count from 1.
    with run_stack(
        tmp_path_factory.mktemp("readme"),
        "postgres-redis",
        database="videogen_e2e_readme",
        redis_db=4,
        SANDBOX_TIME_SCALE=str(TIME_SCALE),
        POLL_MIN_INTERVAL_SECONDS="0.5",
    ) as stack:
        yield stack


def try_it_blocks(text: str) -> list[str]:
    """The ```bash blocks of the "Try it" section, in order."""
    section = text.split("\n## Try it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def commands_and_expectations(block: str) -> list[tuple[str, list[str]]]:
    """Each group of command lines with the `# ` lines that follow it."""
    groups: list[tuple[list[str], list[str]]] = []
    for line in block.splitlines():
        if line.startswith("# "):
            if groups:
                groups[-1][1].append(line[2:])
        elif line.strip():
            if not groups or groups[-1][1]:
                groups.append(([], []))
            groups[-1][0].append(line)
        elif groups and groups[-1][0] and not groups[-1][1]:
            groups.append(([], []))  # a blank line ends a group with no expectation
    return [("\n".join(cmd), expect) for cmd, expect in groups if cmd]


def pattern(expected: list[str]) -> re.Pattern[str]:
    """A regex for the shown output: `...` is anything, `<words>` one value."""
    return re.compile(".*?".join(_line_regex(line.strip()) for line in expected), re.S)


def _line_regex(text: str) -> str:
    # "...newest first..." is a remark about what `...` stands for, not text to find.
    text = re.sub(r"\.\.\.[a-z ]+\.\.\.", "...", text)
    parts = re.split(r"(\.\.\.|<[^>]+>)", text)
    return "".join(
        ".*?" if part == "..." else r"[^\s\"',]+" if part.startswith("<") else re.escape(part)
        for part in parts
    )


def localise(text: str, stack: Stack, data_dir: Path) -> str:
    """What differs on the test's machine: the stack's ports and its data folder."""
    text = re.sub(
        r"\bsleep (\d+)", lambda m: f"sleep {math.ceil(int(m[1]) * TIME_SCALE / 0.25)}", text
    )
    return (
        text.replace("http://127.0.0.1:8000", stack.api)
        .replace("http://127.0.0.1:8090", stack.sandbox)
        .replace("var/", f"{data_dir}/")
    )


def test_readme_try_it_runs_as_written(fresh_stack: Stack) -> None:
    data_dir = fresh_stack.log.parent
    groups = [
        group
        for block in try_it_blocks(README.read_text())
        for group in commands_and_expectations(localise(block, fresh_stack, data_dir))
    ]
    assert len(groups) >= 8, groups  # the section exists and still shows both ways in
    script = "set -euo pipefail\nexec 2>&1\n" + "".join(
        f"echo {MARK}{i}\n{command}\n" for i, (command, _) in enumerate(groups)
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    outputs = re.split(rf"{MARK}(\d+)\n", done.stdout)[1:]
    by_group = {int(outputs[i]): outputs[i + 1] for i in range(0, len(outputs), 2)}
    for i, (command, expected) in enumerate(groups):
        shown = [line for line in expected if "━" not in line]  # a terminal's progress bar
        if not shown:
            continue
        if any(line.startswith("completed: ") for line in shown):
            # The README says this line may name PiAPI's URL if the copy was not yet stored.
            shown = [re.sub(r"http.*", "<url>", line) for line in shown]
        assert pattern(shown).search(by_group[i]), (command, shown, by_group[i])
