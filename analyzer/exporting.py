"""Export one template's logged traffic as a fine-tuning set: ``train.jsonl``, ``eval.jsonl``, ``manifest.json``.

The database keeps where each request came from, not its text, so the chosen requests are read
again from their log files, file by file, through the same reader and parser registry ingest uses.
Near-duplicates are clustered (:mod:`.neardup`), examples chosen and split (:mod:`.sampling`) and the
data checklist measured (:mod:`.checklist`) from small arrays gathered on the way, so that a month
of a million requests is written without holding its examples in memory.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
import orjson
import polars as pl

from . import batches, checklist, neardup, parsers, reading, sampling
from .errors import OutputExists, TemplateNotFound
from .examples import without_examples
from .models import BatchPart, RawRecord, Request
from .segmenting import SYSTEM_ROLES
from .sources import as_path
from .tokenizing import Counter

DEFAULT_SEED = 14
DEFAULT_EVAL_SHARE = 0.2
REVIEW_SIZE = 20
REVIEW_COLUMNS = ("split", "file", "line", "request_id", "day", "input", "answer", "correct", "note")


@dataclass
class ExportResult:
    """What an export wrote, what it skipped and why, and its checklist."""

    out_dir: Path
    summary: dict  # the manifest without its per-example sources (which can be millions of lines)
    warnings: list[str] = field(default_factory=list)
    checks: list[checklist.Check] = field(default_factory=list)

    @property
    def manifest(self) -> dict:
        """The whole manifest, read back from the file."""
        return json.loads((self.out_dir / "manifest.json").read_text(encoding="utf-8"))


def resolve(name: str, templates: dict[str, str]) -> str:
    """The template id that ``name`` is: an id, the unique prefix of one, or a label."""
    if name in templates:
        return name
    found = sorted({t for t, label in templates.items() if t.startswith(name) or label == name})
    if len(found) == 1:
        return found[0]
    if not found:
        raise TemplateNotFound(f"no template is {name!r} (an id, its prefix or its label; see `crossover templates`)")
    raise TemplateNotFound(f"{name!r} is ambiguous: " + ", ".join(f"{t} ({templates[t]})" for t in found))


def check_out_dir(out: Path) -> None:
    """Refuse a path that is a file or a directory holding anything."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExists(f"{out}: exists and is not an empty directory; choose another --out")


def example_of(request: Request) -> dict:
    """The chat fine-tuning example of one request: system without its examples, the live turn, the answer."""
    system = [m for m in request.messages if m.get("role") in SYSTEM_ROLES]
    rest = [m for m in request.messages if m.get("role") not in SYSTEM_ROLES
            and not str(m.get("name") or "").startswith("example_")]
    # The live turn is what follows the last assistant turn: earlier turns are few-shot or history.
    last = max((i for i, m in enumerate(rest) if m.get("role") == "assistant"), default=-1)
    messages = []
    texts = [m["content"] if isinstance(m.get("content"), str) else _text(m.get("content")) for m in system]
    kept = "\n\n".join(t for t in (without_examples(t).strip() for t in texts) if t)
    if kept:
        messages.append({"role": "system", "content": kept})
    messages.extend(_clean(m) for m in rest[last + 1:])
    answer = {"role": "assistant"}
    output = request.output or {}
    if output.get("content") not in (None, ""):
        answer["content"] = output["content"] if isinstance(output["content"], str) else _text(output["content"])
    if output.get("tool_calls"):
        answer["tool_calls"] = output["tool_calls"]
    messages.append(answer)
    example = {"messages": messages}
    if request.tools:
        example["tools"] = request.tools
    return example


def _text(content: object) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _clean(message: dict) -> dict:
    return {k: v for k, v in message.items() if k in ("role", "content", "name", "tool_calls", "tool_call_id")}


#: The other halves of a file's batch lines: line → (half, file, line, data, file time) of each.
Partners = dict[int, list[tuple]]


def iter_requests_of_file(path: Path, wanted: dict[int, str], partners: Partners | None = None):
    """``(line, request)`` for the ``wanted`` lines of one file (line → request id), parsed as ingest does,
    one at a time; a line that no longer parses to its request comes with the reason instead.

    A batch line is half a request: joined with the other half ingest joined it to (``partners``,
    from ``batch_parts``) and read as ingest read the pair. A half that was never joined is not a
    request and is never asked for; one whose other half is not found says so.
    """
    ctx = parsers.context()
    owner = parsers.owner(path)
    items = owner.files.read(path, reading.Position()) if owner else reading.read_file(path)
    for item in items:
        if isinstance(item, reading.Reject) or item.line not in wanted:
            continue
        try:
            fmt = parsers.detect(item.data, ctx)
            parsed = list(fmt.parse(item, ctx)) if fmt else []
        except Exception:  # noqa: BLE001 - one unreadable line is skipped and counted, as ingest would
            parsed = []
        halves = [p for p in parsed if isinstance(p, BatchPart)]
        if halves:
            # Only the pair that builds the stored request again: custom_ids recur across batches.
            parsed = [r for r in _joined(halves[0], item, (partners or {}).get(item.line, []), ctx)
                      if r.request_id == wanted[item.line]]
            if not parsed:
                yield item.line, "batch line whose other half is no longer joined to it"
                continue
        parsed = [r for r in parsed if isinstance(r, Request)]
        match = [r for r in parsed if r.request_id == wanted[item.line]] or (parsed if len(parsed) == 1 else [])
        yield item.line, (match[0] if match else "the line no longer parses to its request")


def _joined(half: BatchPart, item, others: list[tuple], ctx) -> list[Request]:
    """The requests a batch line makes with each other half it may have been joined to."""
    found = []
    for other_half, other_file, other_line, data, file_time in others:
        mine = (item.path, item.line, half.data)
        theirs = (other_file, other_line, json.loads(data))
        (q_file, q_line, q_data), (r_file, r_line, r_data) = (mine, theirs) if other_half == "result" \
            else (theirs, mine)
        pair = batches.Pair(half.provider, q_file, q_line, q_data, True, r_file, r_line, r_data, True, file_time)
        try:
            format_name, record, _ = batches.combine(pair)
            found += [r for r in parsers.get(format_name).parse(RawRecord(item.path, item.line, record), ctx)
                      if isinstance(r, Request)]
        except Exception:  # noqa: BLE001 - as ingest: a pair that does not make a request is no example
            continue
    return found


def requests_of_file(path: Path, wanted: dict[int, str]) -> dict[int, Request | str]:
    """:func:`iter_requests_of_file` gathered into a dict (for a few lines; exports stream)."""
    return dict(iter_requests_of_file(path, wanted))


def live_text(example: dict) -> str:
    """The text an example's input is compared by: every turn but the system prompt and the answer."""
    return "\n".join(_text(m.get("content")) if not isinstance(m.get("content"), str) else m["content"]
                     for m in example["messages"][:-1] if m.get("role") != "system")


@dataclass(frozen=True)
class Costing:
    """The report's training figure for the template, and what it is made of."""

    training_cost: float | None
    inputs: str
    epochs: float
    price: float | None


class _Gathered:
    """What the pass over the log files keeps per written example: small arrays, never the text."""

    def __init__(self, n: int):
        self.signatures = np.empty((n, neardup.PERMUTATIONS), dtype=np.uint16)
        self.row = np.empty(n, dtype=np.int64)
        self.normal = np.empty(n, dtype=np.uint64)
        self.tokens = np.zeros(n, dtype=np.int64)
        self.labels: list[str | None] = []
        self._label_of: dict[str, str] = {}  # one string object per distinct label, not one per example
        self.shapes: Tally = Tally()
        self.problems: Tally = Tally()
        self.no_system = self.no_user = 0
        self.k = 0

    def add(self, i: int, example: dict, tokens: int) -> None:
        """Keep what the checklist and the split need of the example from row ``i``."""
        words = neardup.normalise(live_text(example))
        self.signatures[self.k] = neardup.signature(neardup.shingle_hashes(words))
        self.normal[self.k] = int.from_bytes(hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest())
        self.row[self.k], self.tokens[self.k] = i, tokens
        shape, label = checklist.shape_of(example["messages"][-1])
        self.shapes[shape] += 1
        self.labels.append(self._label_of.setdefault(label, label) if label is not None else None)
        self.problems.update(set(checklist.format_problems(example)))
        roles = {m.get("role") for m in example["messages"]}
        self.no_system += "system" not in roles
        self.no_user += "user" not in roles
        self.k += 1

    def trim(self) -> None:
        """Drop the rows reserved for examples that were skipped."""
        self.signatures, self.row = self.signatures[:self.k], self.row[:self.k]
        self.normal, self.tokens = self.normal[:self.k], self.tokens[:self.k]


#: Distinct kept system prompts whose counts are remembered. Not the counter's own cache: that keeps
#: 200,000 texts, and a template whose system prompt carries the day or an id has a distinct one per
#: request (kilobytes each), which at half a million examples held hundreds of megabytes.
SYSTEM_CACHE = 4096


def _system_counter(counter: Counter):
    """The tokens of one kept system message, by its text, remembered for the :data:`SYSTEM_CACHE` latest."""
    @functools.lru_cache(maxsize=SYSTEM_CACHE)
    def count(text: str) -> int:
        return counter.message({"role": "system", "content": text})
    return count


def _tokens(counter: Counter, system_tokens, example: dict, row: dict) -> int:
    """Training tokens of one example: the kept system prompt counted (once per distinct text), the rest as
    the month counted it (the live turn with its reply priming, tools, the answer) plus the answer's overhead."""
    system = sum(system_tokens(m["content"]) for m in example["messages"] if m.get("role") == "system")
    return system + row["input_tokens"] + row["tools_tokens"] + row["output_tokens"] + counter.rules.per_message


def _answer(request: Request) -> dict:
    output = request.output or {}
    content = output.get("content")
    return {"content": content if isinstance(content, str) else _text(content), "tool_calls": output.get("tool_calls")}


def _union_equal(clusters: neardup.Clusters, keys: np.ndarray) -> None:
    order = np.argsort(keys, kind="stable")
    same = keys[order][1:] == keys[order][:-1]
    for a, b in zip(order[:-1][same].tolist(), order[1:][same].tolist(), strict=True):
        clusters.union(a, b)


def _clusters(g: _Gathered, input_keys: np.ndarray) -> np.ndarray:
    clusters = neardup.Clusters(g.k)
    _union_equal(clusters, input_keys)  # the same input
    _union_equal(clusters, g.normal)  # the same normalised text
    for pairs in neardup.candidate_pairs(g.signatures):
        for a, b in pairs.tolist():
            clusters.union(a, b)
    return clusters.roots()


def _leaks(g: _Gathered, input_keys: np.ndarray, is_eval: np.ndarray) -> int:
    """Eval examples with an exact or near-duplicate input in train, found again from scratch."""
    train = ~is_eval
    leaked = is_eval & (np.isin(input_keys, input_keys[train]) | np.isin(g.normal, g.normal[train]))
    for pairs in neardup.candidate_pairs(g.signatures):
        across = is_eval[pairs[:, 0]] != is_eval[pairs[:, 1]]
        leaked[pairs[across].ravel()[is_eval[pairs[across].ravel()]]] = True
    return int(leaked.sum())


def _review_picks(g: _Gathered, order_points: np.ndarray) -> set[int]:
    """A few examples for a person to read: one of each label (rarest first), then by seeded hash."""
    order = np.argsort(order_points, kind="stable").tolist()
    tally = Tally(lb for lb in g.labels if lb)
    picks: set[int] = set()
    for label in sorted(tally, key=lambda lb: (tally[lb], lb))[:REVIEW_SIZE]:
        picks.add(next(j for j in order if g.labels[j] == label))
    for j in order:
        if len(picks) >= REVIEW_SIZE:
            break
        picks.add(j)
    return picks


def _strings(column: pl.Series, at: np.ndarray, chunk: int = 50_000):
    """The strings of ``column`` at rows ``at``, a chunk at a time (never all of them as Python objects)."""
    for s in range(0, len(at), chunk):
        yield from column.gather(at[s:s + chunk]).to_list()


def _dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _files(rows: pl.DataFrame):
    """``(file, first row, rows)`` for each run of one file's rows (they come ordered by file and line)."""
    runs = rows.select(pl.col("file").rle()).unnest("file")
    start = 0
    for length, name in zip(runs["len"].to_list(), runs["value"].to_list(), strict=True):
        yield name, start, length
        start += length


def write(out: Path, rows: pl.DataFrame, sizes: dict[str, int], meta: dict, seed: int, eval_share: float,
          max_examples: int | None, dropped: int, production: dict[str, float], model: str,
          costing: Costing, partners: Callable[[str], Partners] | None = None) -> ExportResult:
    """Choose, re-read file by file, cluster, split, write both splits, the review sample and the manifest.

    Streams: examples go to a spool file as they are read, and only small per-example arrays stay in
    memory until the split is known, so memory grows by a few hundred bytes an example.
    ``partners(file)`` gives the other halves of a file's batch lines (rows with ``batch`` set).
    """
    warnings: list[str] = []
    skipped: Tally = Tally()
    day_codes = rows["ts"].dt.date().cast(pl.Int32).to_numpy()
    day_of = {int(c): (date(1970, 1, 1) + timedelta(days=int(c))).isoformat() for c in np.unique(day_codes)}
    input_keys = rows["input_hash"].str.slice(0, 15).str.to_integer(base=16).to_numpy()
    # Each row's split point now, so that the input hashes (64 characters a row) need not stay for the split.
    split_points = sampling.points(_strings(rows["input_hash"], np.arange(rows.height)), seed)
    rows = rows.drop("input_hash", "output_kind")
    chosen = np.ones(rows.height, dtype=bool)
    if max_examples is not None and max_examples < rows.height:
        chosen = sampling.choose([day_of[int(c)] for c in day_codes], rows["request_id"].to_list(), max_examples,
                                 production, seed)
        skipped["over --max-examples"] = int((~chosen).sum())
    g = _Gathered(int(chosen.sum()))
    month_labels: Tally = Tally()
    counter = Counter(model)
    system_tokens = _system_counter(counter)
    out.mkdir(parents=True, exist_ok=True)
    spool_path, entries_path = out / ".examples.spool", out / ".sources.spool"
    with open(spool_path, "w", encoding="utf-8") as spool, open(entries_path, "w", encoding="utf-8") as entries:
        for name, start, length in _files(rows):
            path = as_path(name)
            lost = int(chosen[start:start + length].sum())
            if not path.is_file():
                warnings.append(f"{name}: gone since ingest; its {lost} examples are skipped")
                skipped["source file gone"] += lost
                continue
            if sizes.get(name) is not None and path.stat().st_size != sizes[name]:
                warnings.append(f"{name}: changed since ingest (size); its {lost} examples are skipped")
                skipped["source file changed"] += lost
                continue
            part = rows.slice(start, length).to_dicts()
            at_line = {r["line"]: start + n for n, r in enumerate(part)}
            seen = set()
            halves = partners(name) if partners is not None and any(r.get("batch") for r in part) else None
            for line, request in iter_requests_of_file(path, {r["line"]: r["request_id"] for r in part}, halves):
                i = at_line[line]
                seen.add(i)
                if not isinstance(request, Request):
                    skipped[request] += int(chosen[i])
                    continue
                month_labels[checklist.shape_of(_answer(request))[1]] += 1
                if not chosen[i]:
                    continue
                row = part[i - start]
                example = example_of(request)
                tokens = _tokens(counter, system_tokens, example, row)
                spool.write(_dumps(example) + "\n")
                entries.write(_dumps(_source(row, day_of[int(day_codes[i])], tokens)) + "\n")
                g.add(i, example, tokens)
            skipped["the line is gone"] += sum(int(chosen[i]) for i in range(start, start + length) if i not in seen)
            del part, at_line, seen
    g.trim()
    neardup.forget_words()  # its cache of word hashes is of no use past the pass, and tens of megabytes
    del system_tokens
    skipped = Tally({k: n for k, n in skipped.items() if n})
    month_labels.pop(None, None)
    ex_keys = input_keys[g.row]
    roots = _clusters(g, ex_keys)
    unique_roots = np.unique(roots)
    ex_days = day_codes[g.row]
    is_eval = sampling.split(roots, ex_days, split_points[g.row[unique_roots]],
                             eval_share)
    review = _review_picks(g, sampling.points(_strings(rows["request_id"], g.row), seed, "review:"))
    written = {"train": int((~is_eval).sum()), "eval": int(is_eval.sum())}
    _write_splits(out, spool_path, entries_path, is_eval, roots, review)
    days = {"train": Tally(day_of[c] for c in ex_days[~is_eval].tolist()),
            "eval": Tally(day_of[c] for c in ex_days[is_eval].tolist()), "month": Tally(production)}
    checks = _checks(g, rows, is_eval, len(unique_roots), ex_keys, days, month_labels, dropped, costing, model)
    header = {**meta, "crossover_version": package_version("crossover-analyzer"), "seed": seed,
              "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "split": {"rule": f"near-duplicate clusters (the same input_hash, the same normalised input, or "
                                f"MinHash Jaccard >= {neardup.THRESHOLD} on word {neardup.SHINGLE_WORDS}-grams) go "
                                "to one side whole; day by day, clusters in the order of sha256('"
                                f"{seed}:' + the input_hash of the cluster's first example) go to eval until the "
                                "day holds eval_share of its examples",
                        "eval_share": eval_share, "stratified_by": "day",
                        "near_duplicates": {"shingle_words": neardup.SHINGLE_WORDS,
                                            "permutations": neardup.PERMUTATIONS, "bands": neardup.BANDS,
                                            "threshold": neardup.THRESHOLD}},
              "sampling": ("all candidates" if max_examples is None else
                           f"at most {max_examples}, shared over days in proportion to production (requests with "
                           f"sample rates undone), each day's first by sha256('{seed}:sample:' + request_id)"),
              "counts": {"candidates": rows.height, "duplicates_dropped": dropped, **written,
                         "skipped": dict(skipped), "near_duplicates": g.k - len(unique_roots)},
              "tokens": {side: {k: int(rows[f"{k}_tokens"].gather(g.row[mask]).sum())
                                for k in ("system", "tools", "input", "output")}
                         for side, mask in (("train", ~is_eval), ("eval", is_eval))},
              "checklist": [c.as_dict() for c in checks],
              "cannot_show": checklist.CANNOT_SHOW,
              "review_sample": {"file": "review.csv", "examples": len(review)}}
    _write_manifest(out, header, is_eval)
    return ExportResult(out, header, warnings, checks)


def _source(r: dict, day: str, tokens: int) -> dict:
    return {"file": r["file"], "line": r["line"], "request_id": r["request_id"], "day": day, "version": r["version"],
            "tokens": {k: r[f"{k}_tokens"] for k in ("system", "tools", "input", "output")},
            "example_tokens": tokens}


def _write_splits(out: Path, spool_path: Path, entries_path: Path, is_eval: np.ndarray, roots: np.ndarray,
                  review: set[int]) -> None:
    """Copy each spooled example to its side, its source to that side's list, and the picks to review.csv."""
    sides = ("train", "eval")
    with (open(spool_path, encoding="utf-8") as spool, open(entries_path, encoding="utf-8") as entries,
          open(out / "train.jsonl", "w", encoding="utf-8") as train,
          open(out / "eval.jsonl", "w", encoding="utf-8") as ev,
          open(out / ".train.sources", "w", encoding="utf-8") as train_src,
          open(out / ".eval.sources", "w", encoding="utf-8") as eval_src,
          open(out / "review.csv", "w", encoding="utf-8", newline="") as review_file):
        handles, sources = {"train": train, "eval": ev}, {"train": train_src, "eval": eval_src}
        sheet = csv.writer(review_file)
        sheet.writerow(REVIEW_COLUMNS)
        for j, (line, entry) in enumerate(zip(spool, entries, strict=True)):
            side = sides[int(is_eval[j])]
            handles[side].write(line)
            source = orjson.loads(entry)
            source["cluster"] = int(roots[j])
            sources[side].write(_dumps(source) + "\n")
            if j in review:
                example = orjson.loads(line)
                answer = example["messages"][-1]
                sheet.writerow([side, source["file"], source["line"], source["request_id"], source["day"],
                                live_text(example), answer.get("content") or _dumps(answer.get("tool_calls")),
                                "", ""])
    spool_path.unlink()
    entries_path.unlink()


def _write_manifest(out: Path, header: dict, is_eval: np.ndarray) -> None:
    """The manifest: the header, then every example's source, streamed from the side lists (one a line)."""
    with open(out / "manifest.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(header, indent=2, ensure_ascii=False)[:-2] + ',\n  "examples": {')
        for n, side in enumerate(("train", "eval")):
            path = out / f".{side}.sources"
            f.write(("," if n else "") + f'\n    "{side}": [')
            with open(path, encoding="utf-8") as src:
                for k, line in enumerate(src):
                    f.write(("," if k else "") + "\n      " + line.rstrip("\n"))
            f.write("\n    ]")
            path.unlink()
        f.write("\n  }\n}\n")


def _checks(g: _Gathered, rows: pl.DataFrame, is_eval: np.ndarray, clusters: int, input_keys: np.ndarray,
            days: dict[str, Tally], month_labels: Tally, dropped: int, costing: Costing,
            model: str) -> list[checklist.Check]:
    """Every check of the checklist, from what the pass gathered."""
    train = ~is_eval
    sides = is_eval.tolist()
    labels = {"train": Tally(lb for lb, e in zip(g.labels, sides, strict=True) if lb and not e),
              "eval": Tally(lb for lb, e in zip(g.labels, sides, strict=True) if lb and e),
              "month": month_labels}
    dominant = max(g.shapes.items(), key=lambda kv: (kv[1], kv[0]))[0] if g.shapes else "text"
    label_like = dominant == "label" and bool(checklist.label_set(labels["train"] + labels["eval"]))
    inputs = rows["input_tokens"].to_numpy()
    lengths = {"train": inputs[g.row[train]], "eval": inputs[g.row[is_eval]], "month": inputs}
    limit, limit_source = checklist.context_limit(model)
    over = int((g.tokens > limit).sum())
    file_tokens = int(np.minimum(g.tokens[train], limit).sum())
    return [checklist.examples_check(int(train.sum())),
            *checklist.duplicate_checks(rows.height, dropped, g.k, g.k - clusters),
            checklist.format_check(g.shapes, labels["train"] + labels["eval"]),
            checklist.label_check(labels["train"], label_like),
            *checklist.drift_checks(lengths, labels, days, label_like),
            checklist.leakage_check(_leaks(g, input_keys, is_eval)),
            *checklist.cookbook_checks(g.problems, g.no_system, g.no_user, over, limit, limit_source, g.k),
            *checklist.cost_checks(costing.training_cost, costing.inputs, file_tokens, costing.epochs, costing.price)]


__all__ = ["DEFAULT_EVAL_SHARE", "DEFAULT_SEED", "Costing", "ExportResult", "check_out_dir", "example_of",
           "iter_requests_of_file", "live_text", "requests_of_file", "resolve", "write"]
