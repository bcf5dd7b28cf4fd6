"""The token counter a user would write in ten minutes: the baseline `crossover ingest` is compared with.

    python bench/naive_ingest.py DIR [--jobs N]

For every ``*.jsonl.gz`` and ``*.jsonl`` file under DIR, one worker process per core (a
multiprocessing Pool over the files) reads the lines, parses each with the standard library's
``json.loads``, and tiktoken-encodes the text of every message of ``request.messages`` and the
output text (``response.choices[0].message.content``). Tokens are summed per (UTC day, model).
Lines that do not parse, and objects that are not a request, are skipped. It prints how many
(day, model) totals it made, the requests, and the tokens.

It does no more than that on purpose: no per-message overheads, no tools, no caching of repeated
texts, no database. The encodings come from ``analyzer.tokenizing`` so that nothing is downloaded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

from analyzer.tokenizing import encoding_name_for_model, get_encoding


def log_files(root: Path) -> list[Path]:
    return sorted(p for pattern in ("*.jsonl.gz", "*.jsonl") for p in root.rglob(pattern))


def texts(content) -> list[str]:
    """A message's text: a plain string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return []


def count_file(path: Path) -> tuple[Counter, Counter]:
    """Tokens and requests per (day, model) in one file."""
    tokens: Counter = Counter()
    requests: Counter = Counter()
    encodings = {}  # model -> tiktoken encoding, looked up once per model and process
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
                request, response = record["request"], record["response"]
                model = request["model"]
                key = (record["timestamp"][:10], model)
            except (ValueError, KeyError, TypeError):
                continue  # a truncated line, logger noise, a heartbeat
            if model not in encodings:
                encodings[model] = get_encoding(encoding_name_for_model(model)[0])
            enc = encodings[model]
            pieces = [t for m in request.get("messages") or [] if isinstance(m, dict) for t in texts(m.get("content"))]
            try:
                pieces += texts(response["choices"][0]["message"]["content"])
            except (KeyError, IndexError, TypeError):
                pass  # an error response has no output
            # disallowed_special=(): a log may quote "<|endoftext|>"; count it as text, do not crash.
            tokens[key] += sum(len(enc.encode(t, disallowed_special=())) for t in pieces)
            requests[key] += 1
    return tokens, requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Naive per-(day, model) token totals of JSONL logs.")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per core)")
    args = parser.parse_args(argv)
    tokens: Counter = Counter()
    requests: Counter = Counter()
    with Pool(args.jobs) as pool:
        # chunksize=1: files differ in size, so hand them out one at a time.
        for t, r in pool.imap_unordered(count_file, log_files(args.dir), chunksize=1):
            tokens.update(t)
            requests.update(r)
    print(f"totals {len(tokens)}")
    print(f"requests {sum(requests.values())}")
    print(f"tokens {sum(tokens.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
