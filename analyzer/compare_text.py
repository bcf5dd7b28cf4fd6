"""What ``crossover compare`` measured, as text: matching, agreement by kind, the confusion table, the cost.

Read from a comparison's dict (``Comparison.as_dict()`` or the report's ``evaluation``), so the
command and the report say the same thing in the same words.
"""

from __future__ import annotations

from typing import Any

from . import display

KIND_WORDS = {"label": "labels", "json": "JSON answers", "tool_call": "tool calls", "text": "free-text answers"}


def matching(c: dict[str, Any]) -> str:
    """How the calls met the eval examples, every call and every example accounted for."""
    n = display.count
    return (f"{n(c['calls'])} calls read = {n(c['matched'])} matched + {n(c['unmatched_calls'])} matching no eval "
            f"example + {n(c['repeated_calls'])} repeating one + {n(c['failed_calls'])} failed; "
            f"{n(c['missing_examples'])} of {n(c['eval_examples'])} eval examples had no answer")


def kind_lines(kind: str, k: dict[str, Any]) -> list[str]:
    """One kind's agreement, then its detail (fields, lengths), without the confusion table."""
    head = f"{KIND_WORDS.get(kind, kind)}, {display.count(k['examples'])} examples: "
    if kind == "text":
        ratio = k.get("median_length_ratio")
        words, production = display.count(k["median_candidate_words"]), display.count(k["median_production_words"])
        return [head + f"word-overlap F1 {k['agreement']:.1%}; median length {words} words against {production} in "
                "production" + (f" (×{ratio:.2f})" if ratio is not None else "") + ". Weak evidence: " + k["note"]]
    out = [head + f"{k['agree']:,} agree ({k['agreement']:.1%}, {k['measure']})"]
    if "field_agreement" in k:
        out[0] += f"; {k['field_agreement']:.1%} of fields match"
        worst = sorted(k["fields"].items(), key=lambda f: (f[1]["share"], f[0]))[:8]
        out += [f"  {name}: {f['match']:,} of {f['of']:,} match ({f['share']:.1%})" for name, f in worst]
    return out


def confusion_rows(k: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The confusion table: production labels down, the candidate's across, calls in the cells."""
    table = k.get("confusion") or {}
    rows = sorted(table, key=lambda r: (r == "(other)", -sum(table[r].values()), r))
    cols = list(rows)
    for r in rows:
        cols += [c for c in table[r] if c not in cols]
    cols.sort(key=lambda c: (c == "(other)", c not in rows, rows.index(c) if c in rows else 0, c))
    header = ["production \\ candidate", *cols]
    body = [[r, *(str(table[r].get(c, "")) for c in cols)] for r in rows]
    return header, body


def cost(c: dict[str, Any]) -> str:
    """The measured cost per request and where its prices came from."""
    if c.get("cost_per_request") is None:
        return "cost: no price for the candidate's model"
    return (f"cost: {display.usd(c['cost_per_request'], True)} per request, measured over "
            f"{display.count(c['priced_calls'])} matched calls ({'; '.join(c['price_sources'])})")


def lines(c: dict[str, Any]) -> list[str]:
    """The comparison as plain lines (the terminal output of ``crossover compare``)."""
    out = [f"{c['template_id']}  {c['label']}: {', '.join(c['models']) or 'no model'} on {c['eval_set']}",
           matching(c)]
    for kind, k in c["by_kind"].items():
        out += kind_lines(kind, k)
        if k.get("confusion"):
            header, body = confusion_rows(k)
            widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
            out += ["  " + "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in
                                     enumerate(zip(row, widths, strict=True))) for row in (header, *body)]
    out.append(cost(c))
    return out


def markdown(c: dict[str, Any], level: int = 1) -> list[str]:
    """The comparison as markdown lines; ``level`` is its heading's."""
    out = [f"{'#' * level} Compared: {', '.join(c['models']) or 'no model'} on `{c['template_id']}` {c['label']}", "",
           matching(c) + ".", ""]
    for kind, k in c["by_kind"].items():
        first, *rest = kind_lines(kind, k)
        out += [f"- {first}", *(f"  - {r.strip()}" for r in rest)]
        if k.get("confusion"):
            header, body = confusion_rows(k)
            out += ["", "| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
            out += ["| " + " | ".join(row) + " |" for row in body]
            out.append("")
    out += ["", cost(c) + ".", ""]
    return out
