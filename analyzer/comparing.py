"""Score a candidate model's logged answers to an export's eval set against the production answers.

The user ran a fine-tuned (or smaller, or trimmed-prompt) model on ``eval.jsonl`` and logged its
calls in any format crossover reads. Each call is read through the same reader and parser registry
as ingest, matched to its eval example by its live turn (the messages after the last assistant
turn, system and named examples left out, so the candidate may send any system prompt), and scored
against the production answer by the kind of that answer: exact match and a confusion table for
labels, field by field for JSON and tool calls, length and word overlap for free text (weak
evidence: two good summaries can share few words). Each call is priced the way the report prices:
genai-prices' list price on its day, or the fine-tuned prices of ``data/finetune_prices.toml`` for
an ``ft:`` model, which genai-prices does not know.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from . import batches, parsers, pricing, reading
from .errors import InputNotFound
from .models import BatchPart, Request
from .segmenting import SYSTEM_ROLES, content_text, output_kind, output_tokens, segment
from .tokenizing import Counter

MILLION = 1e6
#: What the headline agreement measures, per kind of production answer.
MEASURES = {"label": "exact label match", "json": "every field matches", "tool_call": "every call and argument matches",
            "text": "word overlap F1 (weak evidence)"}
#: Kinds whose agreement can answer the quality question; free text cannot, from logs alone.
DECISIVE = ("label", "json", "tool_call")
#: Rows of a confusion table kept: the labels most frequent in production, then the rest as one.
CONFUSION_LABELS = 12
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Example:
    """One eval example: its line in eval.jsonl, the production request it came from, its answer."""

    index: int
    key: str
    answer: dict[str, Any]
    kind: str
    request_id: str | None


@dataclass
class EvalSet:
    """An export's eval examples and what its manifest says they are."""

    path: Path
    template_id: str | None
    label: str | None
    examples: list[Example]
    rejects: list[str] = field(default_factory=list)


@dataclass
class Call:
    """One logged call of the candidate and how it fared."""

    file: str
    line: int
    request_id: str | None
    model: str
    status: str  # matched | unmatched | repeated | failed
    example: int | None = None
    kind: str | None = None
    agree: bool | None = None
    score: float | None = None
    prompt_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    price_source: str = ""
    production: str | None = None  # the production label, for the confusion table
    candidate: str | None = None


@dataclass
class Comparison:
    """What ``crossover compare`` measured: matching, agreement by kind, and the candidate's cost."""

    template_id: str | None
    label: str | None
    eval_set: str
    logs: list[str]
    models: list[str]
    output_kind: str
    eval_examples: int
    calls: int
    matched: int
    unmatched_calls: int
    repeated_calls: int
    failed_calls: int
    missing_examples: int
    agreement: float | None
    agreement_measure: str
    decisive: bool
    by_kind: dict[str, dict[str, Any]]
    cost_per_request: float | None
    priced_calls: int
    price_sources: list[str]
    warnings: list[str] = field(default_factory=list)
    call_rows: list[Call] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Everything but the per-call rows, as JSON."""
        return {k: v for k, v in self.__dict__.items() if k != "call_rows"}


def live_key(messages: list[dict[str, Any]]) -> str:
    """The identity of a request's live turn: the messages after the last assistant turn, as text.

    System and developer messages and named examples are left out, so a candidate sent the short
    kept prompt of eval.jsonl and one sent the full production prompt meet the same example.
    """
    rest = [m for m in messages if isinstance(m, dict) and m.get("role") not in SYSTEM_ROLES
            and not str(m.get("name") or "").startswith("example_")]
    last = max((i for i, m in enumerate(rest) if m.get("role") == "assistant"), default=-1)
    turn = [[m.get("role"), content_text(m.get("content")).strip(), m.get("tool_call_id")] for m in rest[last + 1:]]
    return hashlib.sha256(json.dumps(turn, ensure_ascii=False).encode()).hexdigest()


def load_eval_set(path: str | Path) -> EvalSet:
    """The examples of an export: ``path`` is its directory or its ``eval.jsonl`` (manifest beside it).

    A line that is not an example is named with its line and skipped; the rest are read.

    Raises:
        InputNotFound: no eval.jsonl there.
    """
    given = Path(path)
    file = given / "eval.jsonl" if given.is_dir() else given
    if not file.is_file():
        raise InputNotFound(f"{given}: no eval.jsonl (give the directory `crossover export` wrote, or its eval.jsonl)")
    manifest_file = file.parent / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_file.is_file():
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except ValueError:
            manifest = {}
    # eval.jsonl's lines are written in the order of the manifest's eval sources.
    sources = ((manifest.get("examples") or {}).get("eval") or []) if isinstance(manifest, dict) else []
    counter = Counter("gpt-4o")
    examples, rejects = [], []
    for record in reading.read_file(file):
        if isinstance(record, reading.Reject):
            rejects.append(f"{record.path}: line {record.line}: {record.reason}")
            continue
        messages = record.data.get("messages") if isinstance(record.data, dict) else None
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict) \
                or messages[-1].get("role") != "assistant":
            rejects.append(f"{file}: line {record.line}: not an example (messages ending with the assistant's answer)")
            continue
        answer = messages[-1]
        index = len(examples)
        source = sources[record.line - 1] if record.line - 1 < len(sources) else {}
        examples.append(Example(index, live_key(messages[:-1]), answer,
                                output_kind(answer, output_tokens(answer, counter)),
                                source.get("request_id") if isinstance(source, dict) else None))
    return EvalSet(file, manifest.get("template_id"), manifest.get("label"), examples, rejects)


def read_calls(paths: list[str]) -> tuple[list[tuple[str, int, Request]], list[str]]:
    """Every request the candidate's logs hold, with its file and line, and a line per part not read.

    Raises:
        InputNotFound: a path does not exist or holds no log files.
    """
    files = reading.find_files(paths, parsers.claims)
    ctx = parsers.context()
    calls, rejects, halves = [], [], []
    for path in files:
        owner = parsers.owner(path)
        items = owner.files.read(path, reading.Position()) if owner else reading.read_file(path)
        for item in items:
            if isinstance(item, reading.Reject):
                rejects.append(f"{item.path}: line {item.line}: {item.reason}")
                continue
            try:
                fmt = parsers.detect(item.data, ctx)
                parsed = list(fmt.parse(item, ctx)) if fmt else []
            except Exception as exc:  # noqa: BLE001 - one unreadable record is named and skipped, as ingest does
                rejects.append(f"{item.path}: line {item.line}: cannot read record ({type(exc).__name__}: {exc})")
                continue
            if fmt is None:
                rejects.append(f"{item.path}: line {item.line}: no log format recognises it "
                               f"({parsers.shape(item.data)})")
            for p in parsed:
                if isinstance(p, Request):
                    calls.append((item.path, item.line, p))
                elif isinstance(p, BatchPart):
                    halves.append((item.path, item.line, p))
                else:
                    rejects.append(f"{item.path}: line {item.line}: {getattr(p, 'reason', p)}")
    calls += batches.join_lines(halves, rejects, ctx)
    return calls, rejects


def compare(eval_set: EvalSet, paths: list[str]) -> Comparison:
    """Match the candidate's calls in ``paths`` to ``eval_set`` and score them against production."""
    found, rejects = read_calls(paths)
    by_key: dict[str, list[Example]] = {}
    for ex in eval_set.examples:
        by_key.setdefault(ex.key, []).append(ex)
    taken: set[int] = set()
    rows: list[Call] = []
    for file, line, request in found:
        call = Call(file, line, request.request_id, request.model, "unmatched")
        _price(call, request)
        rows.append(call)
        candidates = by_key.get(live_key(request.messages))
        if request.status != "ok" or not request.output:
            call.status = "failed" if candidates else "unmatched"
            continue
        if not candidates:
            continue
        free = [ex for ex in candidates if ex.index not in taken]
        if not free:
            call.status = "repeated"  # another call already answered this example; the first one counts
            continue
        ex = free[0]
        taken.add(ex.index)
        call.status, call.example, call.kind = "matched", ex.index, ex.kind
        _score(call, ex, request.output)
    matched = [c for c in rows if c.status == "matched"]
    kinds = Tally(ex.kind for ex in eval_set.examples)
    main_kind = kinds.most_common(1)[0][0] if kinds else "none"
    by_kind = {kind: _summary(kind, [c for c in matched if c.kind == kind]) for kind in sorted(kinds)
               if any(c.kind == kind for c in matched)}
    priced = [c for c in matched if c.cost_usd is not None]
    main = by_kind.get(main_kind)
    warnings = [*eval_set.rejects, *rejects]
    unpriced = sorted({c.model for c in matched if c.cost_usd is None})
    if unpriced:
        warnings.append(f"no price for {', '.join(unpriced)}: those calls are left out of the cost per request")
    return Comparison(
        template_id=eval_set.template_id, label=eval_set.label, eval_set=str(eval_set.path),
        logs=[str(Path(p).resolve()) for p in paths],
        models=[m for m, _ in Tally(c.model for c in matched or rows).most_common()],
        output_kind=main_kind, eval_examples=len(eval_set.examples), calls=len(rows), matched=len(matched),
        unmatched_calls=sum(c.status == "unmatched" for c in rows),
        repeated_calls=sum(c.status == "repeated" for c in rows),
        failed_calls=sum(c.status == "failed" for c in rows),
        missing_examples=len(eval_set.examples) - len(taken),
        agreement=main["agreement"] if main else None, agreement_measure=MEASURES.get(main_kind, "none"),
        decisive=main_kind in DECISIVE, by_kind=by_kind,
        cost_per_request=sum(c.cost_usd for c in priced) / len(priced) if priced else None,
        priced_calls=len(priced), price_sources=sorted({c.price_source for c in priced}),
        warnings=warnings, call_rows=rows)


def _price(call: Call, request: Request) -> None:
    """The call's billed tokens (reported, else counted) at its model's price on its day."""
    counted = None
    if request.reported_prompt_tokens is None or request.reported_output_tokens is None:
        counted = segment(request, Counter(request.model))
    call.prompt_tokens = request.reported_prompt_tokens if request.reported_prompt_tokens is not None \
        else counted.prompt_tokens
    call.output_tokens = request.reported_output_tokens if request.reported_output_tokens is not None \
        else counted.output
    call.cached_tokens = request.reported_cached_tokens or 0
    ft = pricing.finetune_prices(request.model) if request.model.lower().startswith("ft:") else None
    if ft is not None:
        rates = pricing.Rates(ft.input, ft.cached_input, None, ft.output,
                              f"data/finetune_prices.toml: fine-tuned {ft.snapshot}, {ft.source} ({ft.as_of})")
    elif request.timestamp is not None:
        rates = pricing.list_rates(request.model, request.timestamp.date(), request.service_tier or "standard")
    else:
        return
    if rates.input is None or rates.output is None:
        return
    cached = rates.cached_input if rates.cached_input is not None else rates.input
    call.cost_usd = ((call.prompt_tokens - call.cached_tokens) * rates.input + call.cached_tokens * cached
                     + call.output_tokens * rates.output) / MILLION
    call.price_source = rates.source


def _score(call: Call, ex: Example, output: dict[str, Any]) -> None:
    if ex.kind == "label":
        want, got = content_text(ex.answer.get("content")).strip(), content_text(output.get("content")).strip()
        call.agree, call.score, call.production, call.candidate = want == got, float(want == got), want, got
    elif ex.kind in ("json", "tool_call"):
        want, got = _fields(ex.answer, ex.kind), _fields(output, ex.kind)
        same = sum(got.get(k, _MISSING) == v for k, v in want.items()) if got is not None else 0
        call.score = same / len(want) if want else float(got == want)
        call.agree = got is not None and got == want
        call.production = json.dumps(sorted(want), ensure_ascii=False)  # the field paths, for the per-field table
        call.candidate = json.dumps(sorted(k for k, v in want.items() if got is not None and got.get(k, _MISSING) == v),
                                    ensure_ascii=False)
    else:
        want, got = _words(ex.answer), _words(output)
        call.score = _f1(want, got)
        call.agree = None  # free text has no agreement to count, only an overlap to read
        call.production, call.candidate = str(len(want)), str(len(got))


_MISSING = object()


def _fields(message: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The leaves of a JSON answer (or of its tool calls' names and arguments) by path; None when not JSON."""
    if kind == "tool_call":
        calls = []
        for c in message.get("tool_calls") or ():
            fn = c.get("function") or {}
            try:
                args = json.loads(fn.get("arguments") or "{}")
            except ValueError:
                args = fn.get("arguments")
            calls.append({"name": fn.get("name"), "arguments": args})
        value: Any = calls
    else:
        try:
            value = json.loads(content_text(message.get("content")))
        except ValueError:
            return None
    leaves: dict[str, Any] = {}

    def walk(v: Any, path: str) -> None:
        if isinstance(v, dict) and v:
            for k, item in v.items():
                walk(item, f"{path}.{k}" if path else str(k))
        elif isinstance(v, list) and v:
            for i, item in enumerate(v):
                walk(item, f"{path}[{i}]")
        else:
            leaves[path or "$"] = v

    walk(value, "")
    return leaves


def _words(message: dict[str, Any]) -> list[str]:
    return _WORD.findall(content_text(message.get("content")).lower())


def _f1(want: list[str], got: list[str]) -> float:
    """Word-overlap F1 (ROUGE-1 over word counts): 1 for the same words, 0 for none shared."""
    if not want or not got:
        return float(want == got)
    common = sum((Tally(want) & Tally(got)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def _summary(kind: str, calls: list[Call]) -> dict[str, Any]:
    """Agreement over the matched calls whose production answer is of ``kind``."""
    n = len(calls)
    if kind == "label":
        agree = sum(bool(c.agree) for c in calls)
        return {"examples": n, "agree": agree, "agreement": agree / n, "measure": MEASURES[kind],
                "confusion": _confusion(calls)}
    if kind in ("json", "tool_call"):
        agree = sum(bool(c.agree) for c in calls)
        fields: dict[str, list[int]] = {}
        for c in calls:
            hit = set(json.loads(c.candidate or "[]"))
            for path in json.loads(c.production or "[]"):
                # Per field, list positions folded (line_items[].quantity), so a few rows say where it differs.
                name = re.sub(r"\[\d+\]", "[]", path)
                tally = fields.setdefault(name, [0, 0])
                tally[0] += path in hit
                tally[1] += 1
        return {"examples": n, "agree": agree, "agreement": agree / n, "measure": MEASURES[kind],
                "field_agreement": sum(c.score or 0 for c in calls) / n,
                "fields": {k: {"match": m, "of": t, "share": m / t} for k, (m, t) in sorted(fields.items())}}
    ratios = [int(c.candidate or 0) / int(c.production) for c in calls if int(c.production or 0)]
    return {"examples": n, "agree": None, "agreement": sum(c.score or 0 for c in calls) / n,
            "measure": MEASURES["text"], "weak_evidence": True,
            "median_length_ratio": median(ratios) if ratios else None,
            "median_production_words": median(int(c.production or 0) for c in calls),
            "median_candidate_words": median(int(c.candidate or 0) for c in calls),
            "note": "word overlap says little about whether a free-text answer is right: read a sample"}


def _confusion(calls: list[Call]) -> dict[str, dict[str, int]]:
    """Production label → candidate label → calls; labels past the commonest dozen pooled as ``(other)``."""
    top = [label for label, _ in Tally(c.production for c in calls).most_common(CONFUSION_LABELS)]
    # A label production never gave is worth naming too (a fine-tune that invents one), the commonest few.
    new = [label for label, _ in Tally(c.candidate for c in calls if c.candidate not in top).most_common(4)]
    table: dict[str, dict[str, int]] = {}
    for c in calls:
        row = c.production if c.production in top else "(other)"
        col = c.candidate if c.candidate in top or c.candidate in new else "(other)"
        table.setdefault(row, {}).setdefault(col, 0)
        table[row][col] += 1
    return table




def stored_row(c: Comparison, keep_text: bool = True) -> dict[str, Any]:
    """The ``comparisons`` row of a comparison; without ``keep_text`` (a ``--no-text`` database) the
    confusion table, whose labels are answers' text, is left out."""
    by_kind = c.by_kind if keep_text else {k: {n: v for n, v in d.items() if n != "confusion"}
                                           for k, d in c.by_kind.items()}
    return {"template_id": c.template_id, "compared_at": datetime.now(UTC).replace(tzinfo=None),
            "eval_set": c.eval_set, "logs": json.dumps(c.logs), "models": ",".join(c.models),
            "output_kind": c.output_kind, "eval_examples": c.eval_examples, "calls": c.calls, "matched": c.matched,
            "unmatched_calls": c.unmatched_calls, "repeated_calls": c.repeated_calls, "failed_calls": c.failed_calls,
            "missing_examples": c.missing_examples, "agreement": c.agreement, "agreement_measure": c.agreement_measure,
            "decisive": c.decisive, "cost_per_request": c.cost_per_request, "priced_calls": c.priced_calls,
            "price_sources": json.dumps(c.price_sources, ensure_ascii=False),
            "by_kind": json.dumps(by_kind, ensure_ascii=False)}


def stored_calls(c: Comparison) -> list[dict[str, Any]]:
    """The ``comparison_calls`` rows of a comparison."""
    return [{"template_id": c.template_id, "file": r.file, "line": r.line, "request_id": r.request_id,
             "model": r.model, "status": r.status, "example": r.example, "kind": r.kind, "agree": r.agree,
             "score": r.score, "prompt_tokens": r.prompt_tokens, "cached_tokens": r.cached_tokens,
             "output_tokens": r.output_tokens, "cost_usd": r.cost_usd} for r in c.call_rows]


__all__ = ["Call", "Comparison", "EvalSet", "Example", "compare", "live_key", "load_eval_set", "read_calls",
           "stored_calls", "stored_row"]
