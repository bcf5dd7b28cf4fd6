"""Benchmark `crossover ingest` on a generated month of logs.

    python bench/bench_ingest.py --requests 10000 [--keep DIR] [--seed S]

Generates N request lines with ``bench/traffic.py`` (preset ``bench``) into a temporary directory
(or DIR with ``--keep``, which is then left in place), runs ``crossover ingest DIR --db
TMP/crossover.duckdb --quiet`` as a child process (``python -m analyzer`` when ``crossover`` is not on
PATH), and reports wall time and the child's peak resident memory. Only the ingest is timed; the
generation time is printed separately.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import traffic  # noqa: E402


def ingest_command(logs: Path, db: Path) -> list[str]:
    """The installed ``crossover`` if on PATH, else this interpreter's ``-m analyzer``."""
    exe = shutil.which("crossover")
    if exe is None:
        # A venv's console script sits next to its interpreter even when the venv is not activated.
        beside = Path(sys.executable).with_name("crossover")
        exe = str(beside) if beside.exists() else None
    head = [exe] if exe else [sys.executable, "-m", "analyzer"]
    return head + ["ingest", str(logs), "--db", str(db), "--quiet"]


def tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (Linux), in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as f:
                pages = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run(requests: int, keep: Path | None, seed: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="crossover-bench-"))
    logs = keep if keep is not None else work / "logs"
    try:
        t0 = time.perf_counter()
        summary = traffic.generate(logs, preset="bench", requests=requests, seed=seed)
        generate_s = time.perf_counter() - t0
        db = work / "crossover.duckdb"
        cmd = ingest_command(logs, db)
        env = dict(os.environ)
        # `python -m analyzer` must find the package when it is not installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree_peak_kib = 0
        while proc.poll() is None:  # ingest may start worker processes: sum the whole tree's memory
            tree_peak_kib = max(tree_peak_kib, tree_rss_kib(proc.pid))
            time.sleep(0.05)
        stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - t0
        # KiB on Linux: the largest single waited-for descendant (the generator starts no other child).
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if proc.returncode != 0:
            sys.stderr.write(stdout + stderr)
            raise SystemExit(f"ingest failed with exit code {proc.returncode}: {' '.join(cmd)}")
        return {
            "command": " ".join(cmd),
            "requests": summary["requests"],
            "lines": summary["lines"],
            "files": len(summary["files"]),
            "bytes": summary["bytes"],
            "uncompressed_bytes": summary["uncompressed_bytes"],
            "generate_seconds": generate_s,
            "seconds": seconds,
            "requests_per_second": summary["requests"] / seconds if seconds else float("inf"),
            "peak_memory_mb": peak_kib / 1024,
            "peak_tree_memory_mb": tree_peak_kib / 1024,
            "db_bytes": db.stat().st_size if db.exists() else 0,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark `crossover ingest` on generated logs.")
    parser.add_argument("--requests", type=int, default=10_000, help="request lines to generate (default 10000)")
    parser.add_argument("--keep", type=Path, default=None, help="generate into DIR and keep it")
    parser.add_argument("--seed", type=int, default=traffic.DEFAULT_SEED)
    args = parser.parse_args(argv)
    r = run(args.requests, args.keep, args.seed)
    print(f"command      {r['command']}")
    print(f"requests     {r['requests']:,} ({r['lines']:,} lines incl. 4 deliberately bad)")
    print(f"files        {r['files']}")
    print(f"bytes        {r['bytes'] / 1e6:,.1f} MB gzip ({r['uncompressed_bytes'] / 1e6:,.1f} MB JSONL)")
    print(f"generated in {r['generate_seconds']:.1f} s (not counted)")
    print(f"seconds      {r['seconds']:.2f}")
    print(f"requests/s   {r['requests_per_second']:,.0f}")
    print(f"peak memory  {r['peak_memory_mb']:,.0f} MB (largest process), "
          f"{r['peak_tree_memory_mb']:,.0f} MB (all processes together, sampled every 50 ms)")
    print(f"database     {r['db_bytes'] / 1e6:,.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
