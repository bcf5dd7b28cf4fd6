"""Measure the ingest as a map into Parquet shards and a reduce into DuckDB (issue 15's scaling figures).

    python bench/shard_map.py [--requests N | --logs DIR] [--shards 8,31,124] [--json]

Generates N request lines with ``bench/traffic.py`` (preset ``bench``: one gzip file a day, so one
shard per file), or reuses ``--logs DIR``. Every run is ``crossover ingest PATHS --jobs 1 --dataset
SET --db NEW.duckdb --quiet`` as a child process with a fresh database; with ``--jobs 1`` the map
tasks run in that one process (the inline executor), so its CPU time is one core's.

- **map + reduce**: the first run over the files, every shard written;
- **reduce alone**: the same files into another fresh database, every shard found by its name and
  loaded (plus what every ingest does: judging the inputs, the final pass, the report's tables; a new
  file's hash comes from its shard's manifest, no byte of it is read).

The map is their difference: its requests per CPU-second are requests per core. The shards' Parquet
bytes are summed per request and per input MB. The reduce is then timed for each count of shards in
``--shards``: the first K files for K up to the number of files, and past it the files copied under
new names (copies of the same requests: the reduce loads every row and keeps the first of each id,
as it would of a month logged twice). Peak memory is the child's maximum resident set (``wait4``).

The machine is small and shared: runs are small, figures are single runs, not medians.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ingest(paths: list[str], dataset: Path, db: Path) -> dict[str, float]:
    """One ``crossover ingest`` child: wall seconds, CPU seconds, peak resident MB."""
    command = [sys.executable, "-m", "analyzer", "ingest", *paths, "--jobs", "1", "--dataset", str(dataset),
               "--db", str(db), "--quiet"]
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    child.returncode = 0
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def stored(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM requests").fetchone()[0]
    finally:
        con.close()


def shard_bytes(dataset: Path) -> int:
    return sum(p.stat().st_size for p in (dataset / "shards").rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--logs", type=Path, default=None, help="reuse this directory of generated logs")
    parser.add_argument("--shards", default="8,31,124", help="shard counts to time the reduce at")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crossover-shard-bench-"))
    try:
        logs = args.logs
        if logs is None:
            logs = work / "logs"
            subprocess.run([sys.executable, str(HERE / "traffic.py"), "--out", str(logs), "--preset", "bench",
                            "--requests", str(args.requests)], check=True, stdout=subprocess.DEVNULL)
        files = sorted(str(p.resolve()) for p in logs.rglob("*.jsonl*"))
        on_disk = sum(os.path.getsize(f) for f in files)
        plain = sum(len(gzip.open(f).read()) if f.endswith(".gz") else os.path.getsize(f) for f in files)
        dataset = work / "set"
        first = ingest(files, dataset, work / "first.duckdb")
        requests = stored(work / "first.duckdb")
        reduce_all = ingest(files, dataset, work / "again.duckdb")
        map_cpu = first["cpu_s"] - reduce_all["cpu_s"]
        size = shard_bytes(dataset)
        out = {"requests": requests, "files": len(files), "input_mb_on_disk": on_disk / 1e6,
               "input_mb_plain": plain / 1e6, "map_and_reduce": first, "reduce_only": reduce_all,
               "map_cpu_s": map_cpu, "map_requests_per_core_s": requests / map_cpu,
               "shard_bytes": size, "shard_bytes_per_request": size / requests,
               "shard_bytes_per_input_mb_on_disk": size / (on_disk / 1e6),
               "shard_bytes_per_input_mb_plain": size / (plain / 1e6), "reduce": []}
        copies = work / "copies"
        for count in (int(k) for k in args.shards.split(",")):
            paths = list(files[:count])
            n = 0
            while len(paths) < count:  # more shards than files: the files again under new names
                source = files[n % len(files)]
                target = copies / f"copy{n // len(files)}" / Path(source).name
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    shutil.copyfile(source, target)
                paths.append(str(target))
                n += 1
            ingest(paths, dataset, work / f"map-{count}.duckdb")  # maps what is new (copies), reuses the rest
            run = ingest(paths, dataset, work / f"reduce-{count}.duckdb")
            kept = stored(work / f"reduce-{count}.duckdb")
            loaded = requests * len(paths) / len(files) if count > len(files) else kept
            out["reduce"].append({"shards": len(paths), "rows_loaded_approx": round(loaded), "stored": kept, **run})
        if args.json:
            print(json.dumps(out, indent=2))
            return
        print(f"{requests:,} requests in {len(files)} files ({on_disk / 1e6:.1f} MB gzip, {plain / 1e6:.1f} MB plain)")
        print(f"map + reduce: {first['wall_s']:.1f} s wall, {first['cpu_s']:.1f} s CPU, peak {first['peak_mb']:.0f} MB")
        print(f"reduce alone: {reduce_all['wall_s']:.1f} s wall, {reduce_all['cpu_s']:.1f} s CPU, "
              f"peak {reduce_all['peak_mb']:.0f} MB")
        print(f"map: {map_cpu:.1f} CPU s = {requests / map_cpu:,.0f} requests/s per core")
        print(f"shards: {size / 1e6:.1f} MB = {size / requests:,.0f} B/request, "
              f"{size / (on_disk / 1e6) / 1e6:.2f} MB per gzip input MB, {size / (plain / 1e6) / 1e6:.3f} per plain MB")
        for r in out["reduce"]:
            print(f"reduce of {r['shards']} shards (~{r['rows_loaded_approx']:,} request rows loaded, "
                  f"{r['stored']:,} stored): {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                  f"peak {r['peak_mb']:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
