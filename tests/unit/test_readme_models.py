"""README.md's model table lists every catalogue row with its modes, clips, options and price."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from providers.catalogue import BY_KEY, CATALOGUE, IMAGE_TO_VIDEO, TEXT_TO_VIDEO, ProviderModel

README = Path(__file__).resolve().parents[2] / "README.md"


def _rows() -> dict[str, list[str]]:
    """The Models table's cells, by each provider id its first cell names."""
    text = README.read_text()
    table = text[text.index("## Models") :].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for key in re.findall(r"`(piapi_[^`]+)`", cells[0]) if line.startswith("|") else []:
            rows[key] = cells
    return rows


def _clips(model: ProviderModel) -> str:
    lengths = model.clip_lengths_s
    if len(lengths) > 3 and list(lengths) == list(range(lengths[0], lengths[-1] + 1)):
        return f"{lengths[0]}-{lengths[-1]} s"
    return ", ".join(str(n) for n in lengths) + " s"


def test_every_model_has_a_row() -> None:
    assert set(_rows()) == set(BY_KEY)


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda m: m.key)
def test_each_row_says_modes_clips_options_and_price(model: ProviderModel) -> None:
    _, _, modes, clips, options, price = _rows()[model.key]

    assert ("t2v" in modes) is (TEXT_TO_VIDEO in model.modes)
    assert ("i2v" in modes) is (IMAGE_TO_VIDEO in model.modes)
    assert clips == _clips(model)
    named = set(re.findall(r"`(\w+)`", options))
    assert named == {option.name for option in model.options}
    for option in model.options:
        assert (f"**`{option.name}`**" in options) is option.required
    for spec in model.modes.values():
        base = spec.price.base_usd
        assert (f"${base:.2f}" if base is not None else "not published") in price
        assert ("est." in price) is any(
            s.price.estimate and s.price.base_usd for s in model.modes.values()
        )
