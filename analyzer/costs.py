"""The economics per template: cost now and fine-tuned, upfront, upkeep, break-even, net, decision.

Pure: a frame of requests with their billed tokens and list prices (the ``request_costs`` view)
and a :class:`~analyzer.scenario.Scenario` in, a :class:`~analyzer.projection.Projection` out. DESIGN.md's "economics"
section is the specification; each rule below names the figure it produces.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import polars as pl

from . import options, recommending, sensitivity
from . import volume as volumes
from .figures import MONTHS, USD, USD_PER_REQUEST, rounded
from .models import SEGMENT_KINDS
from .projection import Best, OutputKind, Overall, Projection, TemplateProjection, Volume, Window
from .scenario import Scenario

DAYS_PER_MONTH = 30.4
MILLION = 1e6
LONG_OUTPUT_TOKENS = 500  # mean output above this is long free text, where fine-tuning helps least
#: The column of the requests table that holds each segment kind's tokens.
SEGMENT_COLUMNS = {kind: f"{kind}_tokens" for kind in SEGMENT_KINDS}

#: The saved query that reproduces each figure measured from the logs (the rest is arithmetic on
#: these and the scenario). tests/test_report_queries.py runs each one against the report.
FIGURE_QUERIES = {
    "requests": "template_volume", "daily_requests": "template_volume",
    "tokens_per_request": "token_anatomy", "current_cost_per_request": "templates_by_spend",
    "examples_available": "training_examples", "output_kind": "training_examples",
}

GO, EVALUATE, NO_GO = "GO", "EVALUATE", "NO-GO"
KEEP = "keep"  # the best option when none nets anything
TASK_WORDS = {"label": "short labels", "json": "JSON objects", "tool_call": "tool calls"}


def _with_scenario_prices(requests: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    for model, prices in scenario.prices.items():
        hit = pl.col("model") == model
        for name, column in (("input", "price_input"), ("cached_input", "price_cached_input"),
                             ("cache_write", "price_cache_write"), ("output", "price_output")):
            if name in prices:
                requests = requests.with_columns(
                    pl.when(hit).then(pl.lit(prices[name])).otherwise(pl.col(column)).alias(column))
    return requests.with_columns(
        # The same arithmetic as the request_costs view, so that scenario prices can replace list ones.
        cost=((pl.col("billed_prompt_tokens") - pl.col("billed_cached_tokens") - pl.col("billed_cache_write_tokens"))
              * pl.col("price_input")
              + pl.col("billed_cached_tokens") * pl.col("price_cached_input").fill_null(pl.col("price_input"))
              + pl.col("billed_cache_write_tokens") * pl.col("price_cache_write").fill_null(pl.col("price_input"))
              + pl.col("billed_output_tokens") * pl.col("price_output")) / MILLION,
        weight=1.0 / pl.col("sample_rate").fill_null(scenario["traffic.sample_rate"]),
    )


def window_of(requests: pl.DataFrame) -> Window:
    """First and last request and the calendar days between them, both included."""
    start: datetime = requests["ts"].min()
    end: datetime = requests["ts"].max()
    return Window(start.isoformat() + "Z", end.isoformat() + "Z", (end.date() - start.date()).days + 1)


def project(requests: pl.DataFrame, labels: dict[str, str], scenario: Scenario,
            calibration: list[dict[str, Any]] | None = None, templates_info: dict[str, dict[str, Any]] | None = None
            ) -> Projection:
    """Project every template of ``requests`` (rows of the ``request_costs`` view) under ``scenario``.

    ``calibration`` (rows of the ``model_calibration`` view) is passed through to the report;
    ``templates_info`` holds, per template, what the requests do not: its versions, when the
    latest was first seen, and its few-shot example pairs.
    """
    requests = _with_scenario_prices(requests, scenario)
    # Counts of models whose tokenizer tiktoken lacks are o200k estimates: scaled to the model's own
    # tokens (the model_calibration view), so that they can be set against what was billed.
    requests = requests.with_columns((pl.col(c) * pl.col("token_scale")).alias(c) for c in SEGMENT_COLUMNS.values())
    window = window_of(requests)
    start, end = requests["ts"].min().date(), requests["ts"].max().date()
    warnings = _price_warnings(requests)
    info = templates_info or {}
    templates = [
        _template(group, labels.get(tid, tid), (start, end), scenario, info.get(tid, {}))
        for (tid,), group in requests.group_by("template_id", maintain_order=True)
    ]
    templates.sort(key=lambda t: -(t.current_monthly_cost or 0))
    return Projection(window, scenario, templates, _overall(templates), warnings, calibration or [])


def _price_warnings(requests: pl.DataFrame) -> list[str]:
    unpriced = requests.filter(pl.col("price_input").is_null() | pl.col("price_output").is_null())
    out = []
    total_tokens = requests.select((pl.col("billed_prompt_tokens") + pl.col("billed_output_tokens"))
                                   * pl.col("weight")).sum().item()
    for (model,), group in unpriced.group_by("model", maintain_order=True):
        share = len(group) / len(requests)
        # Without a price its spend is unknown; its share of the billed tokens stands in for it.
        tokens = group.select((pl.col("billed_prompt_tokens") + pl.col("billed_output_tokens"))
                              * pl.col("weight")).sum().item()
        out.append(f"no price for {model} ({len(group)} requests, {share:.1%} of all, {tokens / total_tokens:.1%} of "
                   f'billed tokens): its cost is left out; set [prices."{model}"] in the scenario')
    return out


def _template(group: pl.DataFrame, label: str, window: tuple, s: Scenario, info: dict[str, Any]) -> TemplateProjection:
    # Most requests first; a tie goes to the name first in order, so the same logs give the same report.
    models = group["model"].value_counts().sort(["count", "model"], descending=[True, False])["model"].to_list()
    seen = volumes.volume(group.select("ts", "weight"), *window)
    growth = s["traffic.growth"] if s["traffic.growth"] is not None else seen.growth_per_month
    typical_monthly = seen.typical_daily * DAYS_PER_MONTH

    def monthly(month: int) -> float:
        return typical_monthly * (1 + growth) ** month

    tokens = {kind: round(options.wmean(group, column), 1) for kind, column in SEGMENT_COLUMNS.items()}
    current = options.wmean(group, "cost")  # None when no request of the template has a price
    horizon = s["traffic.horizon_months"]
    target = s["finetune.target_model"] or models[0]
    basis = options.Basis(group, s, current, target, tokens, info.get("fewshot_pairs"))
    every = [options.payback(o, current, monthly, horizon) for o in options.offered(basis)]
    main = options.find(every, options.MAIN)
    # A fine-tuned price the scenario leaves unset is the one the option used (the data file's).
    used = {f"finetune.{name}_price": price for name, price in main.prices.items()}

    def breakeven_with(assumption: sensitivity.Assumption, factor: float) -> float | None:
        changed = s
        values = [used.get(key, s[key]) for key in assumption.keys]
        if None not in values:  # an unknown price stays unknown however it is scaled
            for key, value in zip(assumption.keys, values, strict=True):
                changed = changed.with_value(key, value * factor)
        option = options.KINDS[options.MAIN].price(replace(basis, scenario=changed))
        if assumption.name == sensitivity.UPFRONT:
            option.upfront *= factor
        volume_factor = factor if assumption.name == sensitivity.VOLUME else 1.0
        return options.payback(option, current, monthly, horizon, volume_factor).breakeven_months

    spread = sensitivity.analyse(breakeven_with)
    kinds = group["output_kind"].value_counts().sort(["count", "output_kind"], descending=[True, False])
    caching = options.find(every, "caching")
    t = TemplateProjection(
        template_id=group["template_id"][0],
        label=label,
        requests=len(group),
        daily_requests=round(seen.typical_daily, 2),
        monthly_requests=round(typical_monthly, 1),
        models=models,
        tokens_per_request=tokens,
        current_cost_per_request=rounded(current, USD_PER_REQUEST),
        finetuned_cost_per_request=rounded(main.cost_per_request, USD_PER_REQUEST),
        current_monthly_cost=rounded(current * typical_monthly if current is not None else None, USD),
        finetuned_monthly_cost=rounded(main.cost_per_request * typical_monthly
                                       if main.cost_per_request is not None else None, USD),
        monthly_savings=rounded((current - main.cost_per_request) * typical_monthly
                                if main.cost_per_request is not None and current is not None else None, USD),
        upfront_cost=rounded(main.upfront, USD),
        maintenance_monthly=rounded(main.upkeep, USD),
        breakeven_months=rounded(main.breakeven_months, MONTHS),
        breakeven_requests=main.breakeven_requests,
        breakeven_range_months=[rounded(spread.low, MONTHS), rounded(spread.high, MONTHS)],
        net_savings_horizon=rounded(main.net_savings_horizon, USD),
        target_model=target,
        finetune_prices=main.prices,
        training_cost=rounded(main.training_cost, USD),
        examples_available=group.filter((pl.col("status") == "ok") & (pl.col("output_kind") != "none"))[
            "input_hash"].n_unique(),
        output_kind=OutputKind(kinds["output_kind"][0], float(kinds["count"][0] / len(group))),
        caching_monthly_savings=rounded(caching.monthly_savings if caching else None, USD),
        volume=Volume(round(seen.mean_daily, 2), round(seen.weekday_mean, 2), round(seen.weekend_mean, 2),
                      round(growth, 4), seen.growth_note if s["traffic.growth"] is None else "set by the scenario",
                      [round(monthly(m), 1) for m in range(1, horizon + 1)], [round(d, 1) for d in seen.daily]),
        versions=info.get("versions", 1),
        latest_version_days=info.get("latest_version_days"),
        options=[o.reported() for o in every],
        sensitivity=spread,
        best_option=_best(every),
        queries=dict(FIGURE_QUERIES),
        counted_vs_billed=info.get("counted_vs_billed"),
    )
    decision, reasons = decide(t, s)
    decided = replace(t, decision=decision, reasons=reasons)
    return replace(decided, recommendation=recommending.recommend(decided, horizon))


def _best(every: list[options.Option]) -> Best:
    """The option with the most net savings over the horizon, and by how much it beats the next."""
    ranked = sorted((o for o in every if o.net_savings_horizon is not None), key=lambda o: -o.net_savings_horizon)
    if not ranked or ranked[0].net_savings_horizon <= 0:
        return Best(KEEP, "keep the prompt as it is", 0.0,
                    rounded(-ranked[0].net_savings_horizon, USD) if ranked else None)
    runner_up = ranked[1].net_savings_horizon if len(ranked) > 1 and ranked[1].net_savings_horizon > 0 else 0.0
    return Best(ranked[0].key, ranked[0].label, rounded(ranked[0].net_savings_horizon, USD),
                rounded(ranked[0].net_savings_horizon - runner_up, USD))


def breakeven_months(upfront: float, monthly_savings: float | None, maintenance: float) -> float | None:
    """Upfront ÷ (monthly savings − maintenance) at a flat volume; None when savings do not exceed maintenance."""
    if monthly_savings is None or monthly_savings <= maintenance:
        return None
    return upfront / (monthly_savings - maintenance)


def decide(t: TemplateProjection, s: Scenario) -> tuple[str, list[str]]:
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
    months, examples = t.breakeven_months, t.examples_available
    min_examples = s["decision.min_examples"]

    def lower(to: str, reason: str) -> None:
        nonlocal verdict
        reasons.append(reason)
        if [GO, EVALUATE, NO_GO].index(to) > [GO, EVALUATE, NO_GO].index(verdict):
            verdict = to

    if t.current_cost_per_request is None:
        lower(NO_GO, f"no list price for {', '.join(t.models)}: set [prices.\"MODEL\"] in the scenario")
        return verdict, reasons
    if t.finetuned_cost_per_request is None:
        lower(NO_GO, f"no fine-tuning price for {t.target_model}: set [finetune] input_price and output_price")
        return verdict, reasons
    if t.finetune_prices["training"] is None:
        lower(EVALUATE, f"no per-token training price for {t.target_model}: training is left out of the upfront "
                        "and upkeep; set [finetune] training_price")
    now, after = t.current_cost_per_request, t.finetuned_cost_per_request
    if after >= now:
        lower(NO_GO, f"a fine-tuned call would cost ${after:.6f} against ${now:.6f} now: the static prompt it removes "
                     f"({t.tokens_per_request['system'] + t.tokens_per_request['fewshot']:,.0f} tokens) does not "
                     "pay for the fine-tuned model's higher price")
    elif months is None:
        lower(NO_GO, f"savings of ${t.monthly_savings:,.2f}/month do not cover upkeep of "
                     f"${t.maintenance_monthly:,.2f}/month")
    elif months > horizon:
        lower(NO_GO, f"breaks even after {months:.1f} months, beyond the {horizon}-month horizon")
    elif months > max_months:
        lower(EVALUATE, f"breaks even after {months:.1f} months, slower than the {max_months:g} wanted")
    else:
        reasons.append(f"breaks even after {months:.1f} months ({t.breakeven_requests:,} requests); "
                       f"nets ${t.net_savings_horizon:,.0f} over {horizon} months")
    if months is not None and after < now:
        low, high = t.breakeven_range_months
        most = sensitivity.described(t.sensitivity.most_sensitive)
        reasons.append(f"break-even ranges {low:.1f}–{'never' if high is None else f'{high:.1f}'} months as each "
                       f"assumption moves; most sensitive to {most}")
    if examples < min_examples / 5:
        lower(NO_GO, f"only {examples} distinct examples in the logs, far below the {min_examples} wanted")
    elif examples < min_examples:
        lower(EVALUATE, f"{examples} distinct examples in the logs, fewer than the {min_examples} wanted: label more")
    else:
        reasons.append(f"{examples:,} distinct successful examples in the logs to train on")
    if t.daily_requests < s["decision.min_daily_requests"]:
        lower(EVALUATE, f"{t.daily_requests:,.0f} requests/day, below the {s['decision.min_daily_requests']:,.0f} "
                        "where fine-tuning usually pays")
    else:
        reasons.append(f"{t.daily_requests:,.0f} requests/day")
    task, share = t.output_kind.kind, t.output_kind.share
    if t.tokens_per_request["output"] > LONG_OUTPUT_TOKENS or task == "text":
        lower(EVALUATE, f"outputs are free text ({t.tokens_per_request['output']:.0f} tokens on average): "
                        "fine-tuning is surest on format and style, less so on open-ended writing")
    elif task in TASK_WORDS:
        reasons.append(f"{share:.0%} of outputs are {TASK_WORDS[task]}: a task fine-tuning learns well")
    versions, fresh = t.versions, t.latest_version_days
    if versions >= 3:
        lower(EVALUATE, f"the prompt changed {versions - 1} times in the window: fine-tuning freezes a prompt "
                        "that is still moving")
    elif versions == 2 and fresh is not None and fresh < 7:
        lower(EVALUATE, f"the current prompt version is only {fresh} days old: wait until it settles")
    elif versions == 2:
        reasons.append("the prompt changed once in the window (two versions, linked)")
    best = t.best_option
    kind = options.KINDS.get(best.option)  # None when the best is to keep the prompt
    if kind is not None and not kind.trains and after < now:
        lower(EVALUATE, f"{best.label} nets ${best.net_savings_horizon:,.0f} over {horizon} months, "
                        f"${best.ahead_by:,.0f} more than the next option, with no training")
    elif kind is not None and kind.named_when_best:
        reasons.append(f"{best.label} would net more: ${best.net_savings_horizon:,.0f} over {horizon} months, "
                       "if its outputs match in the quality evaluation")
    cheaper = [o for o in t.options if not options.KINDS[o.key].trains and best.option != o.key
               and o.net_savings_horizon is not None and t.net_savings_horizon is not None
               and o.net_savings_horizon > max(t.net_savings_horizon, 0)]
    for o in cheaper:  # not the best, but worth trying before any training
        reasons.append(f"{o.label} alone nets ${o.net_savings_horizon:,.0f} over {horizon} months, more than "
                       f"fine-tuning {t.target_model}, with no training: try it first")
    if t.monthly_savings and (t.caching_monthly_savings or 0) >= 0.5 * t.monthly_savings > 0:
        lower(EVALUATE, "prompt caching of the static prefix alone would save "
                        f"${t.caching_monthly_savings:,.2f}/month, most of what fine-tuning saves, with no training")
    if verdict == GO:
        reasons.append("GO means: run a quality evaluation; the fine-tuned model must match today's outputs on a "
                       "held-out set of logged requests before it replaces the prompt")
    return verdict, reasons


def _overall(templates: list[TemplateProjection]) -> Overall:
    go = [t for t in templates if t.decision == GO]
    return Overall(
        templates=len(templates),
        requests=sum(t.requests for t in templates),
        decisions={d: sum(t.decision == d for t in templates) for d in (GO, EVALUATE, NO_GO)},
        current_monthly_cost=rounded(sum(t.current_monthly_cost or 0 for t in templates), USD),
        monthly_savings_go=rounded(sum(t.monthly_savings - t.maintenance_monthly for t in go), USD),
        upfront_cost_go=rounded(sum(t.upfront_cost for t in go), USD),
        recommended_net_horizon=rounded(sum(t.recommendation.net_savings_horizon for t in templates), USD),
    )
