"""Turn results into text: one renderer per output format, chosen from a dict, never an if/elif.

Rows (saved queries, templates) render as a rich table, markdown, JSON or CSV; the report as a
rich table with reasons, markdown, HTML or JSON (the contract's object).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from html import escape
from typing import Any

import polars as pl
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .costs import EVALUATE, GO, KEEP, NO_GO
from .extracting import FileResult
from .models import SEGMENT_KINDS
from .options import MAX_MONTHS
from .projection import Projection, TemplateProjection
from .sensitivity import factors

WIDE = 160  # width used when stdout is not a terminal (pipes, CI, tests): rich would pick 80


class OutputFormat(StrEnum):
    """The output formats a command may offer."""

    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def _console(buffer: io.StringIO, min_width: int = 0) -> Console:
    # Rendered into a buffer, so rich cannot see the terminal: give it the real width when there is
    # one, but never less than the table wants, or rich would cut figures and drop whole columns
    # (a narrow terminal wraps the lines instead).
    width = shutil.get_terminal_size((WIDE, 24)).columns if sys.stdout.isatty() else WIDE
    return Console(file=buffer, width=max(width, min_width), no_color=True, highlight=False, soft_wrap=False)


def _capture(draw: Callable[[Console], None], table: Table | None = None) -> str:
    buffer = io.StringIO()
    console = _console(buffer)
    if table is not None:  # measured unbounded: a measurement is clamped to the console's width
        wanted = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console = _console(buffer, wanted)
    draw(console)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1000 else f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


# Rows --------------------------------------------------------------------------------------------

def rows_table(frame: pl.DataFrame, title: str | None = None) -> str:
    """A rich table of the rows."""
    table = Table(title=title, box=box.SIMPLE_HEAVY)
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    return _capture(lambda c: c.print(table))


def rows_markdown(frame: pl.DataFrame, title: str | None = None) -> str:
    """A GitHub markdown table of the rows."""
    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(frame.columns) + " |")
    lines.append("|" + "|".join("---:" if d.is_numeric() else "---" for d in frame.dtypes) + "|")
    for row in frame.iter_rows():
        lines.append("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def rows_json(frame: pl.DataFrame, title: str | None = None) -> str:
    """A JSON array of row objects."""
    return json.dumps(frame.to_dicts(), default=str, indent=2) + "\n"


def rows_csv(frame: pl.DataFrame, title: str | None = None) -> str:
    """CSV with a header row; nested values as JSON."""
    nested = [n for n, d in frame.schema.items() if isinstance(d, pl.List | pl.Struct | pl.Array)]
    flat = frame.with_columns(pl.col(n).map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.Utf8)
                              for n in nested)
    return flat.write_csv()


ROW_RENDERERS: dict[OutputFormat, Callable[..., str]] = {
    OutputFormat.TABLE: rows_table,
    OutputFormat.MARKDOWN: rows_markdown,
    OutputFormat.JSON: rows_json,
    OutputFormat.CSV: rows_csv,
}


def render_rows(frame: pl.DataFrame, fmt: OutputFormat, title: str | None = None) -> str:
    """Render rows in the chosen format."""
    return ROW_RENDERERS[OutputFormat(fmt)](frame, title)


# Progress ----------------------------------------------------------------------------------------

class IngestDisplay:
    """The callbacks an ingest reports its progress to: files finished, and bytes read."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._task = progress.add_task("ingest", total=None, requests=0, rate=0.0, rejected=0, files="0/?")
        self._start, self._seen = time.monotonic(), {"requests": 0, "rejected": 0}

    def on_file(self, result: FileResult, done: int, total: int) -> None:
        self._seen["requests"] += result.stored + result.duplicates
        self._seen["rejected"] += result.rejected
        rate = self._seen["requests"] / max(time.monotonic() - self._start, 1e-9)
        self._progress.update(self._task, rate=rate, files=f"{done:,}/{total:,}", **self._seen)

    def on_bytes(self, done: int, total: int) -> None:
        # The bar moves by bytes, so a large file read in pieces advances it as it is read.
        self._progress.update(self._task, completed=done, total=total)


@contextlib.contextmanager
def ingest_progress(enabled: bool) -> Iterator[IngestDisplay | None]:
    """A live line on stderr while files are read (bytes, files, requests, rate, rejects); nothing when off."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("ingest"), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[files]} files, {task.fields[requests]:,} requests, "
                          "{task.fields[rate]:,.0f}/s, {task.fields[rejected]:,} rejected"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield IngestDisplay(progress)


# Report ------------------------------------------------------------------------------------------

def _usd(value: float | None, per_request: bool = False) -> str:
    if value is None:
        return "–"
    text = f"${abs(value):.6f}" if per_request else f"${abs(value):,.0f}"
    # A loss too small to show is no loss: "-$0" would only puzzle.
    return f"-{text}" if value < 0 and text.strip("$0.,") else text


def _months(t: TemplateProjection) -> str:
    if t.breakeven_months is None:
        return "never"
    # The range: the earliest and latest break-even as each assumption moves (see sensitivity).
    low, high = t.breakeven_range_months
    return f"{t.breakeven_months:.1f} ({low:.1f}–{'never' if high is None else f'{high:.1f}'})"


def _option_rows(t: TemplateProjection) -> list[dict[str, str]]:
    """The options side by side: what each costs, saves and nets."""
    return [{
        "option": o.label,
        "$/request": _usd(o.cost_per_request, True),
        "saves $/mo": _usd(o.monthly_savings),
        "upfront": _usd(o.upfront),
        "upkeep/mo": _usd(o.upkeep),
        "break-even": ("never" if o.breakeven_months is None
                       else f"{o.breakeven_months:.1f} mo" if o.breakeven_months <= MAX_MONTHS
                       else f"> {MAX_MONTHS // 12} years"),
        "net": _usd(o.net_savings_horizon),
    } for o in t.options]


def _details(t: TemplateProjection, horizon: int) -> list[str]:
    """The lines under a template: volume, the best option, where the figures come from."""
    v = t.volume
    best = t.best_option
    lines = [f"volume: {t.daily_requests:,.0f}/day (weekdays {v.weekday_mean:,.0f}, weekends "
             f"{v.weekend_mean:,.0f}), growth {v.growth_per_month:+.1%}/month ({v.growth_note})"]
    if best.option == KEEP:
        lines.append(f"best over {horizon} months: keep the prompt as it is (every option nets less than nothing)")
    else:
        lines.append(f"best over {horizon} months: {best.label}, netting {_usd(best.net_savings_horizon)}, "
                     f"{_usd(best.ahead_by)} ahead of the next")
    queries = sorted(set(t.queries.values()))
    lines.append("reproduce the measured figures: " + ", ".join(f"crossover query {q}" for q in queries))
    return lines


def _anatomy(t: TemplateProjection) -> str:
    k = t.tokens_per_request
    return " / ".join(f"{k[name]:,.0f}" for name in SEGMENT_KINDS)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _report_rows(p: Projection) -> list[dict[str, str]]:
    return [{
        "template": f"{t.template_id} {_short(t.label, 22)}",
        "model": _short(t.models[0], 17) + (f" +{len(t.models) - 1}" if len(t.models) > 1 else ""),
        "req/day": f"{t.daily_requests:,.0f}",
        "now $/mo": _usd(t.current_monthly_cost),
        "FT $/mo": _usd(t.finetuned_monthly_cost),
        "upfront": _usd(t.upfront_cost),
        "upkeep/mo": _usd(t.maintenance_monthly),
        "break-even months": _months(t),
        f"net {p.scenario['traffic.horizon_months']} mo": _usd(t.net_savings_horizon),
        "decision": t.decision,
    } for t in p.templates]


def _header(p: Projection) -> str:
    w, o = p.window, p.overall
    d = o.decisions
    return (f"{o.requests:,} requests, {o.templates} templates, {w.start[:10]} to {w.end[:10]} "
            f"({w.days} days). Now ${o.current_monthly_cost:,.0f}/month. "
            f"{d[GO]} GO, {d[EVALUATE]} EVALUATE, {d[NO_GO]} NO-GO.")


def report_table(p: Projection) -> str:
    """The report for a terminal: one row per template, then each template's reasons."""
    rows = _report_rows(p)
    table = Table(box=box.SIMPLE_HEAVY, title="Fine-tuning projection per template", pad_edge=False)
    for name in rows[0] if rows else []:
        # Figures are never cut: each figure column is as wide as its widest cell (its header may
        # wrap), and on a narrow terminal only the template's label gives way.
        widest = max(len(row[name]) for row in rows)
        if name == "template":
            table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=16)
        else:
            table.add_column(name, justify="left" if name in ("model", "decision") else "right", min_width=widest,
                             no_wrap=True)
    for row in rows:
        table.add_row(*row.values())

    def draw(console: Console) -> None:
        console.print(_header(p))
        console.print(table)
        for t in p.templates:
            console.print(f"{t.decision:8} {t.template_id}  {t.label}")
            console.print(f"         tokens per request, {' / '.join(SEGMENT_KINDS)}: {_anatomy(t)}")
            console.print(f"         {_usd(t.current_cost_per_request, True)} per request now, "
                          f"{_usd(t.finetuned_cost_per_request, True)} fine-tuned on {t.target_model}")
            for reason in t.reasons:
                console.print(f"         - {reason}")
            options = Table(box=box.SIMPLE, pad_edge=False, padding=(0, 1))
            for name in _option_rows(t)[0]:
                options.add_column(name, justify="left" if name == "option" else "right", no_wrap=True)
            for row in _option_rows(t):
                options.add_row(*row.values())
            console.print(Padding(options, (0, 0, 0, 9)))
            for line in _details(t, p.scenario["traffic.horizon_months"]):
                console.print(f"         {line}")
        for line in _calibration_lines(p):
            console.print(line)
        for warning in p.warnings:
            console.print(f"warning: {warning}")
        console.print(_footer(p))

    return _capture(draw, table)


def _calibration_lines(p: Projection) -> list[str]:
    """Counted against billed prompt tokens per model (saved query counted_vs_reported)."""
    if not p.calibration:
        return []
    lines = ["Counted vs billed prompt tokens (crossover query counted_vs_reported):"]
    for c in p.calibration:
        how = ("exact tokenizer" if c["exact_tokenizer"]
               else f"estimated with o200k, scaled ×{c['scale']:.3f} to the model's own tokens")
        lines.append(f"  {c['model']}: {c['requests']:,} requests, {c['exact_share']:.1%} exact, median error "
                     f"{c['median_error']:+.2%}, p95 {c['p95_abs_error']:.2%}; {how}")
    return lines


def _footer(p: Projection) -> str:
    return (f"Tokens are means per request (counted with tiktoken); costs at each request's list price (genai-prices) "
            f"and fine-tuning prices from data/finetune_prices.toml. Fine-tuned prompt keeps "
            f"{p.scenario['finetune.system_prompt_tokens']} system tokens, no examples. Break-even range: earliest and "
            f"latest as each assumption moves ({factors()}). "
            f"Scenario: {p.scenario.path or 'defaults'}.")


def report_markdown(p: Projection) -> str:
    """The report as markdown: a summary table, then each template's reasons."""
    rows = _report_rows(p)
    lines = ["# Fine-tuning projection", "", _header(p), ""]
    if rows:
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + "|".join("---" for _ in rows[0]) + "|")
        lines += ["| " + " | ".join(v.replace("|", "\\|") for v in row.values()) + " |" for row in rows]
    for t in p.templates:
        lines += ["", f"## {t.decision}: {t.label} (`{t.template_id}`)", ""]
        lines += [f"- {reason}" for reason in t.reasons]
        rows = _option_rows(t)
        lines += ["", "| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
        lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
        lines += [""] + [f"{line}  " for line in _details(t, p.scenario["traffic.horizon_months"])]
    calibration = _calibration_lines(p)
    if calibration:
        lines += ["", "## " + calibration[0].rstrip(":"), ""] + [f"- {line.strip()}" for line in calibration[1:]]
    if p.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in p.warnings]
    lines += ["", _footer(p), ""]
    return "\n".join(lines)


def report_html(p: Projection) -> str:
    """The report as one self-contained HTML page: the summary table, then each template's reasons."""
    rows = _report_rows(p)
    head = "".join(f"<th>{escape(name)}</th>" for name in (rows[0] if rows else []))
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows)
    sections = []
    for t in p.templates:
        reasons = "".join(f"<li>{escape(r)}</li>" for r in t.reasons)
        rows = _option_rows(t)
        options = ("<table><thead><tr>" + "".join(f"<th>{escape(n)}</th>" for n in rows[0]) + "</tr></thead><tbody>"
                   + "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows)
                   + "</tbody></table>")
        details = "".join(f"<p>{escape(line)}</p>" for line in _details(t, p.scenario["traffic.horizon_months"]))
        sections.append(f'<section class="{t.decision.lower()}"><h2>{escape(t.decision)}: {escape(t.label)} '
                        f'<code>{escape(t.template_id)}</code></h2><p>Tokens per request, {" / ".join(SEGMENT_KINDS)}: '
                        f"{escape(_anatomy(t))}</p><ul>{reasons}</ul>{options}{details}"
                        "</section>")
    warnings = "".join(f"<li>{escape(w)}</li>" for w in p.warnings)
    calibration = _calibration_lines(p)
    if calibration:
        items = "".join(f"<li>{escape(line.strip())}</li>" for line in calibration[1:])
        sections.append(f"<h2>{escape(calibration[0].rstrip(':'))}</h2><ul>{items}</ul>")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>crossover: fine-tuning projection</title>'
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
        "td:first-child,td:nth-child(2),th{text-align:left}"
        ".go h2{color:#176b2c}.no-go h2{color:#a11}.evaluate h2{color:#8a5a00}</style></head><body>"
        f"<h1>Fine-tuning projection</h1><p>{escape(_header(p))}</p><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{''.join(sections)}"
        + (f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else "")
        + f"<p><small>{escape(_footer(p))}</small></p></body></html>\n"
    )


def report_json(p: Projection) -> str:
    """The contract's JSON object."""
    return json.dumps(p.as_dict(), indent=2, default=str) + "\n"


REPORT_RENDERERS: dict[OutputFormat, Callable[[Projection], str]] = {
    OutputFormat.TABLE: report_table,
    OutputFormat.MARKDOWN: report_markdown,
    OutputFormat.JSON: report_json,
    OutputFormat.HTML: report_html,
}


def render_report(p: Projection, fmt: OutputFormat) -> str:
    """Render the report in the chosen format."""
    return REPORT_RENDERERS[OutputFormat(fmt)](p)
