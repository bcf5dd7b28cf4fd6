"""How figures and names are written for a reader: one number style for every renderer.

Counts get thousands separators and no decimals; money over a month or a horizon is whole
dollars, a request's cost six decimals; break-even one decimal. Model names lose their dated
snapshot suffix in narrow places (tables, headlines), where the date costs a column.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: A dated snapshot suffix: gpt-4o-2024-08-06, claude-3-5-sonnet-20241022.
SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


def count(n: float | None) -> str:
    """A count (requests, tokens, examples): thousands separators, no decimals."""
    return "–" if n is None else f"{n:,.0f}"


def usd(value: float | None, per_request: bool = False) -> str:
    """Money: whole dollars with separators, or six decimals for the cost of one request."""
    if value is None:
        return "–"
    text = f"${abs(value):.6f}" if per_request else f"${abs(value):,.0f}"
    # A loss too small to show is no loss: "-$0" would only puzzle.
    return f"-{text}" if value < 0 and text.strip("$0.,") else text


def signed_usd(value: float) -> str:
    """What an action nets: "+$4,924" or "-$120"."""
    text = usd(value)
    return text if text.startswith("-") or text == "$0" else f"+{text}"


def months(value: float | None) -> str:
    """Break-even months: one decimal; "never" when it never breaks even."""
    return "never" if value is None else f"{value:.1f}"


def short_model(name: str) -> str:
    """The model without its snapshot date: gpt-4o-2024-08-06 → gpt-4o."""
    return SNAPSHOT.sub("", name)


def short_models(text: str, names: list[str]) -> str:
    """``text`` with each of ``names`` written short (longest first, so no name is cut inside another)."""
    for name in sorted(set(names), key=len, reverse=True):
        text = text.replace(name, short_model(name))
    return text


def decimals(values: list[Any]) -> int:
    """The decimals a column of numbers needs to show each value as it is, to at most six places.

    One count for the whole column, so that "730" never stands above "1,181.00" and decimal points align.
    """
    needed = 0
    for v in values:
        if isinstance(v, float) and math.isfinite(v):
            needed = max(needed, len(f"{v:.6f}".rstrip("0").partition(".")[2]))
    return needed


def number(value: float | int, places: int) -> str:
    """A number with separators and ``places`` decimals."""
    return f"{value:,.{places}f}"
