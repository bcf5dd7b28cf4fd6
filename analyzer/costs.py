"""The economics per template: cost now and fine-tuned, upfront, upkeep, break-even, net, decision.

Pure: a frame of requests with their billed tokens and list prices (the ``request_costs`` view)
and a :class:`~analyzer.scenario.Scenario` in, a :class:`Projection` out. DESIGN.md's "economics"
section is the specification; each rule below names the figure it produces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from .pricing import finetune_prices
from .scenario import Scenario

DAYS_PER_MONTH = 30.4
MILLION = 1e6
#: OpenAI caches a prompt prefix of at least 1,024 tokens, in steps of 128 (pricing.md §3).
CACHE_MIN_TOKENS = 1024
CACHE_STEP = 128
LONG_OUTPUT_TOKENS = 500  # mean output above this is long free text, where fine-tuning helps least
SEGMENT_COLUMNS = {"system": "system_tokens", "fewshot": "fewshot_tokens", "tools": "tools_tokens",
                   "history": "history_tokens", "input": "input_tokens", "output": "output_tokens"}

GO, EVALUATE, NO_GO = "GO", "EVALUATE", "NO-GO"
TASK_WORDS = {"label": "short labels", "json": "JSON objects", "tool_call": "tool calls"}


@dataclass
class Projection:
    """The report's content: the window, the scenario used, each template and the total."""

    window: dict[str, Any]
    scenario: dict[str, Any]
    templates: list[dict[str, Any]]
    overall: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    calibration: list[dict[str, Any]] = field(default_factory=list)  # counted vs billed, per model

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON object."""
        return {"window": self.window, "scenario": self.scenario, "templates": self.templates,
                "overall": self.overall, "calibration": self.calibration, "warnings": self.warnings}


def _with_scenario_prices(requests: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    for model, prices in scenario.prices.items():
        hit = pl.col("model") == model
        for name, column in (("input", "price_input"), ("cached_input", "price_cached_input"),
                             ("cache_write", "price_cache_write"), ("output", "price_output")):
            if name in prices:
                requests = requests.with_columns(pl.when(hit).then(pl.lit(prices[name])).otherwise(pl.col(column)).alias(column))
    return requests.with_columns(
        # The same arithmetic as the request_costs view, so that scenario prices can replace list ones.
        cost=((pl.col("billed_prompt_tokens") - pl.col("billed_cached_tokens") - pl.col("billed_cache_write_tokens"))
              * pl.col("price_input")
              + pl.col("billed_cached_tokens") * pl.col("price_cached_input").fill_null(pl.col("price_input"))
              + pl.col("billed_cache_write_tokens") * pl.col("price_cache_write").fill_null(pl.col("price_input"))
              + pl.col("billed_output_tokens") * pl.col("price_output")) / MILLION,
        weight=1.0 / pl.col("sample_rate").fill_null(scenario["traffic.sample_rate"]),
    )


def window_of(requests: pl.DataFrame) -> dict[str, Any]:
    """First and last request and the calendar days between them, both included."""
    start: datetime = requests["ts"].min()
    end: datetime = requests["ts"].max()
    return {"start": start.isoformat() + "Z", "end": end.isoformat() + "Z", "days": (end.date() - start.date()).days + 1}


def project(requests: pl.DataFrame, labels: dict[str, str], scenario: Scenario,
            calibration: list[dict[str, Any]] | None = None) -> Projection:
    """Project every template of ``requests`` (rows of the ``request_costs`` view) under ``scenario``.

    ``calibration`` (rows of the ``model_calibration`` view) is passed through to the report.
    """
    requests = _with_scenario_prices(requests, scenario)
    # Counts of models whose tokenizer tiktoken lacks are o200k estimates: scaled to the model's own
    # tokens (the model_calibration view), so that they can be set against what was billed.
    requests = requests.with_columns((pl.col(c) * pl.col("token_scale")).alias(c) for c in SEGMENT_COLUMNS.values())
    window = window_of(requests)
    warnings = _price_warnings(requests)
    templates = [
        _template(group, labels.get(tid, tid), window["days"], scenario)
        for (tid,), group in requests.group_by("template_id", maintain_order=True)
    ]
    templates.sort(key=lambda t: -(t["current_monthly_cost"] or 0))
    return Projection(window, scenario.as_dict(), templates, _overall(templates), warnings, calibration or [])


def _price_warnings(requests: pl.DataFrame) -> list[str]:
    unpriced = requests.filter(pl.col("price_input").is_null() | pl.col("price_output").is_null())
    out = []
    for (model,), group in unpriced.group_by("model", maintain_order=True):
        share = len(group) / len(requests)
        out.append(f"no price for {model} ({len(group)} requests, {share:.1%} of all): "
                   f'its cost is left out; set [prices."{model}"] in the scenario')
    return out


def _wmean(group: pl.DataFrame, column: str | pl.Expr) -> float | None:
    """The volume-weighted mean of a column over the rows where it is known; None where it never is."""
    expr = pl.col(column) if isinstance(column, str) else column
    total, weight = group.select((expr * pl.col("weight")).sum(), pl.col("weight").filter(expr.is_not_null()).sum()).row(0)
    return float(total) / float(weight) if weight else None


def _template(group: pl.DataFrame, label: str, days: int, s: Scenario) -> dict[str, Any]:
    models = group["model"].value_counts(sort=True)["model"].to_list()
    volume = float(group["weight"].sum())
    daily = volume / days
    monthly = daily * DAYS_PER_MONTH
    tokens = {kind: round(_wmean(group, column), 1) for kind, column in SEGMENT_COLUMNS.items()}
    current = _wmean(group, "cost")  # None when no request of the template has a price

    target = s["finetune.target_model"] or models[0]
    ft = finetune_prices(target)
    price = {
        "training": s["finetune.training_price"] if s["finetune.training_price"] is not None else (ft.training if ft else None),
        "input": s["finetune.input_price"] if s["finetune.input_price"] is not None else (ft.input if ft else None),
        "output": s["finetune.output_price"] if s["finetune.output_price"] is not None else (ft.output if ft else None),
    }
    kept = pl.min_horizontal(pl.col("system_tokens"), pl.lit(s["finetune.system_prompt_tokens"]))
    # The shorter prompt: what was billed, less the system prompt and the examples, plus what is kept.
    # Too short to reach the cache minimum, it is priced uncached.
    ft_prompt = (pl.col("billed_prompt_tokens") - pl.col("system_tokens") - pl.col("fewshot_tokens") + kept).clip(0)
    finetuned = None
    if current is not None and price["input"] is not None and price["output"] is not None:
        finetuned = _wmean(group, (ft_prompt * price["input"] + pl.col("billed_output_tokens") * price["output"]) / MILLION)

    example_tokens = _wmean(group, kept + pl.col("tools_tokens") + pl.col("history_tokens") + pl.col("input_tokens")
                            + pl.col("output_tokens"))
    examples_available = group.filter((pl.col("status") == "ok") & (pl.col("output_kind") != "none"))["input_hash"].n_unique()
    rate = s["upfront.hourly_rate"]
    training_cost = (s["finetune.examples"] * example_tokens * s["finetune.epochs"] * price["training"] / MILLION
                     if price["training"] is not None else 0.0)
    upfront = training_cost + rate * (s["upfront.data_hours"] + s["upfront.eval_hours"] + s["upfront.pipeline_hours"]) + s["upfront.fixed"]
    every = s["maintenance.retrain_every_months"]  # 0: never retrained
    retraining = (training_cost + s["maintenance.retrain_hours"] * rate) / every if every else 0.0
    maintenance = retraining + s["maintenance.monthly"]

    saving_per_request = current - finetuned if finetuned is not None and current is not None else None
    monthly_savings = saving_per_request * monthly if saving_per_request is not None else None
    months = breakeven_months(upfront, monthly_savings, maintenance)
    requests_needed = math.ceil(months * monthly) if months is not None else None
    horizon = s["traffic.horizon_months"]
    net = (monthly_savings - maintenance) * horizon - upfront if monthly_savings is not None else None
    # Sensitivity, first cut: volume half and one and a half times what the month showed.
    low_high = [breakeven_months(upfront, monthly_savings * f, maintenance) if monthly_savings is not None else None
                for f in (1.5, 0.5)]

    static = tokens["system"] + tokens["fewshot"] + tokens["tools"]
    cached_now = _wmean(group, "billed_cached_tokens")
    cacheable = (static // CACHE_STEP) * CACHE_STEP if static >= CACHE_MIN_TOKENS else 0.0
    price_in = _wmean(group, "price_input")
    price_cached = _wmean(group, pl.col("price_cached_input").fill_null(pl.col("price_input")))
    caching_savings = (max(0.0, cacheable - cached_now) * (price_in - price_cached) / MILLION * monthly
                       if price_in is not None and price_cached is not None else None)

    kinds = group["output_kind"].value_counts(sort=True)
    task = {"kind": kinds["output_kind"][0], "share": float(kinds["count"][0] / len(group))}
    result = {
        "template_id": group["template_id"][0],
        "label": label,
        "requests": len(group),
        "daily_requests": round(daily, 2),
        "monthly_requests": round(monthly, 1),
        "models": models,
        "tokens_per_request": tokens,
        "current_cost_per_request": _money(current, 8),
        "finetuned_cost_per_request": _money(finetuned, 8),
        "current_monthly_cost": _money(current * monthly if current is not None else None, 4),
        "finetuned_monthly_cost": _money(finetuned * monthly if finetuned is not None else None, 4),
        "monthly_savings": _money(monthly_savings, 4),
        "upfront_cost": _money(upfront, 4),
        "maintenance_monthly": _money(maintenance, 4),
        "breakeven_months": _round(months, 2),
        "breakeven_requests": requests_needed,
        "breakeven_range_months": [_round(v, 2) for v in low_high],
        "net_savings_horizon": _money(net, 4),
        "target_model": target,
        "finetune_prices": {**price, "source": f"{ft.source} ({ft.as_of})" if ft else "scenario"},
        "training_cost": _money(training_cost, 4),
        "examples_available": examples_available,
        "output_kind": task,
        "caching_monthly_savings": _money(caching_savings, 4),
    }
    result["decision"], result["reasons"] = decide(result, s)
    return result


def breakeven_months(upfront: float, monthly_savings: float | None, maintenance: float) -> float | None:
    """Upfront ÷ (monthly savings − maintenance); None when savings do not exceed maintenance."""
    if monthly_savings is None or monthly_savings <= maintenance:
        return None
    return upfront / (monthly_savings - maintenance)


def decide(t: dict[str, Any], s: Scenario) -> tuple[str, list[str]]:
    """GO, EVALUATE or NO-GO for one template, with every reason that produced it.

    NO-GO when there is no price to fine-tune at, when the fine-tuned call costs as much as today's,
    when savings never cover upkeep, when break-even falls past the horizon, or when the logs hold
    too few examples to train on. Otherwise GO unless a softer rule (break-even slower than wanted,
    low volume, fewer examples than wanted, long free-text outputs, caching taking most of the
    saving) makes it EVALUATE. GO means: go to a quality evaluation.
    """
    reasons: list[str] = []
    verdict = GO
    horizon, max_months = s["traffic.horizon_months"], s["decision.max_breakeven_months"]
    months, examples = t["breakeven_months"], t["examples_available"]
    min_examples = s["decision.min_examples"]

    def lower(to: str, reason: str) -> None:
        nonlocal verdict
        reasons.append(reason)
        if [GO, EVALUATE, NO_GO].index(to) > [GO, EVALUATE, NO_GO].index(verdict):
            verdict = to

    if t["current_cost_per_request"] is None:
        lower(NO_GO, f"no list price for {', '.join(t['models'])}: set [prices.\"MODEL\"] in the scenario")
        return verdict, reasons
    if t["finetuned_cost_per_request"] is None:
        lower(NO_GO, f"no fine-tuning price for {t['target_model']}: set [finetune] input_price and output_price")
        return verdict, reasons
    if t["finetune_prices"]["training"] is None:
        lower(EVALUATE, f"no per-token training price for {t['target_model']}: training is left out of the upfront "
                        "and upkeep; set [finetune] training_price")
    now, after = t["current_cost_per_request"], t["finetuned_cost_per_request"]
    if after >= now:
        lower(NO_GO, f"a fine-tuned call would cost ${after:.6f} against ${now:.6f} now: the static prompt it removes "
                     f"({t['tokens_per_request']['system'] + t['tokens_per_request']['fewshot']:,.0f} tokens) does not pay for "
                     "the fine-tuned model's higher price")
    elif months is None:
        lower(NO_GO, f"savings of ${t['monthly_savings']:,.2f}/month do not cover upkeep of ${t['maintenance_monthly']:,.2f}/month")
    elif months > horizon:
        lower(NO_GO, f"breaks even after {months:.1f} months, beyond the {horizon}-month horizon")
    elif months > max_months:
        lower(EVALUATE, f"breaks even after {months:.1f} months, slower than the {max_months:g} wanted")
    else:
        reasons.append(f"breaks even after {months:.1f} months ({t['breakeven_requests']:,} requests); "
                       f"nets ${t['net_savings_horizon']:,.0f} over {horizon} months")
    if examples < min_examples / 5:
        lower(NO_GO, f"only {examples} distinct examples in the logs, far below the {min_examples} wanted")
    elif examples < min_examples:
        lower(EVALUATE, f"{examples} distinct examples in the logs, fewer than the {min_examples} wanted: label more")
    else:
        reasons.append(f"{examples:,} distinct successful examples in the logs to train on")
    if t["daily_requests"] < s["decision.min_daily_requests"]:
        lower(EVALUATE, f"{t['daily_requests']:,.0f} requests/day, below the {s['decision.min_daily_requests']:,.0f} where fine-tuning usually pays")
    else:
        reasons.append(f"{t['daily_requests']:,.0f} requests/day")
    kind, share = t["output_kind"]["kind"], t["output_kind"]["share"]
    if t["tokens_per_request"]["output"] > LONG_OUTPUT_TOKENS or kind == "text":
        lower(EVALUATE, f"outputs are free text ({t['tokens_per_request']['output']:.0f} tokens on average): "
                        "fine-tuning is surest on format and style, less so on open-ended writing")
    elif kind in ("label", "json", "tool_call"):
        reasons.append(f"{share:.0%} of outputs are {TASK_WORDS[kind]}: a task fine-tuning learns well")
    if t["monthly_savings"] and (t["caching_monthly_savings"] or 0) >= 0.5 * t["monthly_savings"] > 0:
        lower(EVALUATE, f"prompt caching of the static prefix alone would save ${t['caching_monthly_savings']:,.2f}/month, "
                        "most of what fine-tuning saves, with no training")
    if verdict == GO:
        reasons.append("GO means: run a quality evaluation; the fine-tuned model must match today's outputs on a "
                       "held-out set of logged requests before it replaces the prompt")
    return verdict, reasons


def _overall(templates: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> float:
        return round(sum(t[key] or 0 for t in templates), 4)

    go = [t for t in templates if t["decision"] == GO]
    return {
        "templates": len(templates),
        "requests": sum(t["requests"] for t in templates),
        "decisions": {d: sum(t["decision"] == d for t in templates) for d in (GO, EVALUATE, NO_GO)},
        "current_monthly_cost": total("current_monthly_cost"),
        "monthly_savings_go": round(sum(t["monthly_savings"] - t["maintenance_monthly"] for t in go), 4),
        "upfront_cost_go": round(sum(t["upfront_cost"] for t in go), 4),
    }


def _money(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None
