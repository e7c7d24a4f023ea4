"""Put the latest report's table into bench/README.md, between the bench markers.

Usage: python -m bench.readme [artifacts/bench/report.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import scale_report
from bench.report import Figure, Target, table

ROOT = Path(__file__).resolve().parent.parent
# The benchmark's own page holds the table; the top-level README only links to it.
README = ROOT / "bench" / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PG_SHOWN = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers")


def _figure(data: dict[str, Any]) -> Figure:
    target = None
    if data["target"]:
        # Rebuilt from its description ("ratio >= 0.7", "< 50 ms", "measured").
        words = data["target"].split()
        if words[0] == "measured":
            target = Target("measured")
        elif words[0] == "ratio":
            target = Target("ratio" + words[1], float(words[2]))
        else:
            target = Target(words[0], float(words[1]))
    return Figure(
        data["key"],
        data["label"],
        float("nan") if data["ours"] is None else data["ours"],
        float("nan") if data["baseline"] is None else data["baseline"],
        data["unit"],
        target,
        data.get("note", ""),
        data.get("baseline_unit", ""),
    )


def render(report: dict[str, Any]) -> str:
    """The block between the markers: when, on what, the table, and how the API was loaded."""
    m = report["machine"]
    api = report["details"].get("api", {})
    lines = [
        f"Latest `make bench` ({report['mode']}): {report['date']}, commit {m['commit']}, "
        f"`nproc` {m['nproc']}, {m['ram_gib']} GiB RAM, {m['cpu']}, took {report['seconds']} s.",
        "",
        table(_figure(f) for f in report["figures"]),
    ]
    if api:
        lines += [
            "",
            f"API load: {api['tool']}, {api['connections']} connections, "
            f"{api['rounds']} alternating rounds of {api['seconds_per_round']:g} s per side.",
        ]
    if pg := report["details"].get("postgres"):
        lines += [
            "",
            f"Postgres ({pg.get('version', '?')}) as the run read it back: "
            + ", ".join(f"{k} {pg[k]}" for k in PG_SHOWN if k in pg)
            + ".",
        ]
    if scale := report["details"].get("scale"):
        lines += [
            "",
            "Scale: one enterprise user's history of jobs (10 % of them in flight), each size "
            "in a fresh database; the reads' ratio target is >= 0.8 of the same figure at "
            f"the smallest size. {scale.get('note', '')}".rstrip(),
            "",
            scale_report.table(scale),
        ]
    if report.get("errors"):
        lines += [
            "",
            "Phases that failed: " + "; ".join(f"{k}: {v}" for k, v in report["errors"].items()),
        ]
    return "\n".join(lines)


def update(readme: Path, block: str) -> None:
    """Replace what lies between the markers with block; refuse a file without both markers."""
    text = readme.read_text()
    if START not in text or END not in text.partition(START)[2]:
        raise ValueError(f"{readme} has no {START} ... {END} block to replace")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def main(argv: list[str], readme: Path = README) -> None:
    """Render the report named in argv (default: the latest run's) into readme."""
    path = Path(argv[0]) if argv else ROOT / "artifacts" / "bench" / "report.json"
    update(readme, render(json.loads(path.read_text())))


if __name__ == "__main__":
    main(sys.argv[1:])
