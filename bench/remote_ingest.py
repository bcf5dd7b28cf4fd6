"""Measure `crossover ingest` reading the same files from local disk and from an S3 API on loopback.

    python bench/remote_ingest.py [--requests N] [--logs DIR] [--reps R] [--jobs J] [--json]

Generates N request lines with ``bench/traffic.py`` (preset ``bench``), or reuses ``--logs DIR``;
starts moto's S3 server (``pip install 'moto[server]'``, in the test extra) as a separate process on a
free loopback port, uploads the files to a bucket, then R times, in an order that alternates each rep:

- ``crossover ingest DIR --db TMP/local-REP.duckdb --quiet --jobs J``
- ``crossover ingest s3://bench/logs/ --db TMP/s3-REP.duckdb --quiet --jobs J``

each a child process with a fresh database. After the last rep it times a second run of each over the
unchanged input (every file skipped: a stat locally, one listing in S3) and checks that both databases
give the same ``crossover report --format json``. Credentials are dummies in the children's
environment (``AWS_ACCESS_KEY_ID``…, ``AWS_ENDPOINT_URL``): the provider's chain, as a user's would be.

The server is moto, a Python emulation; on a small machine it competes with ingest for the cores,
so the S3 figure is a floor for what a real S3 endpoint gives, not a forecast of it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import traffic  # noqa: E402
from bench_ingest import crossover_command  # noqa: E402

BUCKET, PREFIX = "bench", "logs"


def free_port() -> int:
    """A TCP port nothing listens on, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """moto's S3 server in its own process; returns once it answers."""
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto's server did not start (is moto[server] installed?)")


def upload(logs: Path, env: dict[str, str]) -> int:
    """Every file under ``logs`` into s3://bench/logs/, keeping its relative path; returns the bytes sent."""
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=env["AWS_DEFAULT_REGION"])
    client.create_bucket(Bucket=BUCKET)
    sent = 0
    for path in sorted(p for p in logs.rglob("*") if p.is_file()):
        client.upload_file(str(path), BUCKET, f"{PREFIX}/{path.relative_to(logs).as_posix()}")
        sent += path.stat().st_size
    return sent


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30000)
    parser.add_argument("--logs", type=Path, default=None, help="reuse these logs instead of generating them")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crossover-remote-bench-"))
    logs = args.logs
    if logs is None:
        logs = work / "logs"
        traffic.generate(logs, preset="bench", requests=args.requests)
    requests = args.requests
    size = sum(p.stat().st_size for p in logs.rglob("*") if p.is_file())
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    server = start_server(port)
    try:
        upload(logs, env)
        crossover = crossover_command()
        sources = {"local": str(logs), "s3": f"s3://{BUCKET}/{PREFIX}/"}
        times: dict[str, list[float]] = {"local": [], "s3": []}
        for rep in range(args.reps):
            for name in (("local", "s3") if rep % 2 == 0 else ("s3", "local")):
                db = work / f"{name}-{rep}.duckdb"
                times[name].append(timed([*crossover, "ingest", sources[name], "--db", str(db), "--quiet",
                                          "--jobs", str(args.jobs)], env))
        last = args.reps - 1
        again = {name: timed([*crossover, "ingest", sources[name], "--db", str(work / f"{name}-{last}.duckdb"),
                              "--quiet", "--jobs", str(args.jobs)], env) for name in sources}
        reports = {name: subprocess.run([*crossover, "report", "--db", str(work / f"{name}-{last}.duckdb"),
                                         "--format", "json"], env=env, capture_output=True, text=True).stdout
                   for name in sources}
    finally:
        server.terminate()
        server.wait()
    figures = {
        "requests": requests, "bytes": size, "files": sum(1 for p in logs.rglob("*") if p.is_file()),
        "jobs": args.jobs, "reps": args.reps, "cpus": os.cpu_count(),
        "seconds": {name: statistics.median(t) for name, t in times.items()},
        "requests_per_s": {name: requests / statistics.median(t) for name, t in times.items()},
        "all_seconds": times, "unchanged_second_run_seconds": again,
        "same_report": reports["local"] == reports["s3"] and bool(json.loads(reports["local"])["templates"]),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{requests:,} requests, {figures['files']} files, {size / 1e6:.1f} MB, --jobs {args.jobs}, "
          f"{args.reps} reps (median):")
    for name in sources:
        print(f"  {name:5}  {figures['seconds'][name]:6.2f} s  {figures['requests_per_s'][name]:8,.0f} requests/s   "
              f"unchanged again: {again[name]:.2f} s")
    print(f"  s3 / local: {figures['requests_per_s']['s3'] / figures['requests_per_s']['local']:.2f}; "
          f"same report: {figures['same_report']}")


if __name__ == "__main__":
    main()
