"""Write the logged calls of a pretend candidate model that answered an export's eval.jsonl.

For trying `crossover compare` without a fine-tuned model: each eval example is answered with its
production answer, except every Nth (``--flip-every``), whose label is swapped for the next one in
sorted order, so the share the candidate agrees on is known before compare measures it. Usage is
logged as crossover counts the messages sent and the answer (o200k, the gpt-4o family's), in the
sample's middleware format.

    python bench/candidate_calls.py EXPORT_DIR OUT.jsonl --flip-every 10
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analyzer.models import Request
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter


def main() -> None:
    """Read EXPORT_DIR/eval.jsonl, write one logged call per example to OUT."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path, help="the directory `crossover export` wrote")
    ap.add_argument("out", type=Path, help="the JSONL file to write")
    ap.add_argument("--model", default="ft:gpt-4o-mini-2024-07-18:acme:router:x1")
    ap.add_argument("--flip-every", type=int, default=0, help="swap the label of every Nth example (0: none)")
    args = ap.parse_args()
    examples = [json.loads(line) for line in (args.export / "eval.jsonl").read_text(encoding="utf-8").splitlines()]
    labels = sorted({str(ex["messages"][-1].get("content")) for ex in examples})
    flipped, counter = 0, Counter(args.model)
    with open(args.out, "w", encoding="utf-8") as out:
        for i, ex in enumerate(examples):
            answer = dict(ex["messages"][-1])
            if args.flip_every and i % args.flip_every == 0:
                answer["content"] = labels[(labels.index(str(answer.get("content"))) + 1) % len(labels)]
                flipped += 1
            counted = segment(Request(args.model, ex["messages"][:-1], output=answer), counter)
            record = {"timestamp": "2026-11-20T10:00:00Z",
                      "request": {"model": args.model, "messages": ex["messages"][:-1]},
                      "response": {"id": f"chatcmpl-candidate-{i}", "object": "chat.completion",
                                   "created": 1795000000, "model": args.model,
                                   "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}],
                                   "usage": {"prompt_tokens": counted.prompt_tokens,
                                             "completion_tokens": counted.output,
                                             "total_tokens": counted.prompt_tokens + counted.output}}}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(examples)} calls, {flipped} with another label: {1 - flipped / len(examples):.2%} agree")


if __name__ == "__main__":
    main()
