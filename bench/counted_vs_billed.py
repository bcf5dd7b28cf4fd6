"""Counted vs billed prompt tokens per provider, on the recorded traffic of ../shared/corpus.

    python bench/counted_vs_billed.py [--corpus DIR] [--json] [--by-model]

Converts every pydantic-ai VCR cassette (YAML) of the corpus to the JSON a logging middleware would
write (an interaction without a time of its own gets a fixed one), ingests them all with crossover
into a scratch database, and, for each provider and model family, compares the counted prompt
(system + few-shot + tools + history + input) with what the provider billed: the share counted
exactly, and the median and 95th percentile of |counted - billed| / billed, raw and after the
report's per-model calibration (``cal.``). Split by whether the request had tools or a response
schema, where the rules differ most; ``--by-model`` gives one row per model. Needs PyYAML.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOTS = ("pydantic-ai-cassettes/tests/models/cassettes", "pydantic-ai-providers/tests/models/cassettes")


def convert(corpus: Path, out: Path) -> int:
    """Write each cassette under ``out`` as JSON; return how many."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    n = 0
    for root in ROOTS:
        for path in sorted((corpus / root).rglob("*.yaml")):
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
            for interaction in data.get("interactions") or []:
                interaction.setdefault("timestamp", "2026-10-01T12:00:00Z")
            target = out / root.split("/")[0] / path.relative_to(corpus / root).with_suffix(".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(data, default=str), encoding="utf-8")
            n += 1
    return n


def family(fmt: str, model: str) -> str:
    """A provider and model family: ``bedrock/anthropic``, ``gemini/gemini``, ``openai-chat/gpt``…"""
    name = model.lower().rsplit("/", 1)[-1]
    if fmt == "bedrock":
        parts = name.split(".")
        return f"bedrock/{parts[-2] if len(parts) >= 2 else name}"
    return f"{fmt}/{name.split('-')[0]}"


def provider(file: str) -> str:
    """Who served the request: the cassette folder's name (``test_groq`` → ``groq``), or the provider a
    parametrised cassette names (``test_tool_choice_matrix[auto-openai]`` → ``openai``)."""
    folder, stem = Path(file).parent.name, Path(file).stem
    if "[" in stem:
        return stem.split("[", 1)[1].rstrip("]").rsplit("-", 1)[-1].removesuffix("_responses")
    return folder.removeprefix("test_").split("_")[0] if folder.startswith("test_") else folder


def measure(db: Path, by_model: bool = False) -> list[dict]:
    """Counted vs billed per provider and family (or per model), raw and after the per-model calibration.

    The calibration is the report's own (the ``model_calibration`` view): a model whose tokenizer is
    not tiktoken's has its count scaled by its median billed / counted over its requests billed
    within half to twice their count; an OpenAI model's scale is 1.
    """
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            SELECT r.file, r.format, r.model, r.reported_prompt_tokens,
                   r.system_tokens + r.fewshot_tokens + r.tools_tokens + r.history_tokens + r.input_tokens,
                   r.tools_tokens > 0, coalesce(c.scale, 1.0)
            FROM requests r LEFT JOIN model_calibration c USING (model)
            WHERE r.reported_prompt_tokens > 0 AND r.status = 'ok'""").fetchall()
    groups: dict[tuple[str, bool], list[tuple[float, float]]] = defaultdict(list)
    for file, fmt, model, billed, counted, tools, scale in rows:
        key = f"{provider(file)} {family(fmt, model)}" + (f": {model}" if by_model else "")
        groups[(key, tools)].append((abs(counted - billed) / billed, abs(counted * scale - billed) / billed))
    table = []
    for (name, tools), pairs in sorted(groups.items()):
        raw, calibrated = sorted(p[0] for p in pairs), sorted(p[1] for p in pairs)
        table.append({"provider": name, "tools_or_schema": tools, "requests": len(raw),
                      "exact": sum(e == 0 for e in raw) / len(raw), "median": statistics.median(raw),
                      "p95": _p95(raw), "calibrated_median": statistics.median(calibrated),
                      "calibrated_p95": _p95(calibrated)})
    return table


def _p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("CROSSOVER_CORPUS") or str(Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--corpus", type=Path, default=Path(default))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--by-model", action="store_true", help="one row per model, not per model family")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    from analyzer import api

    with tempfile.TemporaryDirectory(prefix="crossover-cvb-") as tmp:
        logs = Path(tmp) / "logs"
        convert(args.corpus, logs)
        api.ingest([logs], db=Path(tmp) / "db.duckdb")
        table = measure(Path(tmp) / "db.duckdb", by_model=args.by_model)
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    width = max(34, *(len(r["provider"]) for r in table))
    print(f"{'provider, format / family':{width}} {'tools':>5} {'requests':>8} {'exact':>6} {'median':>7} {'p95':>7} "
          f"{'cal.med':>7} {'cal.p95':>7}")
    for r in table:
        print(f"{r['provider']:{width}} {'yes' if r['tools_or_schema'] else 'no':>5} {r['requests']:8} "
              f"{r['exact']:6.0%} {r['median']:7.1%} {r['p95']:7.1%} {r['calibrated_median']:7.1%} "
              f"{r['calibrated_p95']:7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
