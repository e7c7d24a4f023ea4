"""py-spy over our processes, and summaries of its raw output: where the samples went."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from tests.stack import VENV_BIN

# py-spy (a dev dependency) needs ptrace; without it the bench runs unprofiled.
PY_SPY = shutil.which("py-spy", path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")

ROOT = str(Path(__file__).resolve().parent.parent) + "/"


OUR_PACKAGES = ("api/", "models/", "workers/", "providers/", "bench/")
ROUND_TRIPS = ("_PGDialect_common_psycopg.do_ping", "Task.delay", "Session.commit", "Session.close")


def _frame(frame: str) -> str:
    # py-spy writes "function (path/to/file.py:line)"; keep the function and a short path:
    # relative to site-packages for libraries, to the checkout for our code.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(ROOT):
        path = path[len(ROOT) :]
    return f"{name} ({path})"


def record(
    pid: int | str, path: Path, *, rate: int, duration_s: int, subprocesses: bool = False
) -> subprocess.Popen[bytes]:
    """Start py-spy sampling pid into path (raw collapsed stacks); SIGINT ends it early."""
    return subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            "--pid",
            str(pid),
            *(["--subprocesses"] if subprocesses else []),
            "--rate",
            str(rate),
            "--duration",
            str(duration_s),
            "--format",
            "raw",
            "--output",
            str(path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def saved(path: Path) -> dict[str, object] | None:
    """The summary of a finished recording, with where its raw stacks are; None if none."""
    return {"raw": str(path), **summarise(path)} if path.exists() else None


def summarise(path: Path, *, top: int = 15) -> dict[str, object]:
    """Share of samples per function, inclusive (anywhere on the stack) and self (on top)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if f]
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n

    def share(counts: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counts.most_common(top)]

    ours = Counter({name: n for name, n in inclusive.items() if _is_ours(name)})
    return {"samples": total, "inclusive_pct": share(ours), "self_pct": share(own)}


def _is_ours(name: str) -> bool:
    """Our own functions, and the library calls that are one round trip each."""
    where = name.rpartition(" (")[2]
    return where.startswith(OUR_PACKAGES) or name.startswith(ROUND_TRIPS)
