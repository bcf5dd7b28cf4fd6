"""How far break-even moves when each assumption moves: a range, and the assumption it hangs on.

Each assumption of :data:`ASSUMPTIONS` is set to its low and its high factor, one at a time, the
others left as they are. The range is the earliest and latest break-even among them; the
assumption the decision is most sensitive to is the one whose two values move break-even furthest
apart (a "never" is furthest). The report's words about the factors are made from the same
declaration. Limit: one at a time, so two assumptions going wrong together can do worse than the
range says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .figures import MONTHS, USD_PER_REQUEST, rounded

#: The two assumptions the arithmetic scales itself: the volume each month, and the upfront cost.
VOLUME, UPFRONT = "volume", "upfront"


@dataclass(frozen=True)
class Assumption:
    """One assumption break-even hangs on, the factors it is moved by, and what they multiply."""

    name: str  # its key in the report
    words: str  # how the report names it
    low: float
    high: float
    #: The scenario values the factor multiplies; none for VOLUME and UPFRONT.
    keys: tuple[str, ...] = ()

    @property
    def described(self) -> str:
        """Its words and factors, as the report states them."""
        return f"{self.words} ×{self.low:g} / ×{self.high:g}"


ASSUMPTIONS = (
    Assumption(VOLUME, "volume", 0.5, 1.5),
    Assumption("finetuned_prices", "fine-tuned prices", 0.7, 1.3, ("finetune.input_price", "finetune.output_price")),
    Assumption(UPFRONT, "upfront", 0.5, 2.0),
    Assumption("kept_system_prompt", "kept system prompt", 0.5, 2.0, ("finetune.system_prompt_tokens",)),
    Assumption("examples", "training examples", 0.5, 2.0, ("finetune.examples",)),
)

#: Break-even in months (None: never) with one assumption scaled by a factor.
BreakEven = Callable[[Assumption, float], float | None]


@dataclass(frozen=True)
class Sensitivity:
    """Break-even at each assumption's low and high value, the range, and the deciding assumption."""

    cases: dict[str, tuple[float | None, float | None]]
    low: float | None  # the earliest break-even of all cases
    high: float | None  # the latest; None when some case never breaks even
    most_sensitive: str | None
    #: The main option's cost per request as ``crossover compare`` measured it, used in every case;
    #: None when the scenario's fine-tuned prices give it (and are then one of the assumptions moved).
    measured_cost_per_request: float | None = None

    def as_dict(self) -> dict:
        """For the report's JSON."""
        return {"breakeven_months": {name: [rounded(a, MONTHS), rounded(b, MONTHS)]
                                     for name, (a, b) in self.cases.items()},
                "range_months": [rounded(self.low, MONTHS), rounded(self.high, MONTHS)],
                "most_sensitive": self.most_sensitive, "described": {a.name: a.described for a in ASSUMPTIONS},
                "cost_per_request": "measured" if self.measured_cost_per_request is not None else "assumed",
                "measured_cost_per_request": rounded(self.measured_cost_per_request, USD_PER_REQUEST)}


def described(name: str | None) -> str:
    """The words and factors of the assumption ``name``; "none" when there is none."""
    return next((a.described for a in ASSUMPTIONS if a.name == name), "none")


def factors() -> str:
    """Every assumption's factors in a line; neighbours that scale scenario values alike are named together."""
    groups: list[list[Assumption]] = []
    for a in ASSUMPTIONS:
        last = groups[-1][-1] if groups else None
        if last is not None and a.keys and last.keys and (a.low, a.high) == (last.low, last.high):
            groups[-1].append(a)
        else:
            groups.append([a])
    return ", ".join(" and ".join(a.words for a in group) + f" ×{group[0].low:g}/×{group[0].high:g}"
                     for group in groups)


def analyse(breakeven: BreakEven, measured_cost: float | None = None) -> Sensitivity:
    """Run every assumption at its low and high value through ``breakeven``.

    ``measured_cost`` is the cost per request ``breakeven`` holds fixed when one was measured; it is
    recorded, so the report can say the range rests on it.
    """
    cases = {a.name: (breakeven(a, a.low), breakeven(a, a.high)) for a in ASSUMPTIONS}
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
    return Sensitivity(cases, low, high, most, measured_cost)
