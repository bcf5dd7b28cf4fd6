"""The series the report's charts draw, read off the projection: no figure of its own.

* **Cumulative cost**, month 0 (today) to the horizon, of keeping today's prompt and of each
  option: upfront at month 0, then each month its cost per request × that month's projected
  requests, plus upkeep. That is the month-by-month arithmetic of :func:`.options.payback`, so an
  option's curve crosses today's exactly at the break-even months the report states (the months'
  volumes are the projection's, rounded to a tenth of a request; tests/test_curves.py holds them
  to it). Between months the curves are straight, as payback's share of a month is.
* **Break-even range**: the projection's earliest and latest break-even of fine-tuning as each
  assumption moves (:mod:`.sensitivity`); "never" runs to the end of the chart.
* **Daily volume**: the window's requests per calendar day (``Volume.daily``) and the trend the
  projection uses: its typical day, the level at the window's middle, grown at its monthly growth
  (none when the fit was within noise, as the report says).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .models import SEGMENT_KINDS
from .projection import TemplateProjection, Window
from .volume import DAYS_PER_MONTH

TODAY = "today"  # the key of the curve of today's prompt


@dataclass(frozen=True)
class CostCurve:
    """One line of the cumulative-cost chart: what an option has cost by the end of each month."""

    key: str  # the option's key (options.KINDS), or TODAY
    label: str
    cumulative: list[float]  # USD at months 0, 1, …, horizon
    breakeven_months: float | None  # the report's figure; None: never (or TODAY)

    def at(self, month: float) -> float:
        """The cumulative cost at a fractional ``month``, on the straight line between month ends."""
        whole = min(int(month), len(self.cumulative) - 2)
        share = month - whole
        return self.cumulative[whole] + share * (self.cumulative[whole + 1] - self.cumulative[whole])


@dataclass(frozen=True)
class CostChart:
    """Today's curve, one per priced option, and the break-even range of fine-tuning."""

    horizon: int
    today: CostCurve
    options: list[CostCurve]
    range_months: tuple[float | None, float | None]  # earliest, latest (None: never)

    def crossings(self) -> list[tuple[CostCurve, float, float]]:
        """Each option that breaks even within the chart, with the month and the cost where it crosses today's."""
        return [(c, c.breakeven_months, self.today.at(c.breakeven_months)) for c in self.options
                if c.breakeven_months is not None and c.breakeven_months <= self.horizon]


def _cumulative(upfront: float, per_request: float, upkeep: float, volumes: list[float]) -> list[float]:
    total, out = upfront, [upfront]
    for requests in volumes:
        total += per_request * requests + upkeep
        out.append(total)
    return out


def cost_chart(t: TemplateProjection) -> CostChart | None:
    """The cumulative cost of today's prompt and of each priced option; None when today's cost is unknown."""
    if t.current_cost_per_request is None:
        return None
    volumes = t.volume.projection
    today = CostCurve(TODAY, "today's prompt", _cumulative(0.0, t.current_cost_per_request, 0.0, volumes), None)
    curves = [CostCurve(o.key, o.label, _cumulative(o.upfront, o.cost_per_request, o.upkeep, volumes),
                        o.breakeven_months) for o in t.options if o.cost_per_request is not None]
    low, high = t.breakeven_range_months
    return CostChart(len(volumes), today, curves, (low, high))


@dataclass(frozen=True)
class VolumeSeries:
    """Requests per day over the window, which days are weekend days, and the projection's trend."""

    days: list[date]
    daily: list[float]
    weekend: list[bool]
    trend: list[float]
    growth_per_month: float
    growth_note: str


def volume_series(t: TemplateProjection, window: Window) -> VolumeSeries:
    """The template's daily volume over ``window`` and the trend line the projection grows from."""
    start = date.fromisoformat(window.start[:10])
    days = [start + timedelta(days=i) for i in range(len(t.volume.daily))]
    middle = (len(days) - 1) / 2
    growth = t.volume.growth_per_month
    trend = [t.daily_requests * (1 + growth) ** ((i - middle) / DAYS_PER_MONTH) for i in range(len(days))]
    return VolumeSeries(days, list(t.volume.daily), [d.weekday() >= 5 for d in days], trend, growth,
                        t.volume.growth_note)


def anatomy(t: TemplateProjection) -> list[tuple[str, float]]:
    """Mean tokens per request by segment kind, in the report's order (system … output)."""
    return [(kind, t.tokens_per_request[kind]) for kind in SEGMENT_KINDS]
