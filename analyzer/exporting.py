"""Export one template's logged traffic as a fine-tuning set: ``train.jsonl``, ``eval.jsonl``, ``manifest.json``.

The database keeps where each request came from, not its text, so the chosen requests are read
again from their log files, file by file, through the same reader and parser registry ingest uses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path

from . import parsers, reading
from .errors import OutputExists, TemplateNotFound
from .examples import without_examples
from .models import BatchPart, Request
from .segmenting import SYSTEM_ROLES
from .sources import as_path

DEFAULT_SEED = 14
DEFAULT_EVAL_SHARE = 0.2


@dataclass
class ExportResult:
    """What an export wrote, and what it skipped and why."""

    out_dir: Path
    manifest: dict
    warnings: list[str] = field(default_factory=list)


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


def split_of(input_hash: str, seed: int, eval_share: float) -> str:
    """``eval`` or ``train``, from a stable hash of the input and the seed: one input, one side."""
    point = int(hashlib.sha256(f"{seed}:{input_hash}".encode()).hexdigest()[:15], 16) / 16**15
    return "eval" if point < eval_share else "train"


def sample_key(request_id: str, seed: int) -> str:
    """The order a deterministic sample is drawn in: a seeded hash, uniform over the month's requests."""
    return hashlib.sha256(f"{seed}:sample:{request_id}".encode()).hexdigest()


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


def requests_of_file(path: Path, wanted: dict[int, str]) -> dict[int, Request | str]:
    """The requests at the ``wanted`` lines of one file (line → request id), parsed as ingest does;
    a line that no longer parses to its request maps to the reason."""
    found: dict[int, Request | str] = {}
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
        if any(isinstance(p, BatchPart) for p in parsed):
            found[item.line] = "batch request (its halves are in two files: not exported yet)"
            continue
        parsed = [r for r in parsed if isinstance(r, Request)]
        match = [r for r in parsed if r.request_id == wanted[item.line]] or (parsed if len(parsed) == 1 else [])
        found[item.line] = match[0] if match else "the line no longer parses to its request"
    return found


def write(out: Path, rows: list[dict], sizes: dict[str, int], meta: dict, seed: int, eval_share: float,
          max_examples: int | None, dropped: int = 0) -> ExportResult:
    """Re-read the chosen rows' lines file by file, write both splits and the manifest."""
    warnings: list[str] = []
    candidates = len(rows)
    skipped: dict[str, int] = {}
    if max_examples is not None and len(rows) > max_examples:
        chosen = {r["request_id"] for r in sorted(rows, key=lambda r: sample_key(r["request_id"], seed))[:max_examples]}
        skipped["over --max-examples"] = len(rows) - len(chosen)
        rows = [r for r in rows if r["request_id"] in chosen]
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["file"], []).append(r)
    out.mkdir(parents=True, exist_ok=True)
    sources = {"train": [], "eval": []}
    written = {"train": 0, "eval": 0}
    train_path, eval_path = out / "train.jsonl", out / "eval.jsonl"
    with open(train_path, "w", encoding="utf-8") as train, open(eval_path, "w", encoding="utf-8") as ev:
        handles = {"train": train, "eval": ev}
        for name in sorted(by_file):
            path, file_rows = as_path(name), by_file[name]
            if not path.is_file():
                warnings.append(f"{name}: gone since ingest; its {len(file_rows)} examples are skipped")
                skipped["source file gone"] = skipped.get("source file gone", 0) + len(file_rows)
                continue
            if sizes.get(name) is not None and path.stat().st_size != sizes[name]:
                warnings.append(f"{name}: changed since ingest (size); its {len(file_rows)} examples are skipped")
                skipped["source file changed"] = skipped.get("source file changed", 0) + len(file_rows)
                continue
            found = requests_of_file(path, {r["line"]: r["request_id"] for r in file_rows})
            for r in file_rows:
                request = found.get(r["line"], "the line is gone")
                if not isinstance(request, Request):
                    skipped[request] = skipped.get(request, 0) + 1
                    continue
                side = split_of(r["input_hash"], seed, eval_share)
                handles[side].write(json.dumps(example_of(request), ensure_ascii=False, sort_keys=True) + "\n")
                written[side] += 1
                sources[side].append({"file": name, "line": r["line"], "request_id": r["request_id"],
                                      "day": r["ts"].date().isoformat(), "version": r["version"],
                                      "tokens": {k: r[f"{k}_tokens"] for k in ("system", "tools", "input", "output")}})
    manifest = {**meta, "crossover_version": package_version("crossover-analyzer"), "seed": seed,
                "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "split": {"rule": f"sha256('{seed}:' + input_hash) / 16**15 of its first 15 hex digits < eval_share: "
                                  "eval, else train", "eval_share": eval_share},
                "sampling": ("all candidates" if max_examples is None else
                             f"the first {max_examples} by sha256('{seed}:sample:' + request_id): uniform over the "
                             "month, so each day keeps its share of production in expectation"),
                "counts": {"train": written["train"], "eval": written["eval"], "skipped": skipped},
                "tokens": {side: {k: sum(s["tokens"][k] for s in sources[side]) for k in
                                  ("system", "tools", "input", "output")} for side in sources},
                "examples": sources}
    manifest["counts"] = {"candidates": candidates, "duplicates_dropped": dropped, **manifest["counts"]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportResult(out, manifest, warnings)


__all__ = ["DEFAULT_EVAL_SHARE", "DEFAULT_SEED", "ExportResult", "check_out_dir", "example_of",
           "requests_of_file", "resolve", "split_of", "write"]
