"""The data checklist of an export: each check measured, with its threshold and a verdict.

Pure: the figures an export gathered while writing (per example: side, day, input length, output
shape and label, tokens, format problems) in, a list of :class:`Check` out. The checks are those
of the fine-tuning literature the issue names: enough examples, few duplicates, one output format,
balanced labels, splits that look like the month, no leakage, OpenAI's training-file checks
(cookbook ``Chat_finetuning_data_prep``) and the training bill, which is the report's own figure.
"""

from __future__ import annotations

import json
from collections import Counter as Tally
from dataclasses import asdict, dataclass

import numpy as np

PASS, WARN, FAIL, INFO = "pass", "warn", "fail", "info"

#: Examples in the training split, and what each tier usually buys (OpenAI's fine-tuning guide sees
#: "clear improvements" from 50–100 examples; the decision rule wants 500 by default).
TIERS = ((100, "a pilot: enough to see whether the model learns the format"),
         (500, "a narrow task (a label, a fixed JSON) usually matches the prompted model"),
         (2000, "room for the rare classes and edge cases, and a steadier eval"))
MAX_DUPLICATE_SHARE = 0.05
MIN_FORMAT_SHARE = 0.95
MIN_RARE_LABEL_SHARE = 0.01
MAX_DRIFT = 0.1  # Kolmogorov–Smirnov distance for lengths, total variation distance for labels and days
MAX_LABELS = 50  # more distinct short answers than this is free text, not a label set
#: Tokens one training example may hold. The cookbook checks 16,385 (gpt-3.5-turbo); OpenAI's
#: guide gives 65,536 for the gpt-4o family. Other models get the cookbook's figure.
TRAINING_CONTEXT = {"gpt-4o": 65_536, "gpt-4o-mini": 65_536}
COOKBOOK_CONTEXT = 16_385
#: The cookbook's accepted keys and roles, with the tool-calling ones the current format adds.
KEYS = {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
ROLES = {"system", "user", "assistant", "function", "tool"}
#: What no log shows, said with every checklist.
CANNOT_SHOW = ("Logs cannot show whether the logged answers are right: every example teaches what production "
               "answered, mistakes included. Nor can they show inputs production never saw (edge cases, new "
               "classes). Read the review sample (review.csv) and mark each answer before training.")


@dataclass(frozen=True)
class Check:
    """One line of the checklist: what was measured, the threshold it is held to, and the verdict."""

    name: str
    measured: str
    threshold: str
    verdict: str
    note: str = ""

    def as_dict(self) -> dict:
        """The manifest's entry."""
        return asdict(self)


def shape_of(answer: dict) -> tuple[str, str | None]:
    """The shape of one answer (``label``, ``json:KEYS``, ``tool_call:NAMES``, ``text``) and its label, if one."""
    if answer.get("tool_calls"):
        names = sorted(str((c.get("function") or {}).get("name")) for c in answer["tool_calls"])
        return "tool_call:" + ",".join(names), None
    content = answer.get("content")
    text = content.strip() if isinstance(content, str) else ""
    if text[:1] in ("{", "["):
        try:
            value = json.loads(text)
        except ValueError:
            return "text", None
        return ("json:" + ",".join(sorted(value)) if isinstance(value, dict) else "json:array"), None
    if text and "\n" not in text and len(text) <= 40 and len(text.split()) <= 4:
        return "label", text
    return "text", None


def format_problems(example: dict) -> list[str]:
    """The cookbook's format errors of one example (empty when it is well formed)."""
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["missing_messages_list"]
    problems = []
    for m in messages:
        if "role" not in m or ("content" not in m and not m.get("tool_calls")):
            problems.append("message_missing_key")
        if set(m) - KEYS:
            problems.append("message_unrecognized_key")
        if m.get("role") not in ROLES:
            problems.append("unrecognized_role")
        content = m.get("content")
        if (content is None or not isinstance(content, str)) and not m.get("tool_calls") and not m.get("function_call"):
            problems.append("missing_content")
    if not any(m.get("role") == "assistant" for m in messages):
        problems.append("example_missing_assistant_message")
    return problems


def context_limit(model: str) -> tuple[int, str]:
    """The training tokens one example may hold on ``model``, and where the figure comes from."""
    for name in sorted(TRAINING_CONTEXT, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return TRAINING_CONTEXT[name], f"{name}'s training context"
    return COOKBOOK_CONTEXT, "the cookbook's limit"


def ks_distance(a, b) -> float:
    """The Kolmogorov–Smirnov distance between two samples (0: the same distribution)."""
    a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    if not a.size or not b.size:
        return 0.0
    points = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, points, side="right") / a.size
                               - np.searchsorted(b, points, side="right") / b.size)))


def tv_distance(a: dict, b: dict) -> float:
    """The total variation distance between two tallies taken as shares (0: the same shares)."""
    ta, tb = sum(a.values()) or 1, sum(b.values()) or 1
    return 0.5 * sum(abs(a.get(k, 0) / ta - b.get(k, 0) / tb) for k in set(a) | set(b))


def _verdict(ok: bool, warn_only: bool = False) -> str:
    return PASS if ok else (WARN if warn_only else FAIL)


def examples_check(train: int) -> Check:
    """Training examples against the 100 / 500 / 2,000 tiers."""
    reached = [t for t in TIERS if train >= t[0]]
    if not reached:
        return Check("examples", f"{train:,} train", "100 / 500 / 2,000", FAIL,
                     "below the smallest tier: label or collect more before training")
    tier, buys = reached[-1]
    nxt = next((t for t in TIERS if train < t[0]), None)
    more = f"; {nxt[0]:,}: {nxt[1]}" if nxt else ""
    return Check("examples", f"{train:,} train", "100 / 500 / 2,000", PASS if tier >= 500 else WARN,
                 f"{tier:,}: {buys}{more}")


def duplicate_checks(candidates: int, exact_dropped: int, exported: int, near: int) -> list[Check]:
    """Exact duplicates the export left out, and near-duplicates it kept together on one side."""
    exact = exact_dropped / (candidates + exact_dropped) if candidates + exact_dropped else 0.0
    share = near / exported if exported else 0.0
    limit = f"≤ {MAX_DUPLICATE_SHARE:.0%}"
    return [Check("duplicates", f"{exact:.1%} ({exact_dropped:,})", limit, _verdict(exact <= MAX_DUPLICATE_SHARE),
                  "same input and output as an earlier request: left out"),
            Check("near-duplicates", f"{share:.1%} ({near:,})", limit, _verdict(share <= MAX_DUPLICATE_SHARE),
                  "same normalised input, or MinHash Jaccard ≥ 0.8 on word 3-grams: kept, on one side")]


def label_set(labels: Tally) -> set[str]:
    """The labels of a small set: each seen at least twice, at most :data:`MAX_LABELS` of them (else none)."""
    kept = {k for k, n in labels.items() if n >= 2}
    return kept if 0 < len(kept) <= MAX_LABELS else set()


def format_check(shapes: Tally, labels: Tally) -> Check:
    """The share of answers in the template's dominant shape (for labels: a label of the small set)."""
    total = sum(shapes.values())
    if not total:
        return Check("output format", "no answers", f"≥ {MIN_FORMAT_SHARE:.0%}", FAIL)
    shape, n = max(shapes.items(), key=lambda kv: (kv[1], kv[0]))
    if shape == "text":
        return Check("output format", f"{n / total:.0%} free text", "n/a for free text", INFO,
                     "free text has no shape to hold it to")
    if shape == "label":
        known = label_set(labels)
        n = sum(labels[k] for k in known)
        what = f"a label of {len(known)}"
    else:
        what = shape.replace("json:", "JSON keys ").replace("tool_call:", "tool call ")
    share = n / total
    return Check("output format", f"{share:.1%}", f"≥ {MIN_FORMAT_SHARE:.0%}", _verdict(share >= MIN_FORMAT_SHARE),
                 f"dominant shape: {what}")


def label_check(train_labels: Tally, dominant_is_label: bool) -> Check:
    """Classes of a label-like template and the rarest one's share of the training split."""
    known = label_set(train_labels) if dominant_is_label else set()
    if not known:
        return Check("labels", "not label-like", "n/a", INFO)
    total = sum(train_labels[k] for k in known)
    rare, n = min(((k, train_labels[k]) for k in known), key=lambda kv: (kv[1], kv[0]))
    share = n / total
    return Check("labels", f"{len(known)} classes, rarest {share:.1%}", f"rarest ≥ {MIN_RARE_LABEL_SHARE:.0%}",
                 _verdict(share >= MIN_RARE_LABEL_SHARE, warn_only=True), f"rarest: {rare!r} ({n:,} in train)")


def drift_checks(lengths: dict, labels: dict[str, Tally], days: dict[str, Tally],
                 label_like: bool) -> list[Check]:
    """Train and eval set against the month: input lengths (KS), labels and days (total variation)."""
    limit = f"≤ {MAX_DRIFT:g}"
    out = []
    ks = {s: ks_distance(lengths[s], lengths["month"]) for s in ("train", "eval")}
    out.append(Check("lengths match", f"KS {ks['train']:.3f} / {ks['eval']:.3f}", limit,
                     _verdict(max(ks.values()) <= MAX_DRIFT, warn_only=True), "input tokens, train / eval vs month"))
    if label_like:
        tv = {s: tv_distance(labels[s], labels["month"]) for s in ("train", "eval")}
        out.append(Check("labels match", f"TV {tv['train']:.3f} / {tv['eval']:.3f}", limit,
                         _verdict(max(tv.values()) <= MAX_DRIFT, warn_only=True), "train / eval vs month"))
    tv = {s: tv_distance(days[s], days["month"]) for s in ("train", "eval")}
    weekend = {s: _weekend_share(days[s]) for s in ("train", "eval", "month")}
    out.append(Check("days match", f"TV {tv['train']:.3f} / {tv['eval']:.3f}", limit,
                     _verdict(max(tv.values()) <= MAX_DRIFT, warn_only=True),
                     f"vs production; weekend {weekend['train']:.0%} / {weekend['eval']:.0%} / {weekend['month']:.0%}"))
    return out


def _weekend_share(days: Tally) -> float:
    from datetime import date

    total = sum(days.values())
    return sum(n for d, n in days.items() if date.fromisoformat(d).weekday() >= 5) / total if total else 0.0


def leakage_check(leaks: int) -> Check:
    """Eval examples whose input, or a near-duplicate of it, is also in train."""
    return Check("leakage", f"{leaks:,} eval examples", "= 0", _verdict(leaks == 0),
                 "exact or near-duplicate input in train, recomputed after the split")


def cookbook_checks(problems: Tally, no_system: int, no_user: int, over: int, limit: int, limit_source: str,
                    examples: int) -> list[Check]:
    """OpenAI's training-file checks: format errors, missing system/user turns, examples over the context."""
    listed = ", ".join(f"{k} {n:,}" for k, n in sorted(problems.items())) or "none"
    return [Check("file format", listed if problems else "0 errors", "= 0", _verdict(not problems),
                  "cookbook checks: roles, keys, missing content, assistant turn"),
            Check("system, user", f"{no_system:,} / {no_user:,} missing", "info", INFO,
                  f"of {examples:,} examples"),
            Check("over context", f"{over:,} examples", f"0 over {limit:,}", _verdict(over == 0),
                  f"{limit_source}; longer examples are truncated")]


def cost_checks(report_cost: float | None, report_inputs: str, file_tokens: int, epochs: float,
                price: float | None) -> list[Check]:
    """The report's training figure (the same arithmetic, :func:`analyzer.options.training_cost`) and what training
    on this train file would bill."""
    if report_cost is None:
        first = Check("training cost", "no report figure", "= the report's", WARN, report_inputs)
    else:
        first = Check("training cost", f"${report_cost:,.2f}", "= the report's", PASS, report_inputs)
    if price is None:
        return [first, Check("this file's bill", f"{file_tokens:,} tokens", "info", INFO, "no training price")]
    bill = file_tokens * epochs * price / 1e6
    return [first, Check("this file's bill", f"${bill:,.2f}", "info", INFO,
                         f"{file_tokens:,} train tokens × {epochs:g} epochs × ${price:g}/1M")]


__all__ = ["CANNOT_SHOW", "FAIL", "INFO", "PASS", "TIERS", "WARN", "Check", "context_limit", "cookbook_checks",
           "cost_checks", "drift_checks", "duplicate_checks", "examples_check", "format_check", "format_problems",
           "ks_distance", "label_check", "label_set", "leakage_check", "shape_of", "tv_distance"]
