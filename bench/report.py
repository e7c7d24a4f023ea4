"""Figures, their ratios to baselines, pass or fail against the issue's targets, and the table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """A bound on the ratio (ours / baseline) or on our absolute figure, or none at all.

    kind: "ratio>=", "ratio<=", "<=", "<", or "measured" (no bound: the figure is reported).
    """

    kind: str
    bound: float = 0.0

    def holds(self, ours: float, ratio: float | None) -> bool | None:
        """True or False against the bound; None when there is nothing to check."""
        if self.kind == "measured":
            return None
        if self.kind.startswith("ratio"):
            if ratio is None or math.isnan(ratio):
                return False
            return ratio >= self.bound if self.kind == "ratio>=" else ratio <= self.bound
        if math.isnan(ours):
            return False
        return ours <= self.bound if self.kind == "<=" else ours < self.bound

    def describe(self, unit: str) -> str:
        if self.kind == "measured":
            return "measured"
        if self.kind.startswith("ratio"):
            return f"ratio {self.kind[5:]} {self.bound:g}"
        return f"{self.kind} {self.bound:g} {unit}".strip()


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline from the same run."""

    key: str
    label: str
    ours: float
    baseline: float
    unit: str
    target: Target | None = None
    note: str = ""
    baseline_unit: str = ""  # when the baseline is another quantity (e.g. MiB beside KiB/job)

    @property
    def ratio(self) -> float | None:
        """ours / baseline; None when the baseline is zero, missing, or another quantity."""
        if self.baseline_unit and self.baseline_unit != self.unit:
            return None
        if not self.baseline or math.isnan(self.baseline) or math.isnan(self.ours):
            return None
        return self.ours / self.baseline

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.holds(self.ours, self.ratio)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.describe(self.unit) if self.target else None
        data["ratio"] = None if self.ratio is None else round(self.ratio, 4)
        data["passed"] = self.passed
        return data


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile by linear interpolation between closest ranks; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _with_unit(value: float, unit: str) -> str:
    return "n/a" if math.isnan(value) else f"{_num(value)} {unit}"


def _verdict(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "-"}[passed]


def table(figures: Iterable[Figure]) -> str:
    """A Markdown table: figure, ours, baseline, ratio, target, pass/fail."""
    rows = [
        "| figure | ours | baseline | ratio | target | result |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for f in figures:
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        target = f.target.describe(f.unit) if f.target else ""
        base = _with_unit(f.baseline, f.baseline_unit or f.unit)
        rows.append(
            f"| {f.label} | {_with_unit(f.ours, f.unit)} | {base} | {ratio} "
            f"| {target} | {_verdict(f.passed)} |"
        )
    return "\n".join(rows)
