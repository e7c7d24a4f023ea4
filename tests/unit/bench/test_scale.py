"""The scale phase's pure parts: the seed's mix, room under the cap, paths, figures, tables."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from bench.common import PHASES, BenchConfig
from bench.readme import render
from bench.scale_probe import CountingMessages, headroom_to_make, library_path
from bench.scale_report import figures, size_label, table
from bench.scale_seed import MIX, in_flight_for, variants
from providers.catalogue import BY_KEY


def test_the_mix_has_one_slot_per_percent_drawn_from_the_real_catalogue() -> None:
    slots = variants()
    assert [v.slot for v in slots] == list(range(100))
    assert Counter((v.provider, v.mode) for v in slots) == Counter(MIX)
    for v in slots:
        spec = BY_KEY[v.provider].modes[v.mode]
        assert (v.model_name, v.task_type) == (spec.model_name, spec.task_type)
        assert v.cost == BY_KEY[v.provider].cost_for(v.mode, 5)
    assert {v.mode for v in slots} == {"text_to_video", "image_to_video"}
    assert len({v.provider for v in slots}) >= 3


def test_a_mix_that_does_not_sum_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match="sum to 100"):
        variants({("piapi_luma", "text_to_video"): 99})


def test_a_tenth_of_the_history_is_in_flight() -> None:
    assert in_flight_for(1_000_000) == 100_000
    assert in_flight_for(10_000) == 1_000


@pytest.mark.parametrize(
    ("cap", "in_flight", "wanted", "finish"),
    [
        (100_000, 100_000, 20_000, 20_000),  # at the cap: make all the room
        (100_000, 90_000, 20_000, 10_000),
        (100_000, 10_000, 20_000, 0),  # room enough already
        (100_000, 5_000, 200_000, 5_000),  # never more than there are
    ],
)
def test_room_under_the_cap(cap: int, in_flight: int, wanted: int, finish: int) -> None:
    assert headroom_to_make(cap, in_flight, wanted) == finish


def test_library_paths_by_page_and_by_cursor() -> None:
    assert library_path(page=500) == "/api/video/library?per_page=20&page=500"
    assert library_path() == "/api/video/library?per_page=20"
    # A cursor is opaque: whatever it holds travels as one query value.
    assert (
        library_path(cursor="a+b/c=&d") == "/api/video/library?per_page=20&cursor=a%2Bb%2Fc%3D%26d"
    )


def test_counting_nudges_counts_each_kind() -> None:
    nudges = CountingMessages()
    nudges.submit(1)
    nudges.submit(2)
    nudges.store(3)
    assert nudges.sent == {"submit": 2, "store": 1}


@pytest.mark.parametrize(("rows", "label"), [(10_000, "10k"), (1_000_000, "1M"), (1234, "1,234")])
def test_size_labels(rows: int, label: str) -> None:
    assert size_label(rows) == label


def _size(rps: float, *, sweep_s: float, errors: int = 0, cursor: float | None = None) -> Any:
    got: dict[str, Any] = {
        "statuses": {"completed": 9, "processing": rps},
        "sweep": {"median_s": sweep_s},
    }
    for what in ("generate", "status", "library_page1", "library_deep_page"):
        got[what] = {"rps": rps, "p50_ms": 1000 / rps, "p99_ms": 2000 / rps, "errors": errors}
    if cursor is not None:
        got["library_deep_cursor"] = {"rps": cursor, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0}
    return got


def _by_key(found: list[Any]) -> dict[str, Any]:
    return {f.key: f for f in found}


def test_each_size_is_set_against_the_smallest() -> None:
    found = _by_key(
        figures(
            {
                1_000_000: _size(50.0, sweep_s=1.5),
                10_000: _size(100.0, sweep_s=0.01),
                100_000: _size(90.0, sweep_s=0.2),
            }
        )
    )
    page1 = found["scale_library_page1_rps_1M"]
    assert (page1.ours, page1.baseline, page1.ratio, page1.passed) == (50.0, 100.0, 0.5, False)
    assert found["scale_library_page1_rps_100k"].passed is True  # 0.9 >= 0.8
    assert found["scale_sweep_median_s_1M"].passed is False  # 1.5 s, not under 1 s
    assert found["scale_sweep_median_s_100k"].passed is True
    assert "1M rows" in found["scale_sweep_median_s_1M"].label
    assert found["scale_generate_rps_1M"].passed is None  # measured, no target
    assert not any(k.endswith("_10k") for k in found)


def test_no_cursor_is_n_a_without_a_verdict_and_a_cursor_is_judged() -> None:
    without = _by_key(figures({10_000: _size(100, sweep_s=0.1), 1_000_000: _size(90, sweep_s=0.1)}))
    cursor = without["scale_library_deep_cursor_rps_1M"]
    assert math.isnan(cursor.ours) and cursor.passed is None and "n/a" in cursor.note
    with_cursor = _by_key(
        figures(
            {
                10_000: _size(100, sweep_s=0.1, cursor=200.0),
                1_000_000: _size(90, sweep_s=0.1, cursor=150.0),
            }
        )
    )
    assert with_cursor["scale_library_deep_cursor_rps_1M"].passed is False  # 150 / 200 < 0.8


def test_failed_requests_make_a_figure_fail_rather_than_count_as_throughput() -> None:
    found = _by_key(
        figures({10_000: _size(100, sweep_s=0.1), 100_000: _size(500, sweep_s=0.1, errors=3)})
    )
    status = found["scale_status_rps_100k"]
    assert math.isnan(status.ours) and status.passed is False


def test_scale_table_and_postgres_settings_in_the_readme_block() -> None:
    details = {
        "sizes": [10_000, 1_000_000],
        "note": "",
        "by_size": {
            "10000": _size(100.0, sweep_s=0.012),
            "1000000": _size(25.0, sweep_s=0.8, errors=0),
        },
    }
    text = table(details)
    lines = text.splitlines()
    assert lines[0] == "| one user's history | 10k | 1M | 1M / 10k |"
    assert (
        "| GET /library page 1, 8 conn. | 100.0 req/s, p99 20 ms | 25.0 req/s, p99 80 ms | 0.25 |"
        in lines
    )
    assert "| one sweep pass (in-process) | 12 ms | 800 ms | 66.67 |" in lines
    assert "| GET /library page 500 by cursor, 8 conn. | n/a | n/a | n/a |" in lines
    report = {
        "mode": "full",
        "date": "2026-11-28T10:00:00+00:00",
        "seconds": 700.0,
        "machine": {"commit": "abc", "nproc": 2, "ram_gib": 23.5, "cpu": "AMD EPYC"},
        "figures": [],
        "details": {
            "scale": details,
            "postgres": {"fsync": "on", "synchronous_commit": "on", "version": "PostgreSQL 15"},
        },
    }
    block = render(report)
    assert text in block
    assert "fsync on, synchronous_commit on" in block


def test_scale_sizes_quick_full_and_chosen() -> None:
    assert BenchConfig.from_env({}).scale_sizes == (10_000, 100_000, 1_000_000)
    assert BenchConfig.from_env({"BENCH_QUICK": "1"}).scale_sizes == (10_000, 100_000)
    chosen = BenchConfig.from_env({"BENCH_SCALE_SIZES": "1000000, 10000"})
    assert chosen.scale_sizes == (10_000, 1_000_000)
    assert BenchConfig.from_env({}).phases == PHASES
    assert "scale" in PHASES
