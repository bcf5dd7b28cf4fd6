"""Turn results into text: one renderer per output format, chosen from a dict, never an if/elif.

Rows (saved queries, templates) render as a rich table, markdown, JSON or CSV; the report as a
rich table with reasons, markdown, HTML or JSON (the contract's object).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from html import escape
from typing import Any

import polars as pl
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from . import display, fitting, terminal
from .costs import KEEP
from .extracting import FileResult
from .models import SEGMENT_KINDS
from .options import MAX_MONTHS
from .projection import Projection, TemplateProjection
from .report_text import calibration_lines as _calibration_lines
from .report_text import footer as _footer
from .report_text import header as _header
from .report_text import report_markdown, report_table


class OutputFormat(StrEnum):
    """The output formats a command may offer."""

    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def _capture(draw: Callable[[Console], None], columns: int | None = None) -> str:
    buffer = io.StringIO()
    draw(terminal.console(buffer, columns))
    return buffer.getvalue()


def _cell(value: Any, places: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return display.number(value, places)
    if isinstance(value, int) and not isinstance(value, bool):
        return display.number(value, 0)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _column_cells(frame: pl.DataFrame, name: str) -> list[str]:
    """A column's cells in the house number style: one count of decimals for the whole column."""
    values = frame[name].to_list()
    places = display.decimals(values) if frame.schema[name].is_float() else 0
    return [_cell(v, places) for v in values]


# Rows --------------------------------------------------------------------------------------------

#: A text column is prose (it may wrap) when a value has a space or is longer than this; shorter words stay whole.
WORD_MAX = 30


def _is_prose(dtype: pl.DataType, cells: list[str]) -> bool:
    if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean:
        return False  # figures and dates are never cut or wrapped
    return any(" " in c or len(c) > WORD_MAX for c in cells)


def rows_table(frame: pl.DataFrame, title: str | None = None, wide: bool = False) -> str:
    """A rich table of the rows that fits the terminal: the columns that do not fit are named, ``wide`` shows all."""
    columns = []
    for name in frame.columns:
        cells = _column_cells(frame, name)
        columns.append(fitting.Column(name, cells, right=frame.schema[name].is_numeric(),
                                      prose=_is_prose(frame.schema[name], cells), required=not columns))
    table, hidden, width = fitting.fit(columns, terminal.width(), wide, title)

    def draw(console: Console) -> None:
        console.print(table)
        if hidden:
            console.print(escape_markup(f"{len(hidden)} more columns: {', '.join(hidden)} (--wide shows them; "
                                        "--format csv or json gives every column)"))

    return _capture(draw, width)


def rows_markdown(frame: pl.DataFrame, title: str | None = None, wide: bool = False) -> str:
    """A GitHub markdown table of the rows."""
    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(frame.columns) + " |")
    lines.append("|" + "|".join("---:" if d.is_numeric() else "---" for d in frame.dtypes) + "|")
    cells = [_column_cells(frame, name) for name in frame.columns]
    for row in zip(*cells, strict=True):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"


def rows_json(frame: pl.DataFrame, title: str | None = None, wide: bool = False) -> str:
    """A JSON array of row objects."""
    return json.dumps(frame.to_dicts(), default=str, indent=2) + "\n"


def rows_csv(frame: pl.DataFrame, title: str | None = None, wide: bool = False) -> str:
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


def render_rows(frame: pl.DataFrame, fmt: OutputFormat, title: str | None = None, wide: bool = False) -> str:
    """Render rows in the chosen format; ``wide`` keeps every column of a table, however wide."""
    return ROW_RENDERERS[OutputFormat(fmt)](frame, title, wide=wide)


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

_usd = display.usd

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


#: The contract's per-template keys (DESIGN.md), in its order: report_csv's columns.
CSV_KEYS = ("template_id", "label", "requests", "daily_requests", "monthly_requests", "models", "tokens_per_request",
            "current_cost_per_request", "finetuned_cost_per_request", "current_monthly_cost", "finetuned_monthly_cost",
            "monthly_savings", "upfront_cost", "maintenance_monthly", "breakeven_months", "breakeven_requests",
            "net_savings_horizon", "decision", "reasons")


def report_csv(p: Projection) -> str:
    """One row per template with the contract's keys; tokens per request one column per segment, lists joined."""
    rows = []
    for t in p.as_dict()["templates"]:
        row: dict[str, Any] = {}
        for key in CSV_KEYS:
            if key == "tokens_per_request":
                row.update({f"tokens_{kind}": n for kind, n in t[key].items()})
            elif isinstance(t[key], list):
                row[key] = "; ".join(map(str, t[key]))  # a cell holds one value: lists joined
            else:
                row[key] = t[key]
        rows.append(row)
    return pl.DataFrame(rows).write_csv()


#: Each renderer takes the projection and ``wide`` (every column, for the formats that have too many).
REPORT_RENDERERS: dict[OutputFormat, Callable[[Projection, bool], str]] = {
    OutputFormat.TABLE: report_table,
    OutputFormat.MARKDOWN: report_markdown,
    OutputFormat.JSON: lambda p, wide: report_json(p),
    OutputFormat.HTML: lambda p, wide: report_html(p),
    OutputFormat.CSV: lambda p, wide: report_csv(p),
}


def render_report(p: Projection, fmt: OutputFormat, wide: bool = False) -> str:
    """Render the report in the chosen format."""
    return REPORT_RENDERERS[OutputFormat(fmt)](p, wide)
