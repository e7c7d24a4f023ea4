"""Per-model options: what a client may set, how each is checked, and where PiAPI reads it.

A row declares its options; a request's `options` object is checked against them
(normalise), stored on the job with every default filled in, and written into PiAPI's
`input` under PiAPI's own names and types when the job is submitted (apply).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.patterns import MAX_URL_CHARS, is_http_url

TEXT_TO_VIDEO = "text_to_video"
IMAGE_TO_VIDEO = "image_to_video"
MODES = (TEXT_TO_VIDEO, IMAGE_TO_VIDEO)
BOTH_MODES = frozenset(MODES)
MAX_TEXT_CHARS = 2000
_PATH_PART = re.compile(r"([A-Za-z_]\w*)(?:\[(\d+)\])?")


class OptionKind(enum.StrEnum):
    """The JSON type an option takes from a client (enum and url are strings)."""

    BOOL = "bool"
    INT = "int"
    NUMBER = "number"
    STRING = "string"
    ENUM = "enum"
    URL = "url"


class Send(enum.StrEnum):
    """When an option goes to PiAPI."""

    ALWAYS = "always"  # every time, the default included, as PiAPI's examples send it
    IF_SET = "if_set"  # only when it differs from the default (and is not null)


class OptionsError(ValueError):
    """Some options are unknown to the model or have bad values; problems name each one."""

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True, slots=True)
class Option:
    """One option a model takes: its type, range, default, and PiAPI's field for it."""

    name: str
    kind: OptionKind
    description: str
    piapi_field: str  # a path in `input`: "enable_audio", "lora_settings[0].lora_type"
    default: Any = None
    required: bool = False  # required options have no default
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    modes: frozenset[str] = BOTH_MODES
    send: Send = Send.ALWAYS

    def takes(self, mode: str) -> bool:
        """True when this option applies to jobs of mode."""
        return mode in self.modes

    def check(self, value: Any) -> Any:
        """The value as stored and sent, or ValueError with a message for the client."""
        if value is None:
            if self.default is None and not self.required:
                return None
            raise ValueError("Must not be null.")
        check = _CHECKS[self.kind]
        return check(self, value)

    def piapi_value(self, value: Any) -> Any:
        """The value in the JSON type PiAPI documents for its field."""
        return float(value) if self.kind is OptionKind.NUMBER else value


def _bool(_option: Option, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def _int(option: Option, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not _in_range(option, value):
        raise ValueError(f"Must be a whole number{_range_text(option)}.")
    return value


def _number(option: Option, value: Any) -> float:
    # An int is finite however large (and too large for math.isfinite to take).
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or not _in_range(option, value)
    ):
        raise ValueError(f"Must be a number{_range_text(option)}.")
    return float(value)


def _string(option: Option, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters.")
    if option.max_length is not None and len(value) > option.max_length:
        raise ValueError(f"Must be at most {option.max_length} characters.")
    return value


def _enum(option: Option, value: Any) -> str:
    if not isinstance(value, str) or value not in option.choices:
        raise ValueError(f"Must be one of: {', '.join(option.choices)}.")
    return value


def _url(_option: Option, value: Any) -> str:
    if not isinstance(value, str) or not is_http_url(value):
        raise ValueError(
            f"Must be an http(s) URL of at most {MAX_URL_CHARS} characters, with a host name"
            " or IPv4 address and no spaces or credentials."
        )
    return value


_CHECKS = {
    OptionKind.BOOL: _bool,
    OptionKind.INT: _int,
    OptionKind.NUMBER: _number,
    OptionKind.STRING: _string,
    OptionKind.ENUM: _enum,
    OptionKind.URL: _url,
}


def _range_text(option: Option) -> str:
    low, high = option.minimum, option.maximum
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" of at least {low:g}"
    return f" of at most {high:g}" if high is not None else ""


def _in_range(option: Option, value: float) -> bool:
    low, high = option.minimum, option.maximum
    return (low is None or value >= low) and (high is None or value <= high)


def normalise(
    owner: str, options: Iterable[Option], given: Mapping[str, Any] | None, mode: str
) -> dict[str, Any]:
    """Every option owner takes in mode, given values checked and defaults filled in.

    Raises OptionsError naming each unknown option, option of another mode, missing
    required option and bad value, all at once.
    """
    declared = {option.name: option for option in options}
    given = given or {}
    problems: dict[str, list[str]] = {}
    for name in given:
        option = declared.get(name)
        if option is None:
            takes = ", ".join(declared) or "none"
            problems[name] = [f"{owner} takes no option {name!r} (its options: {takes})."]
        elif not option.takes(mode):
            only = " or ".join(sorted(option.modes))
            problems[name] = [f"Only with generation_mode {only} on {owner}."]
    values: dict[str, Any] = {}
    for option in declared.values():
        if not option.takes(mode):
            continue
        if option.name not in given:
            if option.required:
                problems[option.name] = [_required_text(owner, option)]
            values[option.name] = option.default
            continue
        try:
            values[option.name] = option.check(given[option.name])
        except ValueError as exc:
            problems[option.name] = [str(exc)]
    if problems:
        raise OptionsError(problems)
    return values


def _required_text(owner: str, option: Option) -> str:
    choices = f": one of {', '.join(option.choices)}" if option.choices else ""
    return f"Required by {owner}{choices}."


def apply(
    options: Iterable[Option], values: Mapping[str, Any], mode: str, task_input: dict[str, Any]
) -> None:
    """Write each option's value into PiAPI's input, where and as PiAPI documents it."""
    for option in options:
        if not option.takes(mode):
            continue
        value = values.get(option.name, option.default)
        if value is None or (option.send is Send.IF_SET and value == option.default):
            continue
        put(task_input, option.piapi_field, option.piapi_value(value))


def put(target: dict[str, Any], path: str, value: Any) -> None:
    """Set target at a path such as "lora_settings[0].lora_type", making what is missing."""
    parts = path.split(".")
    node: Any = target
    for position, part in enumerate(parts):
        match = _PATH_PART.fullmatch(part)
        if match is None:
            raise ValueError(f"bad option path {path!r}")
        name, index = match.group(1), match.group(2)
        last = position == len(parts) - 1
        if index is None:
            if last:
                node[name] = value
            else:
                node = node.setdefault(name, {})
            continue
        items = node.setdefault(name, [])
        while len(items) <= int(index):
            items.append({})
        if last:
            items[int(index)] = value
        else:
            node = items[int(index)]
