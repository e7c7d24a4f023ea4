"""What every family's rules share: the refusal, the verdict, and typed field readers.

Each reader raises RequestRejectedError naming the field (`input.duration ...`), so the
sandbox's 400 says what PiAPI would object to, and a wrong type is never coerced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

T2V, I2V, EXTEND = "t2v", "i2v", "extend"
POINTS_PER_USD = 10_000_000  # REFERENCE.md: every published usage figure fits this


class RequestRejectedError(ValueError):
    """PiAPI would answer 400 to this body; the message says why."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one family's check decided about an input it accepts."""

    kind: str  # T2V, I2V or EXTEND
    points: int  # usage points the task costs once completed
    runtime_s: float  # creation to end on PiAPI, before the sandbox's time scale
    # Every image URL the task would download, by the input field it came from.
    images: Mapping[str, str] = field(default_factory=dict)


def points(usd: Decimal | str, units: float | int = 1) -> int:
    """Usage points for a price in USD, times units (seconds, or clips of a length)."""
    return int((Decimal(usd) * Decimal(str(units)) * POINTS_PER_USD).to_integral_value())


def reject_unknown(task_input: Mapping[str, Any], allowed: Collection[str], who: str) -> None:
    """Refuse input fields the family does not document, so a misnamed option is a 400."""
    unknown = sorted(set(task_input) - set(allowed))
    if unknown:
        raise RequestRejectedError(
            f"input.{unknown[0]} is not an input of {who} (it takes {', '.join(sorted(allowed))})"
        )


def prompt(task_input: Mapping[str, Any], *, required: bool = True, max_len: int = 0) -> str:
    """input.prompt as a string: non-blank when required, at most max_len characters if set."""
    value = task_input.get("prompt")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise RequestRejectedError("input.prompt is required")
    if max_len and len(value) > max_len:
        raise RequestRejectedError(f"input.prompt must be at most {max_len} characters")
    return value


def text(task_input: Mapping[str, Any], name: str) -> str | None:
    """An optional string field (negative_prompt and the like)."""
    value = task_input.get(name)
    if value is not None and not isinstance(value, str):
        raise RequestRejectedError(f"input.{name} must be a string")
    return value


def boolean(task_input: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """An optional JSON boolean; 0, 1, "true" and the like are refused."""
    value = task_input.get(name, default)
    if not isinstance(value, bool):
        raise RequestRejectedError(f"input.{name} must be true or false, not {value!r}")
    return value


def number(
    task_input: Mapping[str, Any], name: str, low: float, high: float, default: float
) -> float:
    """An optional JSON number within [low, high]; strings and booleans are refused."""
    value = task_input.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestRejectedError(f"input.{name} must be a number from {low} to {high}")
    return float(value)


def integer(
    task_input: Mapping[str, Any], name: str, allowed: Collection[int], default: int
) -> int:
    """An optional JSON integer among allowed; "5", 5.0 and true are refused."""
    value = task_input.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        shown = _range_text(allowed)
        raise RequestRejectedError(f"input.{name} must be an integer {shown}, not {value!r}")
    return value


def choice(task_input: Mapping[str, Any], name: str, allowed: Collection[str], default: str) -> str:
    """An optional string field that must be one of allowed."""
    value = task_input.get(name, default)
    if not isinstance(value, str) or value not in allowed:
        raise RequestRejectedError(
            f"input.{name} must be one of {', '.join(allowed)}, not {value!r}"
        )
    return value


def url(
    task_input: Mapping[str, Any], name: str, *, required: bool = False, empty_ok: bool = False
) -> str | None:
    """An image URL field: http(s) when present; "" only where PiAPI's example sends it."""
    value = task_input.get(name)
    if value is None or (empty_ok and value == ""):
        if required:
            raise RequestRejectedError(f"input.{name} must be an image URL (http or https)")
        return None
    if not is_url(value):
        raise RequestRejectedError(f"input.{name} must be an image URL (http or https)")
    return str(value)


def is_url(value: Any) -> bool:
    """True for an http(s) URL string."""
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def _range_text(allowed: Collection[int]) -> str:
    values = sorted(allowed)
    if len(values) > 3 and values == list(range(values[0], values[-1] + 1)):
        return f"from {values[0]} to {values[-1]}"
    return "of " + ", ".join(str(v) for v in values)
