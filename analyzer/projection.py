"""The report's typed value: each template's projection, the overall totals, and their JSON.

Built by :mod:`.costs`, read by the decision and the renderers as attributes. Figures are held
as the report states them (rounded once, by :mod:`.figures`, when built), so that the decision
reasons on the same numbers the report prints. ``as_dict`` is the contract's JSON: its key names
are the field names, in field order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from importlib.metadata import version as package_version
from typing import Any

from .models import Caution
from .options import Option
from .scenario import Scenario
from .sensitivity import Sensitivity

#: The JSON report's schema: raised when a key is removed or changes its shape or meaning, not when one is added.
SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Serialised:
    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON object: every field by its name, in order."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Window(_Serialised):
    """First and last request (ISO, UTC) and the calendar days between them, both included."""

    start: str
    end: str
    days: int


@dataclass(frozen=True)
class OutputKind(_Serialised):
    """The template's most frequent kind of output, and its share of the requests."""

    kind: str
    share: float


@dataclass(frozen=True)
class Volume(_Serialised):
    """The template's requests a day, their weekly pattern, growth, each month of the horizon, and each day seen."""

    mean_daily: float
    weekday_mean: float
    weekend_mean: float
    growth_per_month: float
    growth_note: str
    projection: list[float]
    #: Requests each calendar day of the window, from its first day (zeros included), once sample
    #: rates are undone: the series growth is fitted on, which the saved query daily_volume reproduces.
    daily: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Best(_Serialised):
    """The option netting most over the horizon ("keep" when none nets anything), and its lead on the next."""

    option: str
    label: str
    net_savings_horizon: float
    ahead_by: float | None


@dataclass(frozen=True)
class TemplateProjection(_Serialised):
    """One template: its volume and tokens, cost now and fine-tuned, break-even, options and decision."""

    template_id: str
    label: str
    requests: int
    daily_requests: float
    monthly_requests: float
    models: list[str]  # most used first
    tokens_per_request: dict[str, float]  # by segment kind (models.SEGMENT_KINDS)
    current_cost_per_request: float | None  # None: no request has a price
    finetuned_cost_per_request: float | None
    current_monthly_cost: float | None
    finetuned_monthly_cost: float | None
    monthly_savings: float | None
    upfront_cost: float
    maintenance_monthly: float
    breakeven_months: float | None  # None: never
    breakeven_requests: int | None
    breakeven_range_months: list[float | None]  # earliest and latest as each assumption moves
    net_savings_horizon: float | None
    target_model: str
    finetune_prices: dict[str, Any]  # training, input, output (USD per 1M tokens) and their source
    training_cost: float
    examples_available: int
    output_kind: OutputKind
    caching_monthly_savings: float | None
    volume: Volume
    versions: int
    latest_version_days: int | None
    options: list[Option]  # in registry order (options.KINDS), rounded
    sensitivity: Sensitivity
    best_option: Best
    queries: dict[str, str]  # figure → the saved query that reproduces it
    decision: str = ""
    reasons: list[str] = field(default_factory=list)
    #: The same reasons as ``{"code", "text"}``, the codes stable for programs (costs.REASON_CODES).
    reason_codes: list[dict[str, str]] = field(default_factory=list)
    recommendation: Any = None  # recommending.Recommendation: what to do, once decided
    #: What `crossover compare` measured on the template's eval set (its comparisons row, the verdict and
    #: the option whose assumed cost the measured one replaced); None until a compare ran.
    evaluation: dict[str, Any] | None = None
    # Counted vs billed prompt tokens over its requests with usage (None without any): requests,
    # exact_share, median and p95 absolute error, raw and calibrated (counted_vs_billed_by_template).
    counted_vs_billed: dict[str, Any] | None = None


@dataclass(frozen=True)
class Overall(_Serialised):
    """All templates together: their requests, decisions, spend, and what the GO ones would save."""

    templates: int
    requests: int
    decisions: dict[str, int]
    current_monthly_cost: float
    monthly_savings_go: float
    upfront_cost_go: float
    recommended_net_horizon: float  # what every template's recommended action nets over the horizon


@dataclass
class Projection:
    """The report's content: the window, the scenario used, each template and the total."""

    window: Window
    scenario: Scenario
    templates: list[TemplateProjection]
    overall: Overall
    warnings: list[Caution] = field(default_factory=list)  # weak inputs (analyzer.weak_inputs)
    calibration: list[dict[str, Any]] = field(default_factory=list)  # counted vs billed, per model

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON object, led by its schema version and the crossover version that wrote it."""
        return {"schema_version": SCHEMA_VERSION, "crossover_version": package_version("crossover-analyzer"),
                "window": self.window.as_dict(), "scenario": self.scenario.as_dict(),
                "templates": [t.as_dict() for t in self.templates], "overall": self.overall.as_dict(),
                "calibration": self.calibration, "warnings": [w.text for w in self.warnings],
                "warning_codes": [w.as_dict() for w in self.warnings]}
