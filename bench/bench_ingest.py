"""Measure `crossover ingest` side by side with a naive script and a parse-only floor, on the same files.

    python bench/bench_ingest.py [--requests N] [--copies K] [--logs DIR] [--keep DIR] [--reps R]
                                 [--jobs J] [--seed S] [--no-usage] [--json]

Generates N request lines with ``bench/traffic.py`` (preset ``bench``), or reuses ``--logs DIR``.
Then, R times, runs three child processes over that directory, in an order that rotates each rep:

- ``crossover ingest DIR --db TMP/crossover-REP.duckdb --quiet --jobs J`` (a fresh database each rep),
- ``bench/naive_ingest.py DIR --jobs J`` (stdlib json + tiktoken, summed per day and model),
- ``bench/floor_parse.py DIR --jobs J`` (gunzip + orjson per line, nothing else),

timing each and sampling the peak memory of its whole process tree. After the last rep it times a
second ingest of the unchanged DIR into the same database and ``crossover report --format json``.
It prints the medians and the ratios crossover/naive and crossover/floor (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import traffic  # noqa: E402

COMMANDS = ("crossover", "naive", "floor")


def crossover_command() -> list[str]:
    """The installed ``crossover`` if on PATH, else this interpreter's ``-m analyzer``."""
    exe = shutil.which("crossover")
    if exe is None:
        # A venv's console script sits next to its interpreter even when the venv is not activated.
        beside = Path(sys.executable).with_name("crossover")
        exe = str(beside) if beside.exists() else None
    return [exe] if exe else [sys.executable, "-m", "analyzer"]


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


def timed(cmd: list[str], out: Path, stdout_to_null: bool = False) -> dict:
    """Run one child to the end: wall seconds, peak tree RSS, exit code, and what it printed."""
    env = dict(os.environ)
    # `python -m analyzer` and naive_ingest.py's import must find the package when it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # Output goes to a file, not a pipe: a pipe nobody reads while we poll can fill and block the child.
    with open(out, "w") as f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL if stdout_to_null else f, stderr=f)
        peak = 0
        while proc.poll() is None:  # workers are children of the child: sum the whole tree
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_tree_mb": peak / 1024, "returncode": proc.returncode, "output": out.read_text()}


# ---------------------------------------------------------------------------------------------
# Preparing the directory: generation, copies, stripping usage


def rewrite(task: tuple[str, str, str, bool]) -> None:
    """Write ``src`` to ``dst`` with ``suffix`` added to each request's ids and, if asked, no ``usage``.

    Lines that are not a request (the generator's planted bad lines) are copied as they are, so each
    copy keeps them. Written to a temporary name first, so ``dst`` may be ``src``.
    """
    src, dst, suffix, strip_usage = task
    out = []
    with gzip.open(src, "rt", encoding="utf-8") as f:
        for line in f.read().splitlines():
            try:
                record = json.loads(line)
                response = record["response"]
            except (ValueError, KeyError, TypeError):
                out.append(line)
                continue
            if suffix:
                # The response id is the request's primary key in crossover; the session id links the
                # turns of a conversation, so a copied conversation must be a new one too.
                response["id"] = f"{response['id']}{suffix}"
                metadata = record["request"].get("metadata")
                if isinstance(metadata, dict) and "session_id" in metadata:
                    metadata["session_id"] = f"{metadata['session_id']}{suffix}"
            if strip_usage:
                response.pop("usage", None)
            out.append(json.dumps(record, ensure_ascii=False))  # the generator's own serialisation
    tmp = dst + ".tmp"
    # mtime=0 and level 9, as traffic.py writes: the same input gives the same bytes.
    with gzip.GzipFile(tmp, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write("".join(line + "\n" for line in out).encode("utf-8"))
    os.replace(tmp, dst)


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, int | None]:
    """The directory to measure and its number of requests (None when reusing ``--logs``)."""
    if args.logs is not None:
        if args.copies != 1:
            raise SystemExit("--copies applies to generated logs; --logs DIR is measured as it is")
        if not args.no_usage:
            return args.logs, None
        # Never touch the user's directory: the stripped files go to a temporary one.
        logs = work / "logs"
        tasks = []
        for src in sorted(args.logs.rglob("*.jsonl.gz")):
            dst = logs / src.relative_to(args.logs)
            dst.parent.mkdir(parents=True, exist_ok=True)
            tasks.append((str(src), str(dst), "", True))
        run_pool(tasks, args.jobs)
        return logs, None
    logs = args.keep if args.keep is not None else work / "logs"
    per_copy = args.requests // args.copies
    t0 = time.perf_counter()
    summary = traffic.generate(logs, preset="bench", requests=per_copy, seed=args.seed)
    tasks = []
    for f in summary["files"]:
        src = str(logs / f["path"])
        if args.no_usage:
            tasks.append((src, src, "", True))  # copy 1 is the generated file itself
        for k in range(2, args.copies + 1):
            tasks.append((src, src.replace(".jsonl.gz", f"-copy{k}.jsonl.gz"), f"-c{k}", args.no_usage))
    run_pool(tasks, args.jobs)
    print(f"generated {per_copy:,} requests x {args.copies} in {time.perf_counter() - t0:.1f} s (not counted)",
          file=sys.stderr)
    return logs, summary["requests"] * args.copies


def run_pool(tasks: list, jobs: int) -> None:
    if tasks:
        with Pool(jobs) as pool:
            pool.map(rewrite, tasks, chunksize=1)


def dir_bytes(logs: Path) -> tuple[int, int, int]:
    """Files, gzip bytes and uncompressed bytes of the log files under ``logs``."""
    files = sorted(p for pattern in ("*.jsonl.gz", "*.jsonl") for p in logs.rglob(pattern))
    packed = raw = 0
    for p in files:
        size = p.stat().st_size
        packed += size
        if p.name.endswith(".gz"):
            # A gzip file ends with its uncompressed size mod 2**32: exact for our single-member,
            # sub-4-GiB files, and no need to decompress gigabytes to know it.
            with open(p, "rb") as f:
                f.seek(-4, os.SEEK_END)
                raw += int.from_bytes(f.read(4), "little")
        else:
            raw += size
    return len(files), packed, raw


# ---------------------------------------------------------------------------------------------
# Measuring


def measure(logs: Path, work: Path, reps: int, jobs: int) -> dict:
    cross = crossover_command()
    runs: dict[str, list[dict]] = {name: [] for name in COMMANDS}
    for rep in range(1, reps + 1):
        db = work / f"crossover-{rep}.duckdb"
        argv = {
            "crossover": cross + ["ingest", str(logs), "--db", str(db), "--quiet", "--jobs", str(jobs)],
            "naive": [sys.executable, str(HERE / "naive_ingest.py"), str(logs), "--jobs", str(jobs)],
            "floor": [sys.executable, str(HERE / "floor_parse.py"), str(logs), "--jobs", str(jobs)],
        }
        # Rotate the order so that no command always runs first (cold caches, a quieter machine).
        shift = (rep - 1) % len(COMMANDS)
        for name in COMMANDS[shift:] + COMMANDS[:shift]:
            result = timed(argv[name], work / f"{name}-{rep}.out")
            result["command"] = " ".join(argv[name])
            if name == "crossover":
                result["db_mb"] = db.stat().st_size / 1e6 if db.exists() else 0.0
            runs[name].append(result)
            if result["returncode"] != 0:
                sys.stderr.write(f"{name} failed (exit {result['returncode']}): {result['command']}\n"
                                 + result["output"][-3000:])
        if rep < reps:
            db.unlink(missing_ok=True)  # only the last database is used again; at 1M requests each is large
    last_db = work / f"crossover-{reps}.duckdb"
    extra = {}
    if runs["crossover"][-1]["returncode"] == 0:
        # Same files, same database: every file is already in it, so this shows the cost of checking.
        extra["second_ingest"] = timed(cross + ["ingest", str(logs), "--db", str(last_db), "--quiet",
                                                "--jobs", str(jobs)],
                                       work / "second.out")
        extra["report"] = timed(cross + ["report", "--db", str(last_db), "--format", "json"], work / "report.out",
                                stdout_to_null=True)
        for name, r in extra.items():
            if r["returncode"] != 0:
                sys.stderr.write(f"{name} failed (exit {r['returncode']})\n" + r["output"][-3000:])
    return {"runs": runs, **extra}


def summarise(logs: Path, requests: int | None, measured: dict, args: argparse.Namespace) -> dict:
    runs = measured["runs"]
    naive_counts = {int(m.group(1)) for r in runs["naive"] if (m := re.search(r"^requests (\d+)$", r["output"], re.M))}
    if requests is None:  # a reused directory: the naive script counted them
        requests = next(iter(naive_counts), 0)
    elif naive_counts and naive_counts != {requests}:
        print(f"warning: naive_ingest.py counted {sorted(naive_counts)} requests, expected {requests}", file=sys.stderr)
    files, packed, raw = dir_bytes(logs)
    out = {"requests": requests, "files": files, "gzip_bytes": packed, "jsonl_bytes": raw,
           "reps": args.reps, "jobs": args.jobs, "copies": args.copies, "no_usage": args.no_usage, "commands": {}}
    for name, rs in runs.items():
        ok = [r for r in rs if r["returncode"] == 0]
        seconds = statistics.median(r["seconds"] for r in ok) if ok else None
        out["commands"][name] = {
            "command": rs[0]["command"], "failed": len(rs) - len(ok),
            "seconds": seconds, "all_seconds": [round(r["seconds"], 3) for r in rs],
            "requests_per_second": requests / seconds if seconds else None,
            "peak_tree_mb": statistics.median(r["peak_tree_mb"] for r in ok) if ok else None,
        }
    c, n, f = (out["commands"][k]["seconds"] for k in COMMANDS)
    out["speedup_vs_naive"] = n / c if c and n else None  # > 1: crossover is faster than the naive script
    out["times_floor"] = c / f if c and f else None  # how many floors crossover takes
    out["db_mb"] = runs["crossover"][-1].get("db_mb")
    for key in ("second_ingest", "report"):
        r = measured.get(key)
        out[f"{key}_seconds"] = r["seconds"] if r and r["returncode"] == 0 else None
    out["report_share_of_ingest"] = out["report_seconds"] / c if c and out["report_seconds"] is not None else None
    return out


def show(s: dict) -> None:
    fmt = lambda v, spec: "n/a" if v is None else format(v, spec)  # noqa: E731
    print(f"requests   {s['requests']:,} in {s['files']} files, {s['gzip_bytes'] / 1e6:,.1f} MB gzip "
          f"({s['jsonl_bytes'] / 1e6:,.1f} MB JSONL){', usage stripped' if s['no_usage'] else ''}")
    print(f"runs       {s['reps']} reps, --jobs {s['jobs']}, median of each")
    print(f"{'':10} {'wall s':>8} {'requests/s':>11} {'peak tree MB':>13}   all wall s")
    for name, c in s["commands"].items():
        failed = f"   ({c['failed']} failed)" if c["failed"] else ""
        print(f"{name:10} {fmt(c['seconds'], '8.2f')} {fmt(c['requests_per_second'], '11,.0f')} "
              f"{fmt(c['peak_tree_mb'], '13,.0f')}   {' '.join(f'{x:.2f}' for x in c['all_seconds'])}{failed}")
    print(f"speed-up   {fmt(s['speedup_vs_naive'], '.2f')}x the naive script (naive s / crossover s)")
    print(f"vs floor   {fmt(s['times_floor'], '.2f')}x the parse-only floor (crossover s / floor s)")
    print(f"2nd ingest {fmt(s['second_ingest_seconds'], '.2f')} s (same files, same database)")
    share = s["report_share_of_ingest"]
    print(f"report     {fmt(s['report_seconds'], '.2f')} s (--format json), "
          f"{fmt(share * 100 if share is not None else None, '.0f')}% of the ingest time")
    print(f"database   {fmt(s['db_mb'], ',.1f')} MB")
    for name, c in s["commands"].items():
        print(f"  {name}: {c['command']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark `crossover ingest` against a naive script and a parse-only floor.")
    parser.add_argument("--requests", type=int, default=10_000, help="request lines to generate (default 10000)")
    parser.add_argument("--copies", type=int, default=1,
                        help="generate N/K requests once and write K distinct copies of each day file (default 1)")
    parser.add_argument("--logs", type=Path, default=None, help="measure this already-generated directory instead")
    parser.add_argument("--keep", type=Path, default=None, help="generate into DIR and keep it")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the three commands (default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes for all three (default: cores)")
    parser.add_argument("--seed", type=int, default=traffic.DEFAULT_SEED)
    parser.add_argument("--no-usage", action="store_true", help="strip `usage` from every response before measuring")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.copies < 1 or args.reps < 1 or args.jobs < 1:
        parser.error("--copies, --reps and --jobs must be at least 1")
    if args.logs is not None and args.keep is not None:
        parser.error("--logs and --keep exclude each other")
    work = Path(tempfile.mkdtemp(prefix="crossover-bench-"))
    try:
        logs, requests = prepare(args, work)
        measured = measure(logs, work, args.reps, args.jobs)
        summary = summarise(logs, requests, measured, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        show(summary)
    return 0 if all(c["failed"] == 0 for c in summary["commands"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
