"""How far break-even moves when each assumption moves: a range, and the assumption it hangs on.

Each assumption is set to a low and a high value, one at a time, the others left as they are:
volume ×0.5 and ×1.5, fine-tuned prices ×0.7 and ×1.3, upfront ×0.5 and ×2, the kept system
prompt at half and twice its tokens, the training examples at half and twice their number. The
range is the earliest and latest break-even among them; the assumption the decision is most
sensitive to is the one whose two values move break-even furthest apart (a "never" is furthest).
Limit: one at a time, so two assumptions going wrong together can do worse than the range says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .figures import MONTHS, rounded

#: (assumption, what its low and high values are, the low and high factors)
ASSUMPTIONS = (
    ("volume", "volume ×0.5 / ×1.5", 0.5, 1.5),
    ("finetuned_prices", "fine-tuned prices ×0.7 / ×1.3", 0.7, 1.3),
    ("upfront", "upfront ×0.5 / ×2", 0.5, 2.0),
    ("kept_system_prompt", "kept system prompt ×0.5 / ×2", 0.5, 2.0),
    ("examples", "training examples ×0.5 / ×2", 0.5, 2.0),
)

#: Break-even in months (None: never) with one assumption scaled by a factor.
BreakEven = Callable[[str, float], float | None]


@dataclass(frozen=True)
class Sensitivity:
    """Break-even at each assumption's low and high value, the range, and the deciding assumption."""

    cases: dict[str, tuple[float | None, float | None]]
    low: float | None  # the earliest break-even of all cases
    high: float | None  # the latest; None when some case never breaks even
    most_sensitive: str | None

    def as_dict(self) -> dict:
        """For the report's JSON."""
        return {"breakeven_months": {name: [rounded(a, MONTHS), rounded(b, MONTHS)]
                                     for name, (a, b) in self.cases.items()},
                "range_months": [rounded(self.low, MONTHS), rounded(self.high, MONTHS)], "most_sensitive": self.most_sensitive,
                "described": {name: text for name, text, _, _ in ASSUMPTIONS}}


def analyse(breakeven: BreakEven) -> Sensitivity:
    """Run every assumption at its low and high value through ``breakeven``."""
    cases = {name: (breakeven(name, low), breakeven(name, high)) for name, _, low, high in ASSUMPTIONS}
    values = [v for pair in cases.values() for v in pair]
    known = [v for v in values if v is not None]
    low = min(known) if known else None
    high = None if None in values or not known else max(known)

    def swing(pair: tuple[float | None, float | None]) -> float:
        a, b = pair
        if a is None and b is None:
            return -1.0  # never either way: this assumption does not decide anything
        return float("inf") if a is None or b is None else abs(a - b)

    ranked = sorted(cases, key=lambda name: swing(cases[name]), reverse=True)
    most = ranked[0] if ranked and swing(cases[ranked[0]]) > 0 else None
    return Sensitivity(cases, low, high, most)
