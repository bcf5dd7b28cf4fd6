"""Run `crossover ingest` as a separate process over many hostile log files; count tracebacks and hangs.

    python bench/fuzz_ingest.py [--files N] [--timeout S] [--seed S] [--keep DIR]

Each file is drawn from the strategy of ``tests/fuzzing.py`` (golden cases of every registered
format, spoiled: wrong types, huge numbers, NaN/Infinity, lone surrogates, bad times, deep nesting,
cut lines and gzip streams, random bytes, CR-only line ends) and ingested, alone, into a fresh
database by ``crossover ingest FILE --db DB --quiet``. A run whose stderr holds "Traceback", or
whose exit code is neither 0 nor 2, counts as a crash; one still running after ``--timeout``
seconds is killed and counts as a hang. Then ``crossover report`` runs on the database (exit 0, or
2 with one line when nothing was stored). With ``--keep DIR`` the files that crashed or hung are
kept there. Prints one summary line; exits 1 if anything crashed or hung.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fuzzing import log_files  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1100)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    crossover = shutil.which("crossover") or str(Path(sys.executable).with_name("crossover"))
    tally = {"files": 0, "exit0": 0, "exit2": 0, "crashes": 0, "hangs": 0, "report_crashes": 0}
    tmp = Path(tempfile.mkdtemp(prefix="crossover-fuzz-"))

    def run(cmd: list[str]) -> tuple[int | None, str]:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, errors="replace")
        except subprocess.TimeoutExpired:
            return None, ""
        return done.returncode, done.stderr

    def keep(path: Path, why: str) -> None:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, args.keep / f"{why}-{path.name}")

    @settings(max_examples=args.files, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(log_files(max_lines=60))
    def one(file):
        name, data = file
        i = tally["files"] = tally["files"] + 1
        path = tmp / f"{i:05d}-{name}"
        path.write_bytes(data)
        db = tmp / f"{i:05d}.duckdb"
        code, err = run([crossover, "ingest", str(path), "--db", str(db), "--quiet"])
        if code is None:
            tally["hangs"] += 1
            keep(path, "hang")
        elif "Traceback" in err or code not in (0, 2):
            tally["crashes"] += 1
            keep(path, "crash")
            print(f"crash (exit {code}) on {path.name}: {err.strip().splitlines()[-1] if err.strip() else ''}",
                  file=sys.stderr)
        else:
            tally["exit0" if code == 0 else "exit2"] += 1
            if code == 0:
                rcode, rerr = run([crossover, "report", "--db", str(db), "--format", "json"])
                if rcode is None or "Traceback" in rerr or rcode not in (0, 2):
                    tally["report_crashes"] += 1
                    keep(path, "report")
        path.unlink(missing_ok=True)
        for leftover in tmp.glob(f"{i:05d}.duckdb*"):
            leftover.unlink()

    seed(args.seed)(one)()
    shutil.rmtree(tmp, ignore_errors=True)
    print(" ".join(f"{k}={v}" for k, v in tally.items()))
    return 1 if tally["crashes"] or tally["hangs"] or tally["report_crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
