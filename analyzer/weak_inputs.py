"""Warn about weak input: what makes a figure less sure than it looks, each warning with a stable code.

Each check is one function of a run's results that returns :class:`~analyzer.models.Caution`\\ s.
They are printed on stderr whatever the output format, and the JSON carries them twice: ``warnings``
keeps its English texts, as before, and ``warning_codes`` adds ``{"code", "text"}`` for programs.
:data:`CODES` is the list of codes, documented in the README: a code keeps its meaning once published.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

from .models import Caution, CountResult
from .pricing import finetune_prices, load_finetune_prices

if TYPE_CHECKING:
    from .ingesting import IngestResult
    from .projection import Projection

#: Fewer days than this do not show a weekly pattern twice, nor a trend to project.
MIN_WINDOW_DAYS = 14
#: Fine-tuning prices older than this, against the logs' last day, may no longer be the provider's.
MAX_PRICE_AGE_DAYS = 90

#: Every code, with when it is given.
CODES = {
    "all_rejected": "an ingest read records but stored none: every one was rejected",
    "no_records": "an ingest read files that hold no records",
    "no_list_price": "a model of the logs has no list price, so its cost is left out",
    "short_window": f"the logs cover fewer than {MIN_WINDOW_DAYS} days, projected over the horizon",
    "no_finetune_price": "a target model has no fine-tuning price, so fine-tuning it cannot be priced",
    "stale_finetune_prices": f"fine-tuning prices used are more than {MAX_PRICE_AGE_DAYS} days older than the logs",
    "single_request_history": "`count` calls earlier turns history, which the report may count as few-shot",
}


def _caution(code: str, text: str) -> Caution:
    assert code in CODES, code  # a new check documents its code first
    return Caution(code, text)


def after_ingest(result: IngestResult) -> list[Caution]:
    """An ingest that stored nothing although it read files: all of it rejected, or no records at all."""
    read = [f for f in result.files if not f.skipped]
    if not read or any(f.stored or f.duplicates or f.pending for f in read):
        return []
    rejected = sum(f.rejected for f in read)
    if not rejected:
        return [_caution("no_records", f"nothing stored: the {len(read):,} files read hold no records")]
    first = next(f for f in read if f.rejected)
    example = f" (first: {first.path} line {first.examples[0][0]}: {first.examples[0][1]})" if first.examples else ""
    return [_caution("all_rejected",
                     f"nothing stored: all {rejected:,} records read were rejected{example}; see `crossover formats` "
                     f"for the formats read, and `crossover query rejects_by_file --param file={first.path}`")]


def in_report(p: Projection) -> list[Caution]:
    """The report's weak inputs: a short window, target models without (or with old) fine-tuning prices."""
    return [*_short_window(p), *_no_finetune_price(p), *_stale_finetune_prices(p)]


def _short_window(p: Projection) -> list[Caution]:
    if p.window.days >= MIN_WINDOW_DAYS:
        return []
    return [_caution("short_window",
                     f"the logs cover {p.window.days} days, fewer than the {MIN_WINDOW_DAYS} that show a weekly "
                     f"pattern and a trend: projected over {p.scenario['traffic.horizon_months']:g} months, the "
                     "volume and break-even are a guess; ingest a longer window")]


def _no_finetune_price(p: Projection) -> list[Caution]:
    unpriced: dict[str, list[str]] = defaultdict(list)
    for t in p.templates:
        if t.finetune_prices["input"] is None or t.finetune_prices["output"] is None:
            unpriced[t.target_model].append(t.label)
    known = ", ".join(load_finetune_prices()["models"])
    return [_caution("no_finetune_price",
                     f"no fine-tuning price for {model} (template{'s' if len(labels) > 1 else ''} "
                     f"{', '.join(labels)}): its fine-tuned cost is unknown; set [finetune] target_model to one "
                     f"that has prices ({known}), or give [finetune] input_price and output_price")
            for model, labels in unpriced.items()]


def _stale_finetune_prices(p: Projection) -> list[Caution]:
    s = p.scenario
    # Prices the scenario gives in full for its own target are the user's, however old the data file's.
    own_given = all(s[f"finetune.{name}_price"] is not None for name in ("training", "input", "output"))
    used: dict[str, str] = {}
    for t in p.templates:
        for option in t.options:
            if option.key not in ("finetune", "finetune_smaller") or not option.model:
                continue
            if option.key == "finetune" and own_given:
                continue
            if (ft := finetune_prices(option.model)) is not None:
                used[ft.base_model] = ft.as_of
    last_day = date.fromisoformat(p.window.end[:10])
    stale = {model: (last_day - date.fromisoformat(as_of)).days for model, as_of in used.items()}
    stale = {model: age for model, age in stale.items() if age > MAX_PRICE_AGE_DAYS}
    if not stale:
        return []
    listed = ", ".join(f"{model} (as of {used[model]}, {age:,} days)" for model, age in sorted(stale.items()))
    return [_caution("stale_finetune_prices",
                     f"the fine-tuning prices used are more than {MAX_PRICE_AGE_DAYS} days older than the logs' "
                     f"last day ({last_day}): {listed}; check them against the provider's price page and set "
                     "[finetune] training_price, input_price and output_price in the scenario if they changed")]


def in_count(c: CountResult) -> list[Caution]:
    """One request on its own cannot tell few-shot examples from history: say so when it has earlier turns."""
    history = c.segments["history"]
    if not history:
        return []
    return [_caution("single_request_history",
                     f"{history:,} tokens of turns before the live one count as history here; the report counts "
                     "such turns as few-shot when they repeat across the template's requests, which one request "
                     "cannot show: few-shot needs the whole template (ingest the logs, then `crossover templates`)")]
