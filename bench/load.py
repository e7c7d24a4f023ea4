"""The load generator: wrk when installed (apt: wrk), else a multi-process Python client.

One generator serves the real API and its baseline alike, so its own cost is in both
sides of the ratio. On 2 cores a Python client would saturate a core itself; wrk (C)
leaves more of the machine to the servers being measured.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CONNECTIONS = 16

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"errors\\": %d, \\"non2xx\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class Load:
    """What one run sends: a POST body, or GETs of /prefix<id> for ids in [lo, hi]."""

    path: str
    headers: dict[str, str]
    body: dict[str, object] | None = None
    id_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors and answers that are not 2xx
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run(base_url: str, load: Load, *, seconds: float, connections: int = CONNECTIONS) -> LoadResult:
    """Drive base_url with `connections` concurrent connections for about `seconds`."""
    if shutil.which("wrk"):
        return _wrk(base_url, load, seconds, connections)
    return _python(base_url, load, seconds, connections)


def _lua(load: Load) -> str:
    lines = [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in load.headers.items()]
    if load.body is not None:
        lines += [
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = {json.dumps(json.dumps(load.body))}",
        ]
    if load.id_range is not None:
        lo, hi = load.id_range
        lines.append(
            "request = function() return wrk.format(nil, "
            f"{json.dumps(load.path)} .. math.random({lo}, {hi})) end"
        )
    return "\n".join(lines) + _WRK_DONE


def _wrk(base_url: str, load: Load, seconds: float, connections: int) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(load))
    url = base_url + (load.path if load.id_range is None else "/")
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            # A slow answer is a latency to record, not an error (wrk's default is 2 s).
            "--timeout",
            "30s",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    Path(script.name).unlink()
    line = next(x for x in out.splitlines() if x.startswith("BENCH-JSON "))
    data = json.loads(line.removeprefix("BENCH-JSON "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"] + data["non2xx"],
        tool="wrk",
    )


# -- the fallback: 2 processes x 8 threads, one keep-alive connection per thread ----------


def _python(base_url: str, load: Load, seconds: float, connections: int) -> LoadResult:
    procs = 2
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        parts = pool.starmap(
            _client_process,
            [(base_url, load, seconds, max(1, connections // procs), i) for i in range(procs)],
        )
    latencies = sorted(x for lat, _ in parts for x in lat)
    errors = sum(e for _, e in parts)
    n = len(latencies)
    return LoadResult(
        requests=n + errors,
        seconds=seconds,
        p50_ms=latencies[n // 2] * 1000 if n else 0.0,
        p99_ms=latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        errors=errors,
        tool="python",
    )


def _client_process(
    base_url: str, load: Load, seconds: float, threads: int, seed: int
) -> tuple[list[float], int]:
    import random

    parts = urlsplit(base_url)
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    body = json.dumps(load.body).encode() if load.body is not None else None
    headers = dict(load.headers)
    if body is not None:
        headers["Content-Type"] = "application/json"

    def client(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            path = load.path
            if load.id_range is not None:
                path += str(rng.randint(*load.id_range))
            t0 = time.perf_counter()
            try:
                conn.request("POST" if body else "GET", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 300:
                    bad += 1
                else:
                    mine.append(time.perf_counter() - t0)
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    pool = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors[0]
