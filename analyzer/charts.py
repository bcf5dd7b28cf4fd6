"""Draw the HTML report's charts as inline SVG with matplotlib: cost over the horizon, token anatomy, daily volume.

The series come from :mod:`.curves` (the projection's figures); this module only draws them. The
SVG is made to be pasted into the page and to come out the same byte for byte from the same
report: a fixed hash salt, no date or creator in the metadata, text drawn as paths in the
DejaVu Sans that ships with matplotlib (no font is looked up on the machine or fetched by the
browser), and every id prefixed per chart so that two charts of one page never share one.
matplotlib is the optional extra ``html``: it is imported only when a chart is drawn, and a
missing install is a :class:`~analyzer.errors.MissingDependency` naming the extra.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import display
from .curves import CostChart, VolumeSeries, anatomy, cost_chart, volume_series
from .errors import MissingDependency
from .options import MAX_MONTHS
from .projection import TemplateProjection, Window

INSTALL = "pip install 'crossover-analyzer[html]'"
WIDTH = 5.6  # inches: two charts side by side in the page's 80em, drawn at about their size (96 dpi)
FULL_WIDTH = 11.4  # inches: a chart across the whole page
RC = {
    "svg.fonttype": "path",  # glyphs as paths: the same shapes in every browser, no font to find
    "svg.hashsalt": "crossover",  # ids from content, not from a random uuid
    "font.family": "DejaVu Sans",  # bundled with matplotlib, so layout never depends on the machine
    "font.size": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
}
#: One colour per option key (options.KINDS), so an option looks the same in every template's chart.
OPTION_COLOURS = {"today": "#222222", "finetune": "#1f77b4", "caching": "#ff7f0e", "finetune_smaller": "#9467bd",
                  "trim_fewshot": "#2ca02c", "lora": "#8c564b"}
SEGMENT_COLOURS = {"system": "#4c72b0", "fewshot": "#dd8452", "tools": "#8172b3", "history": "#937860",
                   "input": "#55a868", "output": "#c44e52"}
RANGE_COLOUR = "#1f77b4"


def available() -> None:
    """Raise :class:`MissingDependency` unless matplotlib can be imported."""
    _matplotlib()


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependency(f"the HTML report draws its charts with matplotlib, which is not installed: "
                                f"{INSTALL}") from exc
    return matplotlib, Figure


def _ticker() -> Any:
    _matplotlib()
    from matplotlib import ticker

    return ticker


@contextmanager
def _figure(height: float, width: float = WIDTH) -> Iterator[Any]:
    # rc_context: the settings hold for this figure only, never for a program that uses matplotlib too.
    matplotlib, figure = _matplotlib()
    with matplotlib.rc_context(RC):
        yield figure(figsize=(width, height), layout="constrained")


def _svg(fig: Any, name: str, title: str) -> str:
    """The figure as an ``<svg>`` element: no XML prolog, metadata or comments, its ids prefixed with ``name``."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None,
                                                 "Title": title})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # matplotlib repeats each label as an XML comment beside its glyphs: dead weight in a page.
    text = re.sub(r"\s*(<metadata>.*?</metadata>|<!--.*?-->)", "", text, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    # A reference is id="x", href="#x" or url(#x); colours (#1f77b4) are never ids, so are left alone.
    return re.sub(r'(id="|#)([^"\s)]+)(?=[")])',
                  lambda m: f"{m[1]}{name}-{m[2]}" if m[2] in ids else m[0], text).strip()


def _usd(value: float, _position: Any = None) -> str:
    if abs(value) >= 10_000:
        return f"${value / 1000:,.0f}k"
    return f"${value / 1000:,.1f}k" if abs(value) >= 1000 else f"${value:,.0f}"


def _breakeven(months: float | None, horizon: int) -> str:
    """An option's break-even in its legend entry, in the options table's words past the chart."""
    if months is None:
        return "never breaks even"
    if months <= horizon:
        return f"break-even {display.months(months)} mo"
    if months <= MAX_MONTHS:
        return f"break-even {display.months(months)} mo, beyond the chart"
    return f"break-even > {MAX_MONTHS // 12} years"


def cost_svg(chart: CostChart, name: str) -> str:
    """Cumulative cost of today's prompt and of each option, crossings marked, the break-even range shaded."""
    with _figure(4.4) as fig:
        ax = fig.add_subplot()
        low, high = chart.range_months
        if low is not None and low <= chart.horizon:
            # The range the report states: earliest and latest break-even of fine-tuning as each assumption moves.
            span = f"{display.months(low)}–{display.months(high)}"
            ax.axvspan(low, chart.horizon if high is None else min(high, chart.horizon), color=RANGE_COLOUR,
                       alpha=0.10, lw=0, label=f"fine-tuning break-even range, {span} months")
        months = range(chart.horizon + 1)
        ax.plot(months, chart.today.cumulative, color=OPTION_COLOURS["today"], lw=2.2, label=chart.today.label)
        for curve in chart.options:
            ax.plot(months, curve.cumulative, color=OPTION_COLOURS.get(curve.key, "#7f7f7f"), lw=1.6,
                    label=f"{curve.label} ({_breakeven(curve.breakeven_months, chart.horizon)})")
        crossings = sorted(chart.crossings(), key=lambda crossing: crossing[1])
        for i, (curve, month, cost) in enumerate(crossings):
            colour = OPTION_COLOURS.get(curve.key, "#7f7f7f")
            ax.plot([month], [cost], "o", ms=7, mfc="white", mec=colour, mew=2, zorder=5)
            # Above and below in turn: crossings a month apart would print over each other.
            ax.annotate(f"{month:.1f}", (month, cost), xytext=(-4, 9) if i % 2 == 0 else (6, -15),
                        textcoords="offset points", ha="right" if i % 2 == 0 else "left", color=colour,
                        fontsize=9, fontweight="bold")
        ax.set_xlim(0, chart.horizon)
        ax.set_ylim(bottom=0)
        ax.set_xticks(range(0, chart.horizon + 1, 1 if chart.horizon <= 24 else 6))
        ax.set_xlabel("months from now")
        ax.yaxis.set_major_formatter(_usd)
        ax.set_ylabel("cumulative cost")
        fig.legend(loc="outside lower center", ncol=1)
        return _svg(fig, name, "Cumulative cost of each option over the horizon")


def anatomy_svg(t: TemplateProjection, name: str) -> str:
    """The mean request's tokens as one stacked bar: system, fewshot, tools, history, input, output."""
    parts = anatomy(t)
    total = sum(tokens for _, tokens in parts) or 1.0
    with _figure(1.5, FULL_WIDTH) as fig:
        ax = fig.add_subplot()
        left = 0.0
        for kind, tokens in parts:
            ax.barh([0], [tokens], left=left, color=SEGMENT_COLOURS[kind], height=0.6,
                    label=f"{kind} {tokens:,.0f}")
            if tokens / total > 0.06:  # a label only where it fits inside its part
                ax.text(left + tokens / 2, 0, f"{tokens:,.0f}", ha="center", va="center", color="white")
            left += tokens
        ax.set_xlim(0, total)
        ax.set_yticks([])
        ax.grid(False)
        ax.spines["left"].set_visible(False)
        ax.set_xlabel("tokens per request (mean)")
        fig.legend(loc="outside right center", ncol=1, handlelength=1.0)
        return _svg(fig, name, "Token anatomy of the mean request")


def volume_svg(series: VolumeSeries, name: str) -> str:
    """Requests per day over the window, weekend days lighter, with the trend the projection grows from."""
    with _figure(4.4) as fig:
        ax = fig.add_subplot()
        days = range(len(series.days))
        colours = ["#a6c8e6" if weekend else "#4c72b0" for weekend in series.weekend]
        ax.bar(days, series.daily, color=colours, width=0.8)
        growth = ("flat: no growth projected" if not series.growth_per_month
                  else f"{series.growth_per_month:+.1%}/month")
        ax.plot(days, series.trend, color="#c44e52", lw=2, label=f"trend the projection uses ({growth})")
        # Stand-in patches: the bars are one artist, so the legend names their two colours itself.
        ax.bar([0], [0], color="#4c72b0", label="weekday")
        ax.bar([0], [0], color="#a6c8e6", label="weekend")
        ticks = list(range(0, len(series.days), 7))
        ax.set_xticks(ticks, [series.days[i].strftime("%b %d") for i in ticks])
        ax.set_xlim(-0.6, len(series.days) - 0.4)
        ax.set_ylim(bottom=0)
        # Whole requests on the axis: a small template's ticks would otherwise round 2.5 to "2".
        ax.yaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_ylabel("requests per day")
        fig.legend(loc="outside lower center", ncol=2)
        return _svg(fig, name, "Requests per day with the projection's trend")


def template_charts(t: TemplateProjection, window: Window, escape: Callable[[str], str]) -> str:
    """The three charts of one template as HTML figures with captions (``escape`` quotes their text)."""
    name = f"c{t.template_id}"
    figures = []
    chart = cost_chart(t)
    if chart is None:
        figures.append(f"<figure><figcaption>No cumulative cost: {escape(', '.join(t.models))} "
                       "has no list price.</figcaption></figure>")
    else:
        figures.append(f"<figure><figcaption>Cumulative cost over {chart.horizon} months; circles mark where an "
                       "option's total falls below today's (its break-even, in months), the band the break-even "
                       f"range of fine-tuning as each assumption moves.</figcaption>{cost_svg(chart, name + 'c')}"
                       "</figure>")
    series = volume_series(t, window)
    figures.append(f"<figure><figcaption>Requests per day, once sample rates are undone; growth: "
                   f"{escape(series.growth_note)}.</figcaption>{volume_svg(series, name + 'v')}</figure>")
    figures.append(f'<figure class="full"><figcaption>Tokens of the mean request by segment.</figcaption>'
                   f"{anatomy_svg(t, name + 'a')}</figure>")
    return f'<div class="charts">{"".join(figures)}</div>'
