"""Peak memory and time of `crossover export` on databases of growing size: memory must not grow with them.

    python bench/memory_export.py --db 100k.duckdb --db 1m.duckdb [--template "ticket router"] [--json]

Each database is an ingested month (``bench/traffic.py --preset bench --requests N``, then
``crossover ingest``). For each, the script finds the template whose label contains ``--template``
(default: the one with most requests), runs ``crossover export`` on it into a temporary directory
as a child process, and samples the peak resident memory of the child's process tree every 50 ms
(the same sampler as ``bench_ingest.py``). It prints, per database: its requests, the template's
candidates and the examples written, wall seconds and peak MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_ingest import crossover_command, timed  # noqa: E402

from analyzer import api  # noqa: E402


def pick(db: Path, label: str | None) -> tuple[str, int, int]:
    """The template to export (id), the database's requests and that template's."""
    rows = api.templates(str(db)).to_dicts()
    total = sum(r["requests"] for r in rows)
    chosen = [r for r in rows if label is None or label in r["label"]] or rows
    best = max(chosen, key=lambda r: r["requests"])
    return best["template_id"], total, best["requests"]


def measure(db: Path, label: str | None, max_examples: int | None) -> dict:
    """One export of one database, timed and its memory sampled."""
    template, requests, template_requests = pick(db, label)
    with tempfile.TemporaryDirectory(prefix="crossover-export-") as tmp:
        out = Path(tmp) / "out"
        cmd = [*crossover_command(), "export", template, "--out", str(out), "--db", str(db)]
        if max_examples:
            cmd += ["--max-examples", str(max_examples)]
        run = timed(cmd, Path(tmp) / "log.txt")
        counts = {}
        if run["returncode"] == 0:
            with open(out / "manifest.json", encoding="utf-8") as f:
                counts = json.load(f)["counts"]
    return {"db": str(db), "requests": requests, "template": template, "template_requests": template_requests,
            "candidates": counts.get("candidates"), "train": counts.get("train"), "eval": counts.get("eval"),
            "seconds": round(run["seconds"], 1), "peak_tree_mb": round(run["peak_tree_mb"], 1),
            "returncode": run["returncode"], "output": run["output"][-2000:] if run["returncode"] else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, action="append", required=True, help="an ingested database (repeatable)")
    parser.add_argument("--template", default=None, help="part of the label of the template to export")
    parser.add_argument("--max-examples", type=int, default=None, help="passed to crossover export")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    results = [measure(db, args.template, args.max_examples) for db in args.db]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'requests':>10} {'template':>10} {'candidates':>10} {'written':>9} {'wall s':>8} {'peak MB':>8}")
        for r in results:
            written = (r["train"] or 0) + (r["eval"] or 0)
            print(f"{r['requests']:>10,} {r['template_requests']:>10,} {r['candidates'] or 0:>10,} {written:>9,} "
                  f"{r['seconds']:>8} {r['peak_tree_mb']:>8}")
            if r["returncode"]:
                print(r["output"], file=sys.stderr)
    return 1 if any(r["returncode"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
