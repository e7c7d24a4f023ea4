"""How the catalogue (GET /api/providers) and a quote look on a terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from client.render import cost, option_value, options_text, usd

MODE_SHORT = {"text_to_video": "t2v", "image_to_video": "i2v"}
# The families in the order people meet them; any other family follows, as listed.
FAMILY_ORDER = ("Hunyuan", "WanX", "Luma", "Kling", "Hailuo", "Veo", "Sora", "Skyreels")


def family_of(provider: Mapping[str, Any]) -> str:
    """The provider's family as the API names it, else guessed from its id (piapi_kling_3)."""
    if provider.get("family"):
        return str(provider["family"])
    word = str(provider.get("provider", "")).removeprefix("piapi_").split("_")[0]
    for family in FAMILY_ORDER:
        if word.lower().startswith(family.lower()):
            return family
    return word.capitalize() or "Other"


def by_family(providers: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Providers grouped by family, families in FAMILY_ORDER, rows in the API's order."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for provider in providers:
        groups.setdefault(family_of(provider), []).append(provider)
    rank = {name: i for i, name in enumerate(FAMILY_ORDER)}
    ordered = sorted(groups, key=lambda name: (rank.get(name, len(rank)), list(groups).index(name)))
    return [(name, groups[name]) for name in ordered]


def price_text(price: Mapping[str, Any]) -> str:
    """$0.10/s +$0.05 enable_audio +$0.05 mode=pro; "est." for an estimate."""
    if price.get("base_usd") is None:
        return "not published"
    per_s = price.get("per_s")
    unit = "/clip" if price.get("unit") == "clip" or not per_s else "/s"
    if per_s and per_s != 1:
        unit = f"/{per_s} s"
    parts = [usd(price["base_usd"]) + unit]
    for extra in price.get("surcharges") or []:
        value = extra.get("value")
        what = extra["option"] if value is True else f"{extra['option']}={option_value(value)}"
        parts.append(f"+{usd(extra['usd'])} {what}")
    if price.get("estimate"):
        parts.append("est.")
    return " ".join(parts)


def price_summary(provider: Mapping[str, Any], modes: Sequence[str]) -> str:
    """One price when every shown mode costs the same, else each mode's."""
    texts = {mode: price_text(provider["modes"][mode].get("price") or {}) for mode in modes}
    if len(set(texts.values())) == 1:
        return next(iter(texts.values()))
    return "; ".join(f"{MODE_SHORT.get(mode, mode)} {text}" for mode, text in texts.items())


def durations_text(lengths: Sequence[int]) -> str:
    """3-15 s for a run of whole seconds, else 4, 8, 12 s."""
    if not lengths:
        return "-"
    if len(lengths) > 2 and list(lengths) == list(range(lengths[0], lengths[-1] + 1)):
        return f"{lengths[0]}-{lengths[-1]} s"
    return ", ".join(str(n) for n in lengths) + " s"


def providers_table(body: Mapping[str, Any], mode: str | None = None) -> Table:
    """The catalogue by family: id, modes, durations, price, options, whether your tier may."""
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="est.: an estimate, not PiAPI's published price; *: a required option",
        caption_justify="left",
    )
    for header in ("family", "id", "modes", "durations", "price", "options", "your tier"):
        table.add_column(header, overflow="fold")
    providers = [p for p in body.get("providers", []) if mode is None or mode in p["modes"]]
    for n, (family, rows) in enumerate(by_family(providers)):
        if n:
            table.add_section()
        for i, provider in enumerate(rows):
            modes = [m for m in provider["modes"] if mode is None or m == mode]
            options = [
                o["name"] + ("*" if o.get("required") else "")
                for o in provider.get("options", [])
                if mode is None or mode in (o.get("modes") or [mode])
            ]
            allowed = provider.get("allowed", True)
            table.add_row(
                family if i == 0 else "",
                Text(str(provider["provider"]), style="" if allowed else "dim"),
                ", ".join(MODE_SHORT.get(m, m) for m in modes),
                durations_text(provider.get("clip_lengths_s") or []),
                price_summary(provider, modes),
                ", ".join(options) or "-",
                Text("yes") if allowed else Text("over the cap", style="yellow"),
            )
    return table


def quote_table(quote: Mapping[str, Any]) -> Table:
    """A quote as label/value lines: what would run, for how long, at what price."""
    asked, made = quote.get("requested_duration"), quote.get("duration")
    seconds = f"{made} s" if asked in (None, made) else f"{made} s (asked {asked} s)"
    allowed = quote.get("allowed", True)
    rows: list[tuple[str, Any]] = [
        ("provider", f"{quote.get('provider')} ({quote.get('model_name')})"),
        ("mode", quote.get("generation_mode")),
        ("duration", seconds),
        ("aspect ratio", quote.get("aspect_ratio")),
        ("options", options_text(quote.get("options"))),
        (
            "cost",
            cost(quote.get("cost"), quote.get("cost_estimated"), unknown="price not published"),
        ),
        ("notice", quote.get("notice")),
        (
            "your tier",
            Text(f"{quote.get('tier')}: may run it")
            if allowed
            else Text(f"{quote.get('tier')}: {quote.get('not_allowed_reason')}", style="yellow"),
        ),
    ]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, value if isinstance(value, Text) else str(value))
    return table
