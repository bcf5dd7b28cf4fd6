"""Turn results into text: one renderer per output format, chosen from a dict, never an if/elif.

Rows (saved queries, templates) render as a rich table, markdown, JSON or CSV; the report as a
rich table with reasons, markdown (:mod:`.report_text`), HTML with charts (:mod:`.report_html`), CSV or
JSON (the contract's object).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import polars as pl
from rich import box
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from . import charts, display, fitting, terminal
from .extracting import FileResult
from .models import CountResult
from .projection import Projection
from .report_html import report_html
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


# Count -------------------------------------------------------------------------------------------

def _count_heading(c: CountResult) -> str:
    exact = "" if c.exact else " (estimate: not this model's own tokenizer)"
    return f"model {c.model}, encoding {c.encoding}{exact}"


def count_table(c: CountResult) -> str:
    """The breakdown as aligned lines under the model and encoding."""
    return "".join([f"{_count_heading(c)}\n"] + [f"  {kind:8} {display.count(n):>8}\n" for kind, n in c.breakdown()])


def count_markdown(c: CountResult) -> str:
    """The same lines as the terminal's, as a GitHub markdown table under the model and encoding."""
    lines = [_count_heading(c), "", "| segment | tokens |", "|---|---:|"]
    return "\n".join(lines + [f"| {kind} | {display.count(n)} |" for kind, n in c.breakdown()]) + "\n"


def count_csv(c: CountResult) -> str:
    """One row per line of the terminal's breakdown, each with the model and encoding it was counted with."""
    return pl.DataFrame([{"model": c.model, "encoding": c.encoding, "exact_tokenizer": c.exact, "segment": kind,
                          "tokens": n} for kind, n in c.breakdown()]).write_csv()


COUNT_RENDERERS: dict[OutputFormat, Callable[[CountResult], str]] = {
    OutputFormat.TABLE: count_table,
    OutputFormat.MARKDOWN: count_markdown,
    OutputFormat.JSON: lambda c: json.dumps(c.as_dict(), indent=2) + "\n",
    OutputFormat.CSV: count_csv,
}


def render_count(c: CountResult, fmt: OutputFormat) -> str:
    """Render one request's segment breakdown in the chosen format."""
    return COUNT_RENDERERS[OutputFormat(fmt)](c)


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

def report_json(p: Projection) -> str:
    """The contract's JSON object."""
    return json.dumps(p.as_dict(), indent=2, default=str) + "\n"


#: The contract's per-template keys (DESIGN.md), in its order: report_csv's columns.
CSV_KEYS = ("template_id", "label", "requests", "daily_requests", "monthly_requests", "models", "tokens_per_request",
            "current_cost_per_request", "finetuned_cost_per_request", "current_monthly_cost", "finetuned_monthly_cost",
            "monthly_savings", "upfront_cost", "maintenance_monthly", "breakeven_months", "breakeven_requests",
            "net_savings_horizon", "decision", "reasons")
#: What `crossover compare` measured, after the contract's keys: empty for a template never compared.
CSV_EVALUATION = ("verdict", "agreement", "agreement_measure", "matched", "eval_examples", "cost_per_request")


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
        ev = t.get("evaluation") or {}
        row.update({f"eval_{key}": ev.get(key) for key in CSV_EVALUATION})
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


#: What a format needs beyond the base install, checked before any work (``--format html`` needs matplotlib).
REQUIREMENTS: dict[OutputFormat, Callable[[], None]] = {OutputFormat.HTML: charts.available}


def require(fmt: OutputFormat | str) -> None:
    """Raise :class:`~analyzer.errors.MissingDependency` when ``fmt`` needs a package that is not installed."""
    REQUIREMENTS.get(OutputFormat(fmt), lambda: None)()


def render_report(p: Projection, fmt: OutputFormat, wide: bool = False) -> str:
    """Render the report in the chosen format."""
    return REPORT_RENDERERS[OutputFormat(fmt)](p, wide)


VERDICT_STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "info": "dim"}


def checklist_table(checks: list, header: str = "", footer: str = "", columns: int | None = None) -> str:
    """An export's data checklist as a rich table (check, what was measured with its note, threshold,
    verdict) that fits ``columns`` (default the terminal's), between ``header`` and ``footer`` wrapped to it."""
    from rich.table import Table
    from rich.text import Text

    def draw(console: Console) -> None:
        if header:
            console.print(escape_markup(header), width=min(console.width, 100))
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False, width=min(console.width, 100))
        table.add_column("check", max_width=16)
        table.add_column("measured", ratio=1)
        table.add_column("threshold", max_width=14)
        table.add_column("verdict", no_wrap=True)
        for c in checks:
            measured = Text(c.measured)
            if c.note:
                measured.append("\n" + c.note, style="dim")
            table.add_row(c.name, measured, c.threshold, Text(c.verdict, style=VERDICT_STYLES.get(c.verdict, "")))
        console.print(table)
        if footer:
            console.print(escape_markup(footer), width=min(console.width, 100))

    return _capture(draw, columns)
