"""What each alternative to today's prompt would cost, per template, and when it would pay back.

The options, each priced from the template's own requests (rows of the ``request_costs`` view with
their volume ``weight`` and scenario prices) and the scenario:

* ``finetune``: fine-tune the template's model (or ``[finetune] target_model``); the prompt keeps
  ``system_prompt_tokens`` of its system prompt and loses its examples; priced uncached, since so
  short a prompt is under every provider's cache minimum.
* ``finetune_smaller``: the same on the next smaller fine-tunable model of the family.
* ``caching``: no training; the static prefix (system, few-shot, tools) read from the provider's
  cache at the cached price, once it reaches the cache minimum (1,024 tokens, in steps of 128).
  Limit: Anthropic's cache writes (1.25× input) are taken as rare, which holds for a prefix used
  more often than its 5-minute lifetime.
* ``trim_fewshot``: no training; keep ``[trim] keep_examples`` of the template's few-shot examples
  (counted as user/assistant pairs). Limit: examples inside the system text are not counted as
  pairs, so a template with only those has no trimming option.
* ``lora``: a self-hosted LoRA adapter on an open model, only when the scenario has a ``[lora]``
  section: training GPU-hours at an hourly price; serving per token, or a dedicated GPU per month.
  It changes the model, not only the price: the quality evaluation decides.

:data:`KINDS` is their registry, in report order, which costs, the decision and the renderers
iterate: adding an option is its pricing function and one line there. :func:`payback` turns a
saving per request into break-even (months and requests) and net savings over the horizon against
a month-by-month volume, so growth counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from .figures import MONTHS, USD, USD_PER_REQUEST, rounded
from .pricing import finetune_prices
from .scenario import Scenario

MILLION = 1e6
#: OpenAI caches a prompt prefix of at least 1,024 tokens, in steps of 128 (pricing.md §3).
CACHE_MIN_TOKENS = 1024
CACHE_STEP = 128
#: Break-even is found month by month this far out; beyond it, at the last month's volume.
MAX_MONTHS = 120
#: The next smaller fine-tunable model of each family (finetune_prices.toml keys).
SMALLER = {"gpt-4o": "gpt-4o-mini", "gpt-4.1": "gpt-4.1-mini", "gpt-4.1-mini": "gpt-4.1-nano"}


@dataclass
class Option:
    """One alternative to today's prompt, and (after :func:`payback`) what it saves."""

    key: str
    label: str
    cost_per_request: float | None
    upfront: float
    upkeep: float  # per month
    model: str | None = None
    training_cost: float = 0.0
    prices: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    monthly_cost: float | None = None
    monthly_savings: float | None = None
    breakeven_months: float | None = None
    breakeven_requests: int | None = None
    net_savings_horizon: float | None = None

    def reported(self) -> Option:
        """A copy with its figures rounded as the report states them (money to the cent's hundredth)."""
        return replace(self, cost_per_request=rounded(self.cost_per_request, USD_PER_REQUEST),
                       monthly_cost=rounded(self.monthly_cost, USD), monthly_savings=rounded(self.monthly_savings, USD),
                       upfront=rounded(self.upfront, USD), upkeep=rounded(self.upkeep, USD),
                       training_cost=rounded(self.training_cost, USD),
                       breakeven_months=rounded(self.breakeven_months, MONTHS),
                       net_savings_horizon=rounded(self.net_savings_horizon, USD))

    def as_dict(self) -> dict[str, Any]:
        """The option as the report's JSON."""
        return {"option": self.key, "label": self.label, "model": self.model,
                "cost_per_request": self.cost_per_request, "monthly_cost": self.monthly_cost,
                "monthly_savings": self.monthly_savings, "upfront_cost": self.upfront,
                "maintenance_monthly": self.upkeep, "training_cost": self.training_cost,
                "breakeven_months": self.breakeven_months, "breakeven_requests": self.breakeven_requests,
                "net_savings_horizon": self.net_savings_horizon, "note": self.note}


def wmean(group: pl.DataFrame, column: str | pl.Expr) -> float | None:
    """The volume-weighted mean of a column over the rows where it is known; None where it never is."""
    expr = pl.col(column) if isinstance(column, str) else column
    total, weight = group.select((expr * pl.col("weight")).sum(),
                                 pl.col("weight").filter(expr.is_not_null()).sum()).row(0)
    return float(total) / float(weight) if weight else None


def labour(s: Scenario) -> float:
    """The engineering cost of any fine-tuning: data, evaluation and pipeline hours, plus fixed costs."""
    return (s["upfront.hourly_rate"] * (s["upfront.data_hours"] + s["upfront.eval_hours"] + s["upfront.pipeline_hours"])
            + s["upfront.fixed"])


def finetune(group: pl.DataFrame, s: Scenario, current: float | None, target: str, key: str = "finetune") -> Option:
    """Fine-tune ``target``: the shorter prompt at its fine-tuned prices, training and labour upfront, \
retraining upkeep.

    Scenario prices (``[finetune] input_price`` …) apply to the template's own target only.
    """
    ft = finetune_prices(target)
    own = key == "finetune"

    def price(name: str, data: float | None) -> float | None:
        given = s[f"finetune.{name}_price"] if own else None
        return given if given is not None else data

    prices = {"training": price("training", ft.training if ft else None),
              "input": price("input", ft.input if ft else None),
              "output": price("output", ft.output if ft else None),
              "source": (f"{ft.source} ({ft.as_of})" if ft else "scenario")}
    kept = pl.min_horizontal(pl.col("system_tokens"), pl.lit(s["finetune.system_prompt_tokens"]))
    # The shorter prompt: what was billed, less the system prompt and the examples, plus what is kept.
    ft_prompt = (pl.col("billed_prompt_tokens") - pl.col("system_tokens") - pl.col("fewshot_tokens") + kept).clip(0)
    cost = None
    if current is not None and prices["input"] is not None and prices["output"] is not None:
        cost = wmean(group, (ft_prompt * prices["input"] + pl.col("billed_output_tokens") * prices["output"]) / MILLION)
    example_tokens = wmean(group, kept + pl.col("tools_tokens") + pl.col("history_tokens") + pl.col("input_tokens")
                           + pl.col("output_tokens")) or 0.0
    training = training_cost(s, example_tokens, prices["training"])
    upfront = training + labour(s)
    every = s["maintenance.retrain_every_months"]  # 0: never retrained
    retraining = (training + s["maintenance.retrain_hours"] * s["upfront.hourly_rate"]) / every if every else 0.0
    label = f"fine-tune {target}" if own else f"fine-tune the smaller {target}"
    return Option(key, label, cost, upfront, retraining + s["maintenance.monthly"], target, training, prices,
                  "" if ft or not own else "no fine-tuning price in data/finetune_prices.toml")


def training_cost(s: Scenario, example_tokens: float, price: float | None) -> float:
    """Training tokens (the scenario's examples × mean tokens an example × epochs) at ``price`` per 1M; 0 unpriced.

    The report's figure, and the one ``crossover export`` checks its train file against.
    """
    if price is None:
        return 0.0
    return s["finetune.examples"] * example_tokens * s["finetune.epochs"] * price / MILLION


def training_price(s: Scenario, target: str) -> float | None:
    """The training price per 1M tokens of the template's own target: the scenario's, else the data file's."""
    if s["finetune.training_price"] is not None:
        return s["finetune.training_price"]
    ft = finetune_prices(target)
    return ft.training if ft else None


def smaller_model(model: str, s: Scenario) -> str | None:
    """The smaller-model option's target: the scenario's, else the family's next smaller model."""
    if s["finetune.smaller_model"]:
        return None if s["finetune.smaller_model"].lower() == "none" else s["finetune.smaller_model"]
    ft = finetune_prices(model)
    return SMALLER.get(ft.base_model) if ft else None


def caching(group: pl.DataFrame, s: Scenario, current: float | None, static_tokens: float) -> Option:
    """Cache the static prefix: what is not read from the cache today is, at the cached price."""
    cached_now = wmean(group, "billed_cached_tokens") or 0.0
    cacheable = (static_tokens // CACHE_STEP) * CACHE_STEP if static_tokens >= CACHE_MIN_TOKENS else 0.0
    price_in = wmean(group, "price_input")
    price_cached = wmean(group, pl.col("price_cached_input").fill_null(pl.col("price_input")))
    note = ""
    if not cacheable:
        note = f"a static prefix of {static_tokens:,.0f} tokens is under the {CACHE_MIN_TOKENS:,}-token cache minimum"
    elif cached_now >= cacheable:
        note = "the static prefix is already read from the cache"
    saving = (max(0.0, cacheable - cached_now) * (price_in - price_cached) / MILLION
              if price_in is not None and price_cached is not None else None)
    cost = current - saving if current is not None and saving is not None else None
    return Option("caching", "cache the static prefix", cost, s["caching.hours"] * s["upfront.hourly_rate"], 0.0,
                  note=note)


def trim_fewshot(group: pl.DataFrame, s: Scenario, current: float | None, fewshot_tokens: float,
                 pairs: float | None) -> Option | None:
    """Keep ``keep_examples`` of the template's example pairs; None when it has no more than that."""
    keep = s["trim.keep_examples"]
    if not pairs or pairs <= keep or not fewshot_tokens:
        return None
    removed = fewshot_tokens * (1 - keep / pairs)
    # The removed examples are billed today at the template's mix of cached and uncached input.
    price_in = wmean(group, "price_input")
    cached_share = wmean(group, pl.col("billed_cached_tokens") / pl.col("billed_prompt_tokens").clip(1)) or 0.0
    price_cached = wmean(group, pl.col("price_cached_input").fill_null(pl.col("price_input")))
    saving = (removed * (cached_share * price_cached + (1 - cached_share) * price_in) / MILLION
              if price_in is not None and price_cached is not None else None)
    cost = current - saving if current is not None and saving is not None else None
    return Option("trim_fewshot", f"keep {keep:g} of {pairs:g} examples", cost,
                  s["trim.hours"] * s["upfront.hourly_rate"], 0.0,
                  note=f"removes {removed:,.0f} few-shot tokens a request")


def lora(group: pl.DataFrame, s: Scenario, current: float | None) -> Option:
    """A LoRA adapter on a self-hosted open model: GPU-hours to train, per-token or dedicated serving."""
    kept = pl.min_horizontal(pl.col("system_tokens"), pl.lit(s["finetune.system_prompt_tokens"]))
    prompt = (pl.col("billed_prompt_tokens") - pl.col("system_tokens") - pl.col("fewshot_tokens") + kept).clip(0)
    training = s["lora.gpu_hourly"] * s["lora.training_hours"]
    every = s["maintenance.retrain_every_months"]
    retraining = (training + s["maintenance.retrain_hours"] * s["upfront.hourly_rate"]) / every if every else 0.0
    if s["lora.input_price"] is not None and s["lora.output_price"] is not None:
        cost = wmean(group, (prompt * s["lora.input_price"] + pl.col("billed_output_tokens") * s["lora.output_price"])
                     / MILLION)
        serving, how = 0.0, "served per token"
    else:
        cost, serving = 0.0, s["lora.serving_hourly"] * s["lora.serving_hours"]
        how = f"a dedicated GPU at ${s['lora.serving_hourly']:g}/h for {s['lora.serving_hours']:g} h a month"
    return Option("lora", f"LoRA on {s['lora.model']}, self-hosted", cost if current is not None else None,
                  training + labour(s), retraining + serving + s["maintenance.monthly"], s["lora.model"], training,
                  note=f"{how}; an open model must first match today's outputs")


def payback(option: Option, current: float | None, volume: Callable[[int], float], horizon: int,
            volume_factor: float = 1.0) -> Option:
    """Fill in monthly cost and savings (month 1), break-even in months and requests, and net over ``horizon``.

    ``volume(m)`` is the requests expected in month m after the logged window (m = 1, 2, …). Break-even
    is when the savings so far, less upkeep, first cover the upfront; "never" within ``MAX_MONTHS``.
    """
    if option.cost_per_request is None or current is None:
        return option
    saving = current - option.cost_per_request
    first = volume(1) * volume_factor
    option.monthly_cost = option.cost_per_request * first
    option.monthly_savings = saving * first
    gained, requests = -option.upfront, 0.0
    for month in range(1, MAX_MONTHS + 1):
        monthly = volume(month) * volume_factor
        gain = saving * monthly - option.upkeep
        if gain > 0 and gained + gain >= 0:
            share = max(0.0, -gained) / gain  # of this month, to cover what is still owed
            option.breakeven_months = month - 1 + share
            option.breakeven_requests = math.ceil(requests + share * monthly - 1e-9)  # float-safe ceil
            break
        gained += gain
        requests += monthly
    else:
        # Not within MAX_MONTHS: carried on at the last month's volume, which at a flat volume is exact
        # (upfront ÷ monthly net) and with growth errs late.
        if gain > 0:
            option.breakeven_months = MAX_MONTHS - gained / gain
            option.breakeven_requests = math.ceil(requests - gained / gain * monthly - 1e-9)
    option.net_savings_horizon = sum(saving * volume(m) * volume_factor - option.upkeep
                                     for m in range(1, horizon + 1)) - option.upfront
    return option


@dataclass(frozen=True)
class Basis:
    """What every option is priced from: one template's requests, the scenario and its figures today."""

    group: pl.DataFrame
    scenario: Scenario
    current: float | None  # today's cost per request; None when unpriced
    target: str  # the model the template would be fine-tuned on
    tokens: dict[str, float]  # mean tokens per request, by segment kind
    fewshot_pairs: float | None


@dataclass(frozen=True)
class Kind:
    """One kind of option: its key in the report, how it is priced, and what the decision makes of it."""

    key: str
    price: Callable[[Basis], Option | None]  # None: not offered for this template
    #: False: it saves by changing the prompt alone, so the decision weighs it against any training.
    trains: bool = True
    #: When it nets the most, the decision names it as the better fine-tune to evaluate.
    named_when_best: bool = False


def _static(b: Basis) -> float:
    return b.tokens["system"] + b.tokens["fewshot"] + b.tokens["tools"]


def _smaller(b: Basis) -> Option | None:
    smaller = smaller_model(b.target, b.scenario)
    return finetune(b.group, b.scenario, b.current, smaller, key="finetune_smaller") if smaller else None


#: Every kind, in the order the report lists them. The first is fine-tuning itself, which the decision is about.
KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("finetune", lambda b: finetune(b.group, b.scenario, b.current, b.target)),
    Kind("caching", lambda b: caching(b.group, b.scenario, b.current, _static(b)), trains=False),
    Kind("finetune_smaller", _smaller, named_when_best=True),
    Kind("trim_fewshot", lambda b: trim_fewshot(b.group, b.scenario, b.current, b.tokens["fewshot"], b.fewshot_pairs),
         trains=False),
    Kind("lora", lambda b: lora(b.group, b.scenario, b.current) if "lora" in b.scenario.given else None),
)}
MAIN = "finetune"


def offered(b: Basis) -> list[Option]:
    """The options open to one template, priced, in report order (before :func:`payback`)."""
    return [option for kind in KINDS.values() if (option := kind.price(b)) is not None]


def find(every: list[Option], key: str) -> Option | None:
    """The option of kind ``key`` among ``every``; None when it was not offered."""
    return next((o for o in every if o.key == key), None)
