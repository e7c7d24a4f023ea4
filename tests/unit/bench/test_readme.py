"""`python -m bench.readme`: the latest report's table, written into bench/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.readme import END, README, ROOT, START, main, render, update
from bench.report import Figure, Target, table

FIGURES = [
    Figure("a", "generate rps", 450.0, 900.0, "req/s", Target("ratio>=", 0.7)),
    Figure("b", "lag p95", 3.2, 22.0, "s", Target("<=", 5)),
    Figure("c", "KiB per job", 9.0, 85.0, "KiB", Target("measured"), baseline_unit="MiB"),
]


def _report() -> dict[str, Any]:
    return {
        "mode": "full",
        "date": "2026-11-26T10:00:00+00:00",
        "seconds": 500.0,
        "machine": {"commit": "abc", "nproc": 2, "ram_gib": 23.5, "cpu": "AMD EPYC"},
        "figures": [f.as_dict() for f in FIGURES],
        "details": {},
    }


def test_readme_block_is_rebuilt_from_the_report_and_replaces_the_old_one(
    tmp_path: Path,
) -> None:
    block = render(_report())
    assert table(FIGURES) in block
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold table\n{END}\nrest\n")
    update(readme, block)
    text = readme.read_text()
    assert "old table" not in text
    assert text.startswith("intro\n") and text.endswith(f"{END}\nrest\n")
    assert block in text


def test_the_table_goes_to_the_benchmarks_own_readme() -> None:
    assert README == ROOT / "bench" / "README.md"
    text = README.read_text()
    assert text.count(START) == 1 and text.count(END) == 1
    assert text.index(START) < text.index(END)
    # The top-level README links to the table rather than holding a second copy of it.
    top = (ROOT / "README.md").read_text()
    assert START not in top and END not in top


def test_main_writes_the_named_report_into_the_readme(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(_report()))
    readme = tmp_path / "README.md"
    readme.write_text(f"# bench\n{START}\nold\n{END}\n")
    main([str(report)], readme=readme)
    text = readme.read_text()
    assert "commit abc" in text and "old" not in text
    assert text.startswith(f"# bench\n{START}\n") and text.endswith(f"{END}\n")


@pytest.mark.parametrize(
    "text", ["no markers\n", f"{START}\nonly the start\n", f"{END}\n{START}\n"]
)
def test_a_file_without_a_marked_block_is_refused_unchanged(tmp_path: Path, text: str) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match="bench:start"):
        update(readme, "table")
    assert readme.read_text() == text
