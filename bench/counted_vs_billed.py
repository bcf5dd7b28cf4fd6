"""Counted vs billed prompt tokens per provider, on the recorded traffic of ../shared/corpus.

    python bench/counted_vs_billed.py [--corpus DIR] [--json]

Converts every pydantic-ai VCR cassette (YAML) of the corpus to the JSON a logging middleware would
write (an interaction without a time of its own gets a fixed one), ingests them all with crossover
into a scratch database, and, for each provider and model family, compares the counted prompt
(system + few-shot + tools + history + input) with what the provider billed: the share counted
exactly, and the median and 95th percentile of |counted - billed| / billed. Split by whether the
request had tools or a response schema, where the rules differ most. Needs PyYAML.
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


def measure(db: Path) -> list[dict]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            SELECT format, model, reported_prompt_tokens,
                   system_tokens + fewshot_tokens + tools_tokens + history_tokens + input_tokens, tools_tokens > 0
            FROM requests WHERE reported_prompt_tokens > 0 AND status = 'ok'""").fetchall()
    groups: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for fmt, model, billed, counted, tools in rows:
        groups[(family(fmt, model), tools)].append(abs(counted - billed) / billed)
    table = []
    for (name, tools), errors in sorted(groups.items()):
        errors.sort()
        table.append({"provider": name, "tools_or_schema": tools, "requests": len(errors),
                      "exact": sum(e == 0 for e in errors) / len(errors), "median": statistics.median(errors),
                      "p95": errors[min(len(errors) - 1, round(0.95 * (len(errors) - 1)))]})
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("CROSSOVER_CORPUS") or str(Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--corpus", type=Path, default=Path(default))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    from analyzer import api

    with tempfile.TemporaryDirectory(prefix="crossover-cvb-") as tmp:
        logs = Path(tmp) / "logs"
        convert(args.corpus, logs)
        api.ingest([logs], db=Path(tmp) / "db.duckdb")
        table = measure(Path(tmp) / "db.duckdb")
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    print(f"{'provider / family':28} {'tools':>5} {'requests':>8} {'exact':>6} {'median':>7} {'p95':>7}")
    for r in table:
        print(f"{r['provider']:28} {'yes' if r['tools_or_schema'] else 'no':>5} {r['requests']:8} "
              f"{r['exact']:6.0%} {r['median']:7.1%} {r['p95']:7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
