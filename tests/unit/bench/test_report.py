"""The bench report's arithmetic: ratios, targets, percentiles, the table, profile summaries."""

from __future__ import annotations

import math

import pytest

from bench.common import BenchConfig
from bench.profile import ROOT, summarise
from bench.report import Figure, Target, percentile, table


def test_ratio_is_ours_over_the_baseline() -> None:
    assert Figure("x", "x", 150.0, 600.0, "req/s").ratio == pytest.approx(0.25)


@pytest.mark.parametrize("baseline", [0.0, math.nan])
def test_no_ratio_without_a_baseline(baseline: float) -> None:
    assert Figure("x", "x", 1.0, baseline, "s").ratio is None


@pytest.mark.parametrize(
    ("target", "ours", "baseline", "passed"),
    [
        (Target("ratio>=", 0.7), 70.0, 100.0, True),
        (Target("ratio>=", 0.7), 69.0, 100.0, False),
        (Target("ratio<=", 2), 2.0, 1.0, True),
        (Target("ratio<=", 2), 2.1, 1.0, False),
        (Target("<", 50), 49.9, 1.0, True),
        (Target("<", 50), 50.0, 1.0, False),
        (Target("<=", 5), 5.0, 30.0, True),
        (Target("<=", 5), 5.01, 30.0, False),
        (Target("measured"), 3.0, 1.0, None),
        (Target("ratio>=", 0.5), 1.0, 0.0, False),  # no baseline: a ratio target cannot hold
        (Target("<=", 1), math.nan, 1.0, False),  # nothing measured is not a pass
    ],
)
def test_targets(target: Target, ours: float, baseline: float, passed: bool | None) -> None:
    assert Figure("x", "x", ours, baseline, "u", target).passed is passed


def test_no_ratio_against_another_quantity() -> None:
    figure = Figure("x", "worker memory per job", 9.0, 85.0, "KiB", baseline_unit="MiB")
    assert figure.ratio is None
    assert "| 9.00 KiB | 85.0 MiB | - |" in table([figure])


def test_as_dict_carries_ratio_target_and_verdict() -> None:
    data = Figure("gen", "generate", 140.0, 200.0, "req/s", Target("ratio>=", 0.7)).as_dict()
    assert data["ratio"] == 0.7
    assert data["target"] == "ratio >= 0.7"
    assert data["passed"] is True


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 95))


def test_table_has_one_row_per_figure_with_verdicts() -> None:
    text = table(
        [
            Figure("a", "status rps", 800.0, 1000.0, "req/s", Target("ratio>=", 0.8)),
            Figure("b", "lag p95", 7.5, 27.0, "s", Target("<=", 5)),
            Figure("c", "p50", 3.0, 2.0, "ms"),
        ]
    )
    lines = text.splitlines()
    assert len(lines) == 5
    assert lines[2] == "| status rps | 800 req/s | 1,000 req/s | 0.80 | ratio >= 0.8 | pass |"
    assert lines[3] == "| lag p95 | 7.50 s | 27.0 s | 0.28 | <= 5 s | FAIL |"
    assert lines[4].endswith("| 1.50 |  | - |")


def test_quick_mode_shrinks_every_size() -> None:
    full, quick = BenchConfig.from_env({}), BenchConfig.from_env({"BENCH_QUICK": "1"})
    assert full.rabbit_inflight == 100_000
    for name in ("api_seconds", "worker_jobs", "redis_inflight", "rabbit_inflight"):
        assert getattr(quick, name) < getattr(full, name)
    assert BenchConfig.from_env({"BENCH_PHASES": "api, lag"}).phases == ("api", "lag")


def test_profile_summary_counts_inclusive_and_self_samples(tmp_path) -> None:
    raw = tmp_path / "profile.txt"
    lib = "/venv/lib/python3.11/site-packages/"
    raw.write_text(
        f"handle ({lib}flask/app.py:10);generate ({ROOT}api/videos.py:80);"
        f"commit ({lib}sqlalchemy/orm.py:5) 3\n"
        f"handle ({lib}flask/app.py:10);generate ({ROOT}api/videos.py:80) 1\n"
    )
    summary = summarise(raw)
    assert summary["samples"] == 4
    # Inclusive shares list our own functions, not the framework's plumbing.
    assert summary["inclusive_pct"] == [("generate (api/videos.py)", 100.0)]
    assert summary["self_pct"][0] == ("commit (sqlalchemy/orm.py)", 75.0)


def test_api_rounds_combine_into_overall_throughput_and_median_latency() -> None:
    from bench.api_bench import combine
    from bench.load import LoadResult

    rounds = [
        LoadResult(1000, 5.0, 10.0, 40.0, 0, "wrk"),
        LoadResult(500, 5.0, 20.0, 90.0, 0, "wrk"),
        LoadResult(1500, 5.0, 8.0, 30.0, 1, "wrk"),
    ]
    got = combine(rounds)
    assert got["rps"] == pytest.approx(200.0)
    assert (got["p50_ms"], got["p99_ms"]) == (10.0, 40.0)
    assert got["errors"] == 1
