"""The report as one self-contained HTML page: the markdown's content, and each template's charts.

The words and figures are the text report's own (:mod:`.report_text`), so the page says what the
terminal says; the charts are inline SVG from :mod:`.charts`. Nothing is fetched: the style is in
the page, there is no script, and the SVG carries its glyphs as paths, so the page reads the same
offline, saved to disk or mailed.
"""

from __future__ import annotations

from html import escape

from . import charts, compare_text, fitting
from .projection import Projection, TemplateProjection
from .report_text import (
    anatomy,
    calibration_lines,
    evaluation_lines,
    footer,
    header,
    headline,
    next_steps,
    option_columns,
    per_request,
    summary_columns,
    volume,
)

#: The page's own style (no font, script or image is fetched); a narrow window stacks the charts.
STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;padding:0 1em;max-width:80em;color:#222}"
    "h1{margin-bottom:.2em}table{border-collapse:collapse;margin:.6em 0}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}th{background:#f6f6f6;text-align:left}"
    "td.n{text-align:right;white-space:nowrap}section{border-top:2px solid #ddd;margin-top:2.2em}"
    "h2{margin:.8em 0 .3em}.badge{font-size:.8em;padding:.1em .45em;border-radius:.25em;color:#fff;margin-right:.4em}"
    ".go .badge,.badge.go{background:#176b2c}.evaluate .badge,.badge.evaluate{background:#8a5a00}"
    ".no-go .badge,.badge.no-go{background:#a11}.action{font-size:1.1em;font-weight:600;margin:.3em 0}"
    ".charts{display:grid;grid-template-columns:1fr 1fr;gap:1em 2em;margin:1em 0}.charts .full{grid-column:1/-1}"
    "figure{margin:0}figcaption{font-size:12px;color:#555;margin-bottom:.3em}svg{display:block;width:100%;height:auto}"
    "code{font-size:.95em}small{color:#555}@media (max-width:60em){.charts{grid-template-columns:1fr}}"
)


def _table(columns: list[fitting.Column]) -> str:
    """A table of the text report's columns; figures to the right, a header's line breaks kept."""
    head = "".join(f"<th>{escape(c.header).replace(chr(10), '<br>')}</th>" for c in columns)
    rows = zip(*(c.cells for c in columns), strict=True)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if c.right else ""}>{escape(v).replace(chr(10), "<br>")}</td>'
                                    for c, v in zip(columns, row, strict=True)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(decision: str) -> str:
    return f'<span class="badge {decision.lower()}">{escape(decision)}</span>'


def _section(t: TemplateProjection, p: Projection) -> str:
    reasons = "".join(f"<li>{escape(r)}</li>" for r in t.reasons)
    return (f'<section class="{t.decision.lower()}" id="t{escape(t.template_id)}">'
            f"<h2>{_badge(t.decision)}{escape(t.label)} <code>{escape(t.template_id)}</code></h2>"
            f'<p class="action">{escape(headline(t, short=False))}</p>'
            f"<p>{escape(per_request(t, short=False))}; {escape(anatomy(t))}</p><ul>{reasons}</ul>{_evaluation(t)}"
            f"{_table(option_columns(t, short=False))}{charts.template_charts(t, p.window, escape)}"
            f"<p>{escape(volume(t))}</p></section>")


def _evaluation(t: TemplateProjection) -> str:
    """What `crossover compare` measured, with the confusion table of labels."""
    if not t.evaluation:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in evaluation_lines(t))
    tables = ""
    for k in t.evaluation["by_kind"].values():
        if k.get("confusion"):
            header, body = compare_text.confusion_rows(k)
            tables += _table([fitting.Column(h, [row[i] for row in body], right=i > 0) for i, h in enumerate(header)])
    return f"<ul>{items}</ul>{tables}"


def report_html(p: Projection) -> str:
    """The report as one self-contained HTML page: summary, then each template with its reasons and charts.

    Raises:
        MissingDependency: matplotlib, which draws the charts, is not installed (the ``html`` extra).
    """
    charts.available()  # before any drawing: one clear message, not a traceback halfway down the page
    summary = summary_columns(p, wide=True)
    # The label whole and every model: the page has room for them.
    summary[0].cells = [f"{t.template_id} {t.label} ({', '.join(t.models)})" for t in p.templates]
    parts = [f"<h1>Fine-tuning projection</h1><p>{escape(header(p))}</p>"]
    if p.templates:
        parts.append(_table(summary))
    parts += [_section(t, p) for t in p.templates]
    calibration = calibration_lines(p)
    if calibration:
        items = "".join(f"<li>{escape(line.strip())}</li>" for line in calibration[1:])
        parts.append(f"<h2>{escape(calibration[0].rstrip(':'))}</h2><ul>{items}</ul>")
    if p.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{escape(w.text)}</li>" for w in p.warnings) + "</ul>")
    steps = "".join(f"<li><code>{escape(command)}</code>: {escape(why)}</li>" for command, why in next_steps(p))
    parts.append(f"<h2>Next steps</h2><ul>{steps}</ul><p><small>{escape(footer(p))}</small></p>")
    return ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>crossover: fine-tuning projection</title><style>{STYLE}</style></head><body>"
            + "".join(parts) + "</body></html>\n")
