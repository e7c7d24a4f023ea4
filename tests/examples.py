"""PiAPI's documented bodies, vendored under tests/piapi_examples/ (sources in its SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "piapi_examples"


def example(name: str) -> Any:
    """One documented body, parsed."""
    return json.loads((EXAMPLES / name).read_text())
