"""The installed `videogen` console script against the running stack, in a pseudo-terminal.

`submit --watch` must draw a live progress bar up to 100% and completed (what a person sees),
and `download` must write the very bytes that the job's video_url serves.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Stack
from tests.stack import VENV_BIN

VIDEOGEN = VENV_BIN / "videogen"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HANG_GUARD_S = 120  # only so a hung CLI fails the test instead of blocking the run


def run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a command with a terminal as stdin/stdout/stderr; its exit code and screen bytes."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    screen = bytearray()
    deadline = time.monotonic() + HANG_GUARD_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        else:
            proc.kill()
        code = proc.wait(timeout=10)
    finally:
        os.close(leader)
    return code, screen.decode(errors="replace")


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)  # the CLI is a pure client
def test_submit_watch_draws_a_bar_to_completion_then_download_saves_the_video(
    stack: Stack, tmp_path: Path
) -> None:
    if not VIDEOGEN.exists():
        pytest.fail(f"{VIDEOGEN} is missing: `make install` installs the console script")
    env = {
        **os.environ,
        "VIDEOGEN_URL": stack.api,
        "VIDEOGEN_API_KEY": stack.key,
        "TERM": "xterm-256color",
        "COLUMNS": "110",
    }
    env.pop("NO_COLOR", None)

    code, screen = run_in_pty(
        [str(VIDEOGEN), "submit", "A cat playing with a ball", "--style", "social",
         "--campaign-id", "123", "--watch", "--interval", "0.3"],
        env,
    )  # fmt: skip

    assert stack.key not in screen
    plain = ANSI.sub("", screen)
    assert code == 0, plain[-3000:]
    assert "\x1b[" in screen  # a terminal: drawn with control sequences, not plain lines
    video_id = re.search(r"submitted video (\d+)", plain).group(1)
    frames = [f for f in re.split(r"[\r\n]", plain) if f"video {video_id}" in f and "━" in f]
    assert frames, plain[-3000:]
    assert "processing" in frames[0]
    assert "100%" in frames[-1] and "completed" in frames[-1]

    job = stack.http().get(f"{stack.api}/api/video/status/{video_id}", timeout=10).json()
    assert (job["status"], job["progress"]) == ("completed", 100)
    # PiAPI's URL at completion; the API's video_url turns into our copy once stored.
    assert re.search(r"completed: http\S+\.mp4", plain)

    dest = tmp_path / "cat.mp4"
    fetched = subprocess.run(
        [str(VIDEOGEN), "download", video_id, "-o", str(dest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert fetched.returncode == 0, fetched.stderr
    served = requests.get(job["video_url"], timeout=10).content
    assert served[4:8] == b"ftyp"  # an MP4, not an error page
    assert dest.read_bytes() == served
    assert f"saved {len(served)} bytes to {dest}" in fetched.stderr
    assert stack.key not in fetched.stdout + fetched.stderr

    listed = subprocess.run(
        [str(VIDEOGEN), "library", "--status", "completed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if re.match(rf"\W*{video_id} ", line))
    assert "completed" in row and "text_to_video" in row and "$0.03" in row
