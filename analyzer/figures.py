"""How the report rounds its figures: one helper, and the digits each kind of figure keeps."""

from __future__ import annotations

USD = 4  # money: to the hundredth of a cent
USD_PER_REQUEST = 8  # a request costs fractions of a cent
MONTHS = 2  # break-even


def rounded(value: float | None, digits: int) -> float | None:
    """``value`` to ``digits`` decimals; None (a figure that cannot be known) stays None."""
    return round(value, digits) if value is not None else None
