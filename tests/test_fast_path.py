"""The fast ingest stores exactly what the slow, obviously-correct one does.

The reference path (``Ingestor(reference=True)``) counts every part of every request from scratch:
no memo of repeated messages, no live tokens derived from usage. The fast path memoizes and derives
(``analyzer.segmenting``'s fast path, ``analyzer.deriving``), reads large plain files in pieces and,
with workers, in parallel. Whatever way a directory is read, the tables come out the same; only
the flags saying which counts were derived differ, and they differ only between the two paths.
"""

from __future__ import annotations

import gzip
import json
import shutil
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from analyzer import deriving, extracting, ingesting, reading, storage

from .conftest import SAMPLE_LOGS, chat_line, write_jsonl

DERIVED = ("input_derived", "output_derived")


def tables(path: Path, without: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, less the columns that hold the time of the run."""
    skip = {"ingested_at", "rejected_at", "applied_at", "mtime_ns", *without}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [n for (n,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' AND table_name NOT IN ('meta', '_migrations') ORDER BY 1").fetchall()]
        found = {}
        for name in names:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [name]).fetchall() if c not in skip]
            found[name] = con.execute(f"SELECT {', '.join(columns)} FROM {name} ORDER BY ALL").fetchall()
    return found


def checked_out_of(n: int) -> int:
    """How many of a group's first n requests are derived: all but the checked sample."""
    return sum(1 for i in range(n) if not (i < deriving.VERIFY_FIRST or i % deriving.VERIFY_EVERY == 0))


def ingest(paths: list[Path], db: Path, *, jobs: int = 1, reference: bool = False) -> ingesting.IngestResult:
    con = storage.connect(db)
    try:
        return ingesting.Ingestor(con, jobs=jobs, reference=reference).ingest([str(p) for p in paths])
    finally:
        con.close()


def test_the_sample_month_is_stored_alike_by_the_reference_and_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)  # the sample is small: use the workers anyway
    ingest([SAMPLE_LOGS], tmp_path / "reference.duckdb", reference=True)
    ingest([SAMPLE_LOGS], tmp_path / "fast.duckdb")
    ingest([SAMPLE_LOGS], tmp_path / "fast2.duckdb", jobs=2)
    reference = tables(tmp_path / "reference.duckdb", DERIVED)
    assert tables(tmp_path / "fast.duckdb", DERIVED) == reference
    assert tables(tmp_path / "fast2.duckdb") == tables(tmp_path / "fast.duckdb")  # derived flags too
    with duckdb.connect(str(tmp_path / "fast.duckdb"), read_only=True) as con:
        derived, total = con.execute("SELECT count(*) FILTER (WHERE input_derived), count(*) FROM requests").fetchone()
    with duckdb.connect(str(tmp_path / "reference.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM requests WHERE input_derived OR output_derived").fetchone()[0] == 0
    # The generator bills exactly what tiktoken counts: most live inputs are derived, a sample is not.
    assert 0.5 * total < derived < total


def test_a_bill_that_disagrees_with_the_count_is_never_derived(tmp_path):
    """A provider that bills 7 tokens more than the rules count: the checked sample sees it, the
    group is counted in full, and the fast path stores the reference's counts."""
    system = {"role": "system", "content": "Route the ticket to billing, shipping or other. " * 20}
    lines = [chat_line(messages=[system, {"role": "user", "content": f"ticket {i}: my parcel {i * 7} is late"}],
                       id=f"chatcmpl-{i}", ts=f"2026-10-01T10:{i // 60:02d}:{i % 60:02d}Z", prompt_tokens=9999,
                       output="shipping") for i in range(120)]
    path = write_jsonl(tmp_path / "logs/a.jsonl", lines)
    # Bill each request its exact count plus 7, as a model that adds a hidden preamble would.
    ingest([path], tmp_path / "probe.duckdb", reference=True)
    with duckdb.connect(str(tmp_path / "probe.duckdb"), read_only=True) as con:
        counted = dict(con.execute("SELECT request_id, prompt_tokens FROM requests").fetchall())
    for line in lines:
        line["response"]["usage"]["prompt_tokens"] = counted[line["response"]["id"]] + 7
    write_jsonl(path, lines)
    ingest([path], tmp_path / "reference.duckdb", reference=True)
    ingest([path], tmp_path / "fast.duckdb")
    assert tables(tmp_path / "fast.duckdb", DERIVED) == tables(tmp_path / "reference.duckdb", DERIVED)
    with duckdb.connect(str(tmp_path / "fast.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FILTER (WHERE input_derived), count(*) FILTER (WHERE output_derived) "
                           "FROM requests").fetchone() == (0, checked_out_of(120))  # outputs were billed right


@pytest.fixture
def one_large_file(tmp_path) -> Path:
    """The sample month as one plain JSON-lines file, its four bad lines included."""
    target = tmp_path / "month/all.jsonl"
    target.parent.mkdir()
    with open(target, "wb") as out:
        for day in sorted(SAMPLE_LOGS.rglob("*.jsonl.gz")):
            with gzip.open(day, "rb") as f:
                shutil.copyfileobj(f, out)
    return target


def test_one_large_file_read_in_pieces_stores_what_reading_it_whole_does(tmp_path, monkeypatch, one_large_file):
    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)
    ingest([one_large_file], tmp_path / "whole.duckdb")
    monkeypatch.setattr(reading, "CHUNK_BYTES", 400_000)  # the 30 MB file in about 80 pieces
    assert len(reading.chunks(one_large_file, 0, one_large_file.stat().st_size)) > 50
    ingest([one_large_file], tmp_path / "pieces.duckdb")
    parallel = ingest([one_large_file], tmp_path / "parallel.duckdb", jobs=2)
    # Pieces are units of the derivation sample: only which counts were derived may differ.
    assert tables(tmp_path / "pieces.duckdb", DERIVED) == tables(tmp_path / "whole.duckdb", DERIVED)
    assert tables(tmp_path / "parallel.duckdb") == tables(tmp_path / "pieces.duckdb")
    [f] = parallel.files
    assert (f.records, f.stored, f.duplicates, f.rejected, f.pending) == (8288, 8284, 0, 4, 0)
    assert f.position.line == 8288 and f.position.offset == one_large_file.stat().st_size
    with duckdb.connect(str(tmp_path / "parallel.duckdb"), read_only=True) as con:
        lines = [line for (line,) in con.execute("SELECT line FROM rejects ORDER BY line").fetchall()]
        assert con.execute("SELECT count(DISTINCT line), max(line) FROM requests").fetchone() == (8284, 8288)
    # The rejects are where the bad lines are in the file.
    text = one_large_file.read_text(encoding="utf-8").splitlines()
    for line in lines:
        try:
            record = json.loads(text[line - 1])
            assert "request" not in record
        except ValueError:
            pass  # malformed: the very line the reject names


def test_pieces_are_cut_after_newlines_and_cover_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 10)
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"".join(b'{"n": %d}\n' % (i * 1000) for i in range(40)))
    data = path.read_bytes()
    pieces = reading.chunks(path, 0, len(data))
    assert pieces[0][0] == 0 and pieces[-1][1] is None
    assert all(a < b == c for (a, b), (c, _) in pairwise(pieces))
    assert all(data[b - 1:b] == b"\n" for _, b in pieces[:-1])
    assert reading.chunks(tmp_path / "a.jsonl.gz", 0, len(data)) == [(0, None)]  # gzip is never cut


def test_a_large_file_that_grew_is_read_on_in_pieces(tmp_path, monkeypatch, one_large_file):
    monkeypatch.setattr(extracting, "BATCH_REQUESTS", 500)
    lines = one_large_file.read_bytes().splitlines(keepends=True)
    one_large_file.write_bytes(b"".join(lines[:5000]))
    ingest([one_large_file], tmp_path / "grown.duckdb")
    one_large_file.write_bytes(b"".join(lines))
    monkeypatch.setattr(reading, "CHUNK_BYTES", 1_000_000)
    [f] = ingest([one_large_file], tmp_path / "grown.duckdb").files
    assert f.tail and f.records == len(lines) - 5000
    ingest([one_large_file], tmp_path / "once.duckdb")
    assert tables(tmp_path / "grown.duckdb", DERIVED) == tables(tmp_path / "once.duckdb", DERIVED)


def test_progress_by_bytes_reaches_the_whole_of_a_file_read_in_pieces(tmp_path, monkeypatch, one_large_file):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 4_000_000)
    seen: list[tuple[int, int]] = []
    con = storage.connect(tmp_path / "p.duckdb")
    ingesting.Ingestor(con).ingest([str(one_large_file)], on_bytes=lambda done, total: seen.append((done, total)))
    con.close()
    size = one_large_file.stat().st_size
    assert len(seen) == len(reading.chunks(one_large_file, 0, size)) > 5  # it moved within the file
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (size, size)
