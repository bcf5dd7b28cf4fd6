"""The parse-only floor: how fast the log files can be gunzipped and parsed, and nothing else.

    python bench/floor_parse.py DIR [--jobs N]

The same split as ``naive_ingest.py`` (one worker process per core, a multiprocessing Pool over
the ``*.jsonl.gz`` and ``*.jsonl`` files under DIR), but each line is only parsed with
``orjson.loads`` and counted. No ingest that reads every line as JSON can be faster than this, so
``crossover ingest``'s time over this one is what everything beyond parsing costs.
"""

from __future__ import annotations

import argparse
import gzip
import os
from multiprocessing import Pool
from pathlib import Path

import orjson


def log_files(root: Path) -> list[Path]:
    return sorted(p for pattern in ("*.jsonl.gz", "*.jsonl") for p in root.rglob(pattern))


def parse_file(path: Path) -> tuple[int, int]:
    """(lines, lines that parsed) of one file."""
    lines = parsed = 0
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:  # bytes: orjson parses them without a decode step
        for line in f:
            lines += 1
            try:
                orjson.loads(line)
                parsed += 1
            except orjson.JSONDecodeError:
                pass
    return lines, parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gunzip and orjson-parse every line of JSONL logs, nothing else.")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per core)")
    args = parser.parse_args(argv)
    lines = parsed = 0
    with Pool(args.jobs) as pool:
        for n, ok in pool.imap_unordered(parse_file, log_files(args.dir), chunksize=1):
            lines += n
            parsed += ok
    print(f"lines {lines}")
    print(f"parsed {parsed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
