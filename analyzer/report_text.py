"""The report for a person reading text: the terminal (fitted to its width, coloured) and markdown.

Each template leads with its decision and the recommended action with what it nets; then its
label, tokens, cost per request, reasons and options. The summary line adds up what the
recommended actions net, and one "next steps" block names the commands that reproduce the figures.
Every string that is not markup is escaped, so that "[finetune]" prints as written.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from . import compare_text, display, fitting, terminal
from .costs import EVALUATE, GO, NO_GO
from .models import SEGMENT_KINDS
from .options import MAX_MONTHS
from .projection import Projection, TemplateProjection
from .sensitivity import factors

STYLES = {GO: "bold green", EVALUATE: "bold yellow", NO_GO: "bold red"}
INDENT = 9  # the body of a template sits under its headline's text, past "EVALUATE "
SEGMENT_WORDS = {"fewshot": "few-shot"}


def _models(t: TemplateProjection) -> list[str]:
    return [*t.models, t.target_model, *(o.model for o in t.options if o.model)]


def headline(t: TemplateProjection, short: bool = True) -> str:
    """The recommended action and what it nets, model names short for a narrow place."""
    text = t.recommendation.text
    return display.short_models(text, _models(t)) if short else text


def header(p: Projection) -> str:
    """The first line: requests, templates, window, spend, decisions, and what the recommended actions net."""
    w, o = p.window, p.overall
    d = o.decisions
    horizon = p.scenario["traffic.horizon_months"]
    return (f"{display.count(o.requests)} requests, {o.templates} templates, {w.start[:10]} to {w.end[:10]} "
            f"({w.days} days). Now {display.usd(o.current_monthly_cost)}/month. "
            f"{d[GO]} GO, {d[EVALUATE]} EVALUATE, {d[NO_GO]} NO-GO. The recommended actions net "
            f"{display.signed_usd(o.recommended_net_horizon)} over {horizon} months.")


def anatomy(t: TemplateProjection) -> str:
    """Tokens per request, segment by segment."""
    k = t.tokens_per_request
    return "tokens per request: " + ", ".join(f"{SEGMENT_WORDS.get(n, n)} {display.count(k[n])}" for n in SEGMENT_KINDS)


def billing(t: TemplateProjection) -> list[str]:
    """How far the counted prompt is from the bill, where the logs have usage ([] where they have none).

    Over the requests whose prompt was counted in full; the others had their live input derived from
    the bill once a checked sample agreed (crossover query counted_vs_billed_by_template)."""
    c = t.counted_vs_billed
    if not c or not c["requests"]:
        return []
    line = (f"counted vs billed prompt, on the {display.count(c['requests'])} requests counted in full: "
            f"{c['exact_share']:.0%} exact, median error {c['median_abs_error']:.1%}, p95 {c['p95_abs_error']:.1%}")
    if (c["calibrated_median_abs_error"], c["calibrated_p95_abs_error"]) != (c["median_abs_error"], c["p95_abs_error"]):
        line += f" ({c['calibrated_median_abs_error']:.1%}, {c['calibrated_p95_abs_error']:.1%} calibrated)"
    return [line]


def per_request(t: TemplateProjection, short: bool = True) -> str:
    """The cost of one request now and fine-tuned."""
    target = display.short_model(t.target_model) if short else t.target_model
    measured = " (measured: crossover compare)" if (t.evaluation or {}).get("replaced_option") == "finetune" else ""
    return (f"{display.usd(t.current_cost_per_request, True)} per request now, "
            f"{display.usd(t.finetuned_cost_per_request, True)} fine-tuned on {target}{measured}")


def evaluation_lines(t: TemplateProjection) -> list[str]:
    """What `crossover compare` measured on the template's eval set: the answer, the matching, each kind."""
    ev = t.evaluation
    if not ev:
        return []
    lines = [f"measured on the eval set ({ev['compared_at'][:10]}, {', '.join(ev['models'])}): {ev['verdict']}",
             compare_text.matching(ev)]
    for kind, k in ev["by_kind"].items():
        lines += [line.strip() for line in compare_text.kind_lines(kind, k)]
    return lines  # the measured cost is among the reasons, beside what it replaced


def volume(t: TemplateProjection) -> str:
    """Requests a day, their week, and the growth projected."""
    v = t.volume
    return (f"volume: {display.count(t.daily_requests)}/day (weekdays {display.count(v.weekday_mean)}, weekends "
            f"{display.count(v.weekend_mean)}), growth {v.growth_per_month:+.1%}/month ({v.growth_note})")


def breakeven(t: TemplateProjection) -> str:
    """Break-even months with the range as each assumption moves."""
    if t.breakeven_months is None:
        return "never"
    low, high = t.breakeven_range_months
    return f"{display.months(t.breakeven_months)} ({display.months(low)}–{display.months(high)})"


def _option_breakeven(months: float | None) -> str:
    if months is None:
        return "never"
    return f"{display.months(months)} mo" if months <= MAX_MONTHS else f"> {MAX_MONTHS // 12} years"


def option_columns(t: TemplateProjection, short: bool = True) -> list[fitting.Column]:
    """The options side by side: what each costs, saves and nets (upkeep only when there is room)."""
    o = t.options
    name = [display.short_models(x.label, _models(t)) if short else x.label for x in o]
    return [
        fitting.Column("option", name, prose=True, required=True),
        fitting.Column("$/request", [display.usd(x.cost_per_request, True) for x in o], right=True),
        fitting.Column("saves\n$/mo", [display.usd(x.monthly_savings) for x in o], right=True),
        fitting.Column("upfront", [display.usd(x.upfront) for x in o], right=True),
        fitting.Column("break-even", [_option_breakeven(x.breakeven_months) for x in o], right=True),
        fitting.Column("net", [display.usd(x.net_savings_horizon) for x in o], right=True),
        fitting.Column("upkeep\n$/mo", [display.usd(x.upkeep) for x in o], right=True),
    ]


def summary_columns(p: Projection, wide: bool) -> list[fitting.Column]:
    """The summary: each template, its volume and spend, decision and what its recommended action nets.

    The template's id and short model share a line, its label takes the next; ``wide`` adds the
    same-model fine-tune's own figures.
    """
    ts, horizon = p.templates, p.scenario["traffic.horizon_months"]
    models = [display.short_model(t.models[0]) + (f" +{len(t.models) - 1}" if len(t.models) > 1 else "") for t in ts]
    columns = [
        fitting.Column("template", [f"{t.template_id}  {m}\n{t.label}" for t, m in zip(ts, models, strict=True)],
                       squeeze=True, required=True),
        fitting.Column("req/day", [display.count(t.daily_requests) for t in ts], right=True),
        fitting.Column("now\n$/mo", [display.usd(t.current_monthly_cost) for t in ts], right=True),
        fitting.Column("decision", [t.decision for t in ts]),
        fitting.Column(f"action nets\n{horizon} mo", [display.signed_usd(t.recommendation.net_savings_horizon)
                                                      for t in ts], right=True),
    ]
    if wide:
        columns += [
            fitting.Column("FT $/mo", [display.usd(t.finetuned_monthly_cost) for t in ts], right=True),
            fitting.Column("upfront", [display.usd(t.upfront_cost) for t in ts], right=True),
            fitting.Column("upkeep/mo", [display.usd(t.maintenance_monthly) for t in ts], right=True),
            fitting.Column("FT break-even months", [breakeven(t) for t in ts], right=True),
            fitting.Column(f"FT net {horizon} mo", [display.usd(t.net_savings_horizon) for t in ts], right=True),
        ]
    return columns


def calibration_lines(p: Projection) -> list[str]:
    """Counted against billed prompt tokens per model (saved query counted_vs_reported)."""
    if not p.calibration:
        return []
    lines = ["Counted vs billed prompt tokens (crossover query counted_vs_reported):"]
    for c in p.calibration:
        how = ("exact tokenizer" if c["exact_tokenizer"]
               else f"estimated with o200k, scaled ×{c['scale']:.3f} to the model's own tokens")
        lines.append(f"  {c['model']}: {display.count(c['requests'])} requests, {c['exact_share']:.1%} exact, median "
                     f"error {c['median_error']:+.2%}, p95 {c['p95_abs_error']:.2%}; {how}")
    return lines


def next_steps(p: Projection) -> list[tuple[str, str]]:
    """The commands to run next, each once: the saved queries behind the figures, then the wider views."""
    figures: dict[str, list[str]] = {}
    for t in p.templates:
        for figure, query in t.queries.items():
            if figure not in figures.setdefault(query, []):
                figures[query].append(figure)
    steps = [(f"crossover query {q}", "reproduces " + ", ".join(f.replace("_", " ") for f in fs))
             for q, fs in sorted(figures.items())]
    if p.calibration:
        steps.append(("crossover query counted_vs_reported", "counted against billed tokens, per model"))
    steps.append(("crossover report --wide", "every column of the summary and the options"))
    return steps


def footer(p: Projection) -> str:
    """Where the figures come from."""
    return (f"Tokens are means per request (counted with tiktoken); costs at each request's list price (genai-prices) "
            f"and fine-tuning prices from data/finetune_prices.toml. Fine-tuned prompt keeps "
            f"{p.scenario['finetune.system_prompt_tokens']} system tokens, no examples. Break-even range: earliest and "
            f"latest as each assumption moves ({factors()}). "
            f"Scenario: {p.scenario.path or 'defaults'}.")


def _decision(decision: str) -> str:
    return f"[{STYLES[decision]}]{escape(decision)}[/]"


def report_table(p: Projection, wide: bool = False) -> str:
    """The report for a terminal, fitted to its width: summary, then each template under its headline.

    Warnings are not part of it: the CLI prints them on stderr.
    """
    width = terminal.width()
    summary, _, wanted = fitting.fit(summary_columns(p, wide), width, wide, "Fine-tuning projection per template")
    sections = []
    for t in p.templates:
        options, hidden, taken = fitting.fit(option_columns(t, short=not wide), width, wide, indent=INDENT)
        sections.append((t, options, hidden))
        wanted = max(wanted, taken)

    def draw(console: Console) -> None:
        console.print(escape(header(p)))
        console.print(summary)
        for t, options, hidden in sections:
            top = Table.grid(padding=(0, 1))
            top.add_column(width=INDENT - 1, no_wrap=True)
            top.add_column()
            top.add_row(_decision(t.decision), escape(headline(t, short=not wide)))
            console.print(top)
            for line in (f"{t.template_id}  {t.label}", per_request(t, short=not wide), anatomy(t), *billing(t)):
                console.print(Padding(escape(line), (0, 0, 0, INDENT)))
            reasons = Table.grid(padding=(0, 1))  # a bullet's wrapped lines stay under its text
            reasons.add_column(no_wrap=True)
            reasons.add_column()
            for reason in t.reasons:
                reasons.add_row("-", escape(reason))
            console.print(Padding(reasons, (0, 0, 0, INDENT)))
            for line in evaluation_lines(t):
                console.print(Padding(escape(line), (0, 0, 0, INDENT)))
            console.print(Padding(options, (0, 0, 0, INDENT)))
            if hidden:
                console.print(Padding(escape(f"(--wide adds {', '.join(hidden)})"), (0, 0, 0, INDENT)))
            console.print(Padding(escape(volume(t)), (0, 0, 1, INDENT)))
        for i, line in enumerate(calibration_lines(p)):
            console.print(Padding(escape(line.strip()), (0, 0, 0, 2 if i else 0)))
        console.print("Next steps:")
        steps = Table.grid(padding=(0, 2))
        steps.add_column(no_wrap=True)
        steps.add_column()
        for command, why in next_steps(p):
            steps.add_row(escape(command), escape(why))
        console.print(Padding(steps, (0, 0, 0, 2)))
        console.print(escape(footer(p)))

    return _capture(draw, wanted)


def _capture(draw: Callable[[Console], None], columns: int) -> str:
    buffer = io.StringIO()
    draw(terminal.console(buffer, columns))
    return buffer.getvalue()


def _md_table(columns: list[fitting.Column]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c.header) for c in columns) + " |",
             "|" + "|".join("---:" if c.right else "---" for c in columns) + "|"]
    rows = zip(*(c.cells for c in columns), strict=True)
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def report_markdown(p: Projection, wide: bool = False) -> str:
    """The report as markdown: the terminal's content, every column, nothing cut or shortened."""
    summary = summary_columns(p, wide=True)
    summary[0].cells = [f"`{t.template_id}` {t.label} ({', '.join(t.models)})" for t in p.templates]
    lines = ["# Fine-tuning projection", "", header(p), ""]
    if p.templates:
        lines += _md_table(summary)
    for t in p.templates:
        lines += ["", f"## {t.decision}: {t.label} (`{t.template_id}`)", "", f"**{t.decision}: {headline(t, False)}**",
                  "", f"{per_request(t, short=False)}  ", f"{anatomy(t)}" + ("  " if billing(t) else ""),
                  *billing(t), ""]
        lines += [f"- {reason}" for reason in t.reasons]
        if t.evaluation:
            lines += [""] + compare_text.markdown({**t.evaluation, "label": t.label}, level=3)[:-1]
        lines += [""] + _md_table(option_columns(t, short=False)) + ["", volume(t)]
    calibration = calibration_lines(p)
    if calibration:
        lines += ["", "## " + calibration[0].rstrip(":"), ""] + [f"- {line.strip()}" for line in calibration[1:]]
    if p.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w.text}" for w in p.warnings]
    lines += ["", "## Next steps", ""] + [f"- `{command}`: {why}" for command, why in next_steps(p)]
    lines += ["", footer(p), ""]
    return "\n".join(lines)
