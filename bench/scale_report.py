"""The scale phase's figures (each size against the smallest, same run) and its own table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bench.report import Figure, Target

# (measurement, field, label, unit, target); the ratio is against the same at the smallest size.
FIGURES: tuple[tuple[str, str, str, str, Target | None], ...] = (
    ("generate", "rps", "POST /generate throughput, 16 conn., one key", "req/s", None),
    ("generate", "p99_ms", "POST /generate p99", "ms", None),
    ("status", "rps", "GET /status throughput, 8 conn.", "req/s", Target("ratio>=", 0.8)),
    (
        "library_page1",
        "rps",
        "GET /library page 1 throughput, 8 conn.",
        "req/s",
        Target("ratio>=", 0.8),
    ),
    (
        "library_deep_page",
        "rps",
        "GET /library?page=500 throughput, 8 conn.",
        "req/s",
        Target("ratio>=", 0.8),
    ),
    (
        "library_deep_cursor",
        "rps",
        "GET /library page 500 by cursor, 8 conn.",
        "req/s",
        Target("ratio>=", 0.8),
    ),
    ("sweep", "median_s", "one sweep pass", "s", Target("<", 1)),
)

# The README's scale table: (measurement, label); throughput cells carry their p99.
ROWS: tuple[tuple[str, str], ...] = (
    ("generate", "POST /generate, 16 conn., one key"),
    ("status", "GET /status/<id>, 8 conn."),
    ("library_page1", "GET /library page 1, 8 conn."),
    ("library_deep_page", "GET /library?page=500, 8 conn."),
    ("library_deep_cursor", "GET /library page 500 by cursor, 8 conn."),
    ("sweep", "one sweep pass (in-process)"),
)


def size_label(rows: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1000 and rows % 1000 == 0:
        return f"{rows // 1000}k"
    return f"{rows:,}"


def value(measured: Mapping[str, Any], what: str, field: str) -> float:
    """One number of one size's measurements; NaN when it was not measured (e.g. no
    cursor) or when requests failed (a throughput of errors is no throughput)."""
    part = measured.get(what)
    if not isinstance(part, Mapping) or part.get(field) is None or part.get("errors"):
        return math.nan
    return float(part[field])


def _in_flight(measured: Mapping[str, Any]) -> int:
    return int(measured.get("statuses", {}).get("processing", 0))


def figures(by_size: Mapping[int, Mapping[str, Any]]) -> list[Figure]:
    """Every FIGURES row at each size but the smallest, against the smallest."""
    if not by_size:
        return []
    smallest = min(by_size)
    base = by_size[smallest]
    found = []
    for rows in sorted(by_size)[1:]:
        at = by_size[rows]
        for what, field, label, unit, target in FIGURES:
            ours, baseline = value(at, what, field), value(base, what, field)
            where = f"{size_label(rows)} rows"
            if what == "sweep":
                where += f", {size_label(_in_flight(at))} in flight"
            measured = what in at and what in base
            found.append(
                Figure(
                    f"scale_{what}_{field}_{size_label(rows)}",
                    f"{label} at {where} (vs {size_label(smallest)})",
                    ours,
                    baseline,
                    unit,
                    target if measured else None,
                    note="" if measured else "n/a: the library answers no next_cursor",
                )
            )
    return found


def _cell(measured: Mapping[str, Any], what: str) -> str:
    if what == "sweep":
        took = value(measured, "sweep", "median_s")
        return "n/a" if math.isnan(took) else f"{took * 1000:,.0f} ms"
    if errors := measured.get(what, {}).get("errors"):
        return f"{errors:,} failed requests"
    rps = value(measured, what, "rps")
    if math.isnan(rps):
        return "n/a"
    return f"{rps:,.1f} req/s, p99 {value(measured, what, 'p99_ms'):,.0f} ms"


def _ratio(first: Mapping[str, Any], last: Mapping[str, Any], what: str) -> str:
    field = "median_s" if what == "sweep" else "rps"
    a, b = value(first, what, field), value(last, what, field)
    return "n/a" if math.isnan(a) or math.isnan(b) or not a else f"{b / a:.2f}"


def table(details: Mapping[str, Any]) -> str:
    """Markdown: each measurement at every size, and the largest size over the smallest."""
    by_size = {int(k): v for k, v in details["by_size"].items()}
    sizes = sorted(by_size)
    first, last = by_size[sizes[0]], by_size[sizes[-1]]
    head = " | ".join(size_label(n) for n in sizes)
    ratio = f"{size_label(sizes[-1])} / {size_label(sizes[0])}"
    rows = [
        f"| one user's history | {head} | {ratio} |",
        "| --- |" + " ---: |" * (len(sizes) + 1),
    ]
    for what, label in ROWS:
        cells = " | ".join(_cell(by_size[n], what) for n in sizes)
        rows.append(f"| {label} | {cells} | {_ratio(first, last, what)} |")
    return "\n".join(rows)
