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

from . import options, recommending, sensitivity, weak_inputs
from . import volume as volumes
from .figures import MONTHS, USD, USD_PER_REQUEST, rounded
from .models import SEGMENT_KINDS, Caution
from .pricing import finetune_prices
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

#: The columns of the ``request_costs`` view that :func:`project` reads. The report reads only
#: these: at a million requests the whole view (file names, ids, raw usage) took 2.4 GB in polars.
REQUEST_COLUMNS = (
    "ts", "model", "template_id", "status", "output_kind", "input_hash", "sample_rate", "token_scale",
    *SEGMENT_COLUMNS.values(),
    "billed_prompt_tokens", "billed_cached_tokens", "billed_cache_write_tokens", "billed_output_tokens",
    "price_input", "price_cached_input", "price_cache_write", "price_output",
)

GO, EVALUATE, NO_GO = "GO", "EVALUATE", "NO-GO"
KEEP = "keep"  # the best option when none nets anything
TASK_WORDS = {"label": "short labels", "json": "JSON objects", "tool_call": "tool calls"}
#: The answers `crossover compare` gives the quality question (``evaluation.verdict``).
MATCHES, NO_MATCH, INCOMPLETE = "matches", "does not match", "incomplete"
WEAK, NO_ANSWERS = "weak evidence", "no answers"


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
            calibration: list[dict[str, Any]] | None = None, templates_info: dict[str, dict[str, Any]] | None = None,
            comparisons: dict[str, dict[str, Any]] | None = None) -> Projection:
    """Project every template of ``requests`` (rows of the ``request_costs`` view) under ``scenario``.

    ``calibration`` (rows of the ``model_calibration`` view) is passed through to the report;
    ``templates_info`` holds, per template, what the requests do not: its versions, when the
    latest was first seen, and its few-shot example pairs. ``comparisons`` (rows of the
    ``comparisons`` table) are what ``crossover compare`` measured: a template that has one is
    decided on its measured agreement and costed at its measured cost per request.
    """
    requests = _with_scenario_prices(requests, scenario)
    # Counts of models whose tokenizer tiktoken lacks are o200k estimates: scaled to the model's own
    # tokens (the model_calibration view), so that they can be set against what was billed.
    requests = requests.with_columns((pl.col(c) * pl.col("token_scale")).alias(c) for c in SEGMENT_COLUMNS.values())
    window = window_of(requests)
    start, end = requests["ts"].min().date(), requests["ts"].max().date()
    warnings = _price_warnings(requests)
    info = templates_info or {}
    # One template's rows at a time, in the order templates first appear: group_by would gather every
    # group at once (at a million requests, 340 MB over the frame itself); a filter keeps the rows' order.
    templates = [
        _template(requests.filter(pl.col("template_id") == tid), labels.get(tid, tid), (start, end), scenario,
                  info.get(tid, {}), (comparisons or {}).get(tid))
        for tid in requests["template_id"].unique(maintain_order=True)
    ]
    templates.sort(key=lambda t: -(t.current_monthly_cost or 0))
    projection = Projection(window, scenario, templates, _overall(templates), warnings, calibration or [])
    projection.warnings += weak_inputs.in_report(projection)
    return projection


def _price_warnings(requests: pl.DataFrame) -> list[Caution]:
    unpriced = requests.filter(pl.col("price_input").is_null() | pl.col("price_output").is_null())
    out = []
    total_tokens = requests.select((pl.col("billed_prompt_tokens") + pl.col("billed_output_tokens"))
                                   * pl.col("weight")).sum().item()
    for (model,), group in unpriced.group_by("model", maintain_order=True):
        share = len(group) / len(requests)
        # Without a price its spend is unknown; its share of the billed tokens stands in for it.
        tokens = group.select((pl.col("billed_prompt_tokens") + pl.col("billed_output_tokens"))
                              * pl.col("weight")).sum().item()
        out.append(Caution("no_list_price", f"no price for {model} ({len(group)} requests, {share:.1%} of all, "
                           f"{tokens / total_tokens:.1%} of billed tokens): its cost is left out; "
                           f'set [prices."{model}"] in the scenario'))
    return out


def _template(group: pl.DataFrame, label: str, window: tuple, s: Scenario, info: dict[str, Any],
              comparison: dict[str, Any] | None = None) -> TemplateProjection:
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
    evaluation = _evaluation(comparison, every, current, monthly, horizon, s) if comparison else None
    main = options.find(every, options.MAIN)
    # A fine-tuned price the scenario leaves unset is the one the option used (the data file's).
    used = {f"finetune.{name}_price": price for name, price in main.prices.items()}

    # A measured cost per request of the main option (crossover compare's calls of a fine-tune of its
    # model) replaces the one the scenario's prices give in every case of the sensitivity range too.
    measured = main.cost_per_request if evaluation and evaluation["replaced_option"] == options.MAIN else None

    def breakeven_with(assumption: sensitivity.Assumption, factor: float) -> float | None:
        changed = s
        values = [used.get(key, s[key]) for key in assumption.keys]
        if None not in values:  # an unknown price stays unknown however it is scaled
            for key, value in zip(assumption.keys, values, strict=True):
                changed = changed.with_value(key, value * factor)
        option = options.KINDS[options.MAIN].price(replace(basis, scenario=changed))
        if measured is not None:  # what compare measured stands, whatever the prices assumed
            option.cost_per_request = measured
        if assumption.name == sensitivity.UPFRONT:
            option.upfront *= factor
        volume_factor = factor if assumption.name == sensitivity.VOLUME else 1.0
        return options.payback(option, current, monthly, horizon, volume_factor).breakeven_months

    spread = sensitivity.analyse(breakeven_with, measured)
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
        evaluation=evaluation,
        counted_vs_billed=info.get("counted_vs_billed"),
    )
    decision, reasons = decide(t, s)
    decided = replace(t, decision=decision, reasons=[text for _, text in reasons],
                      reason_codes=[{"code": code, "text": text} for code, text in reasons])
    return replace(decided, recommendation=recommending.recommend(decided, horizon))


def _evaluation(comparison: dict[str, Any], every: list[options.Option], current: float | None,
                monthly: Any, horizon: int, s: Scenario) -> dict[str, Any]:
    """The quality question answered from what ``crossover compare`` measured, and the measured cost in place.

    A candidate that is a fine-tune (``ft:`` name) of the same base model as one of the fine-tune
    options replaces that option's assumed cost per request with its measured one (``every`` is
    changed in place), so that savings, break-even and net follow from the measured calls.
    """
    ev = dict(comparison)
    n, matched, agreement = ev["eval_examples"], ev["matched"], ev["agreement"]
    ev["coverage"] = round(matched / n, 4) if n else 0.0
    ev["agreement"] = round(agreement, 4) if agreement is not None else None
    ev["min_agreement"], ev["min_eval_coverage"] = s["decision.min_agreement"], s["decision.min_eval_coverage"]
    ev["replaced_option"] = ev["replaced_label"] = ev["assumed_cost_per_request"] = None
    model = ev["models"][0] if ev["models"] else ""
    tuned = finetune_prices(model) if model.lower().startswith("ft:") else None
    if tuned is not None and ev["cost_per_request"] is not None:
        for i, o in enumerate(every):
            base = finetune_prices(o.model) if o.model and options.KINDS[o.key].trains else None
            if base is not None and base.base_model == tuned.base_model:
                ev["replaced_option"], ev["replaced_label"] = o.key, o.label
                ev["assumed_cost_per_request"] = rounded(o.cost_per_request, USD_PER_REQUEST)
                measured = replace(o, cost_per_request=ev["cost_per_request"], monthly_cost=None, monthly_savings=None,
                                   breakeven_months=None, breakeven_requests=None, net_savings_horizon=None,
                                   note=f"cost per request measured on {ev['priced_calls']:,} eval calls of {model} "
                                        "(crossover compare)")
                every[i] = options.payback(measured, current, monthly, horizon)
                break
    ev["cost_per_request"] = rounded(ev["cost_per_request"], USD_PER_REQUEST)
    if not ev["decisive"]:
        ev["verdict"] = WEAK
    elif not matched or agreement is None:
        ev["verdict"] = NO_ANSWERS
    elif ev["coverage"] < ev["min_eval_coverage"]:
        ev["verdict"] = INCOMPLETE
    else:
        ev["verdict"] = MATCHES if agreement >= ev["min_agreement"] else NO_MATCH
    return ev


def quality_reasons(ev: dict[str, Any]) -> tuple[bool, list[tuple[str, str]]]:
    """Whether the measured answer lowers a GO to EVALUATE, and the (code, sentence) reasons that say what it was."""
    model = ev["models"][0] if ev["models"] else "the candidate"
    n, matched, a = ev["eval_examples"], ev["matched"], ev["agreement"]
    measure = ev["agreement_measure"]
    verdict = ev["verdict"]
    lines = []
    if verdict == MATCHES:
        lines.append(("eval_matches",
                      f"the fine-tuned model matches on the eval set: {model} agrees on {a:.1%} of {matched:,} eval "
                      f"examples ({measure}), at least the {ev['min_agreement']:.0%} wanted"))
    elif verdict == NO_MATCH:
        lines.append(("eval_no_match",
                      f"the fine-tuned model does not match on the eval set yet: {model} agrees on {a:.1%} of "
                      f"{matched:,} eval examples ({measure}), below the {ev['min_agreement']:.0%} wanted "
                      "(`crossover compare` shows where)"))
    elif verdict == INCOMPLETE:
        lines.append(("eval_incomplete",
                      f"the eval set is not answered in full: {model}'s calls answer {matched:,} of {n:,} eval "
                      f"examples ({ev['coverage']:.0%}, under the {ev['min_eval_coverage']:.0%} needed), so "
                      f"their {a:.1%} ({measure}) does not decide yet"))
    elif verdict == WEAK:
        text = ev["by_kind"].get("text") or {}
        ratio = text.get("median_length_ratio")
        lines.append(("eval_weak",
                      f"{model}'s free-text answers share {a:.0%} of their words with production's (word-overlap F1 "
                      f"over {matched:,} eval examples" + (f", median length ×{ratio:.2f}" if ratio is not None else "")
                      + "): weak evidence, so read a sample of them before deciding"))
    else:
        lines.append(("eval_unanswered",
                      f"no call of {model} in the compared logs answers an eval example: "
                                          "nothing measured yet"))
    left = [(ev["unmatched_calls"], "calls matched no eval example"), (ev["repeated_calls"], "repeated an example"),
            (ev["failed_calls"], "failed"), (ev["missing_examples"], "eval examples had no answer")]
    if any(k for k, _ in left):
        lines.append(("eval_left_over",
                      "compare: " + ", ".join(f"{k:,} {what}" for k, what in left if k)))
    if ev["cost_per_request"] is not None:
        replaced = (f", in place of the ${ev['assumed_cost_per_request']:.6f} assumed for "
                    f"{ev['replaced_label']}" if ev["replaced_option"] else "")
        lines.append(("eval_measured_cost",
                      f"measured: ${ev['cost_per_request']:.6f} per request over {ev['priced_calls']:,} eval calls of "
                      f"{model}{replaced}"))
    return verdict != MATCHES, lines


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


#: Every reason's code, with when it is given (the decision it pushes toward, where it pushes).
REASON_CODES = {
    "no_list_price": "NO-GO: a model of the template has no list price",
    "no_finetune_price": "NO-GO: the target model has no fine-tuning price",
    "no_training_price": "EVALUATE: the target model has no per-token training price",
    "finetuned_costs_more": "NO-GO: a fine-tuned call costs as much as today's or more",
    "savings_below_upkeep": "NO-GO: the monthly savings do not cover the upkeep",
    "breakeven_beyond_horizon": "NO-GO: break-even falls past the horizon",
    "breakeven_slow": "EVALUATE: break-even is slower than [decision] max_breakeven_months",
    "breaks_even": "when it breaks even, and what it nets over the horizon",
    "breakeven_range": "the range of break-even as each assumption moves",
    "too_few_examples": "NO-GO: under a fifth of [decision] min_examples distinct examples in the logs",
    "few_examples": "EVALUATE: fewer than [decision] min_examples distinct examples in the logs",
    "enough_examples": "the distinct examples the logs offer to train on",
    "low_volume": "EVALUATE: fewer requests a day than [decision] min_daily_requests",
    "enough_volume": "the requests a day",
    "free_text_output": "EVALUATE: outputs are long or free text",
    "learnable_output": "outputs are labels, JSON or another format fine-tuning learns well",
    "prompt_unstable": "EVALUATE: the prompt changed two or more times in the window",
    "prompt_version_new": "EVALUATE: the current prompt version is under 7 days old",
    "prompt_changed_once": "the prompt changed once in the window",
    "untrained_option_best": "EVALUATE: an option with no training (caching, trimming) nets the most",
    "other_finetune_nets_more": "another fine-tune (a smaller model) nets more",
    "try_untrained_first": "an option with no training nets more than fine-tuning: try it first",
    "caching_takes_most": "EVALUATE: prompt caching alone saves most of what fine-tuning saves",
    "quality_evaluation": "GO: what GO means, a quality evaluation before the switch",
    "eval_matches": "`crossover compare`: the fine-tuned model matched on the eval set",
    "eval_no_match": "EVALUATE: `crossover compare` measured agreement below [decision] min_agreement",
    "eval_incomplete": "EVALUATE: the compared calls answer less than [decision] min_eval_coverage of the eval set",
    "eval_weak": "EVALUATE: free-text answers compared by word overlap, weak evidence",
    "eval_unanswered": "EVALUATE: no compared call answers an eval example",
    "eval_left_over": "compared calls that matched no example, repeated one or failed, and examples with no answer",
    "eval_measured_cost": "the cost per request measured on the compared calls, and what it replaced",
}


def decide(t: TemplateProjection, s: Scenario) -> tuple[str, list[tuple[str, str]]]:
    """GO, EVALUATE or NO-GO for one template, with every reason that produced it.

    NO-GO when there is no price to fine-tune at, when the fine-tuned call costs as much as today's,
    when savings never cover upkeep, when break-even falls past the horizon, or when the logs hold
    too few examples to train on. Otherwise GO unless a softer rule (break-even slower than wanted,
    low volume, fewer examples than wanted, long free-text outputs, caching taking most of the
    saving) makes it EVALUATE. GO means: go to a quality evaluation.

    Each reason is ``(code, text)``: the code (:data:`REASON_CODES`) for programs, the text for people.
    """
    reasons: list[tuple[str, str]] = []
    verdict = GO
    horizon, max_months = s["traffic.horizon_months"], s["decision.max_breakeven_months"]
    months, examples = t.breakeven_months, t.examples_available
    min_examples = s["decision.min_examples"]

    def note(code: str, reason: str) -> None:
        assert code in REASON_CODES, code  # a new reason documents its code first
        reasons.append((code, reason))

    def lower(to: str, code: str, reason: str) -> None:
        nonlocal verdict
        note(code, reason)
        if [GO, EVALUATE, NO_GO].index(to) > [GO, EVALUATE, NO_GO].index(verdict):
            verdict = to

    if t.current_cost_per_request is None:
        lower(NO_GO, "no_list_price",
              f"no list price for {', '.join(t.models)}: set [prices.\"MODEL\"] in the scenario")
        return verdict, reasons
    if t.finetuned_cost_per_request is None:
        lower(NO_GO, "no_finetune_price",
              f"no fine-tuning price for {t.target_model}: set [finetune] input_price and output_price")
        return verdict, reasons
    if t.finetune_prices["training"] is None:
        lower(EVALUATE, "no_training_price",
              f"no per-token training price for {t.target_model}: training is left out of the upfront "
              "and upkeep; set [finetune] training_price")
    now, after = t.current_cost_per_request, t.finetuned_cost_per_request
    if after >= now:
        lower(NO_GO, "finetuned_costs_more",
              f"a fine-tuned call would cost ${after:.6f} against ${now:.6f} now: the static prompt it removes "
              f"({t.tokens_per_request['system'] + t.tokens_per_request['fewshot']:,.0f} tokens) does not "
              "pay for the fine-tuned model's higher price")
    elif months is None:
        lower(NO_GO, "savings_below_upkeep", f"savings of ${t.monthly_savings:,.2f}/month do not cover upkeep of "
                                             f"${t.maintenance_monthly:,.2f}/month")
    elif months > horizon:
        lower(NO_GO, "breakeven_beyond_horizon",
              f"breaks even after {months:.1f} months, beyond the {horizon}-month horizon")
    elif months > max_months:
        lower(EVALUATE, "breakeven_slow",
              f"breaks even after {months:.1f} months, slower than the {max_months:g} wanted")
    else:
        note("breaks_even", f"breaks even after {months:.1f} months ({t.breakeven_requests:,} requests); "
                            f"nets ${t.net_savings_horizon:,.0f} over {horizon} months")
    if months is not None and after < now:
        low, high = t.breakeven_range_months
        most = sensitivity.described(t.sensitivity.most_sensitive)
        note("breakeven_range",
             f"break-even ranges {low:.1f}–{'never' if high is None else f'{high:.1f}'} months as each "
             f"assumption moves; most sensitive to {most}")
    if examples < min_examples / 5:
        lower(NO_GO, "too_few_examples",
              f"only {examples} distinct examples in the logs, far below the {min_examples} wanted")
    elif examples < min_examples:
        lower(EVALUATE, "few_examples",
              f"{examples} distinct examples in the logs, fewer than the {min_examples} wanted: label more")
    else:
        note("enough_examples", f"{examples:,} distinct successful examples in the logs to train on")
    if t.daily_requests < s["decision.min_daily_requests"]:
        lower(EVALUATE, "low_volume",
              f"{t.daily_requests:,.0f} requests/day, below the {s['decision.min_daily_requests']:,.0f} "
              "where fine-tuning usually pays")
    else:
        note("enough_volume", f"{t.daily_requests:,.0f} requests/day")
    task, share = t.output_kind.kind, t.output_kind.share
    if t.tokens_per_request["output"] > LONG_OUTPUT_TOKENS or task == "text":
        lower(EVALUATE, "free_text_output",
              f"outputs are free text ({t.tokens_per_request['output']:.0f} tokens on average): "
              "fine-tuning is surest on format and style, less so on open-ended writing")
    elif task in TASK_WORDS:
        note("learnable_output", f"{share:.0%} of outputs are {TASK_WORDS[task]}: a task fine-tuning learns well")
    versions, fresh = t.versions, t.latest_version_days
    if versions >= 3:
        lower(EVALUATE, "prompt_unstable",
              f"the prompt changed {versions - 1} times in the window: fine-tuning freezes a prompt "
              "that is still moving")
    elif versions == 2 and fresh is not None and fresh < 7:
        lower(EVALUATE, "prompt_version_new",
              f"the current prompt version is only {fresh} days old: wait until it settles")
    elif versions == 2:
        note("prompt_changed_once", "the prompt changed once in the window (two versions, linked)")
    best = t.best_option
    kind = options.KINDS.get(best.option)  # None when the best is to keep the prompt
    if kind is not None and not kind.trains and after < now:
        lower(EVALUATE, "untrained_option_best",
              f"{best.label} nets ${best.net_savings_horizon:,.0f} over {horizon} months, "
              f"${best.ahead_by:,.0f} more than the next option, with no training")
    elif kind is not None and kind.named_when_best:
        matched = (t.evaluation or {}).get("verdict") == MATCHES and t.evaluation["replaced_option"] == best.option
        note("other_finetune_nets_more",
             f"{best.label} would net more: ${best.net_savings_horizon:,.0f} over {horizon} months, "
             + ("and its outputs matched on the eval set" if matched
                else "if its outputs match in the quality evaluation"))
    cheaper = [o for o in t.options if not options.KINDS[o.key].trains and best.option != o.key
               and o.net_savings_horizon is not None and t.net_savings_horizon is not None
               and o.net_savings_horizon > max(t.net_savings_horizon, 0)]
    for o in cheaper:  # not the best, but worth trying before any training
        note("try_untrained_first",
             f"{o.label} alone nets ${o.net_savings_horizon:,.0f} over {horizon} months, more than "
             f"fine-tuning {t.target_model}, with no training: try it first")
    if t.monthly_savings and (t.caching_monthly_savings or 0) >= 0.5 * t.monthly_savings > 0:
        lower(EVALUATE, "caching_takes_most",
              "prompt caching of the static prefix alone would save "
              f"${t.caching_monthly_savings:,.2f}/month, most of what fine-tuning saves, with no training")
    ev = t.evaluation
    if ev is not None:
        lowers, lines = quality_reasons(ev)
        if lowers and verdict == GO:
            lower(EVALUATE, *lines[0])
            lines = lines[1:]
        for code, line in lines:
            note(code, line)
    if verdict == GO and (ev is None or ev["verdict"] != MATCHES):
        note("quality_evaluation",
             "GO means: run a quality evaluation; the fine-tuned model must match today's outputs on a "
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
