"""Fuzzing ``ingest`` over every registered format: no exception escapes, and the accounting adds up.

The inputs are the golden cases of each format, spoiled (see :mod:`tests.fuzzing`). The quick test
runs in every suite run, derandomized so it fails the same way each time; the long one runs with
``pytest -m fuzz`` (``--fuzz-examples N`` sets its size) and is left out by default.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import parsers, storage
from analyzer.ingesting import Ingestor

from .fuzzing import case_records, log_files


def ingest_files(files: list[tuple[str, bytes]]) -> None:
    """Write the files and ingest them into a fresh in-memory database; check every file's accounting."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (name, data) in enumerate(files):
            path = Path(tmp) / f"{i}-{name}"
            path.write_bytes(data)
            paths.append(str(path))
        con = storage.connect(":memory:")
        try:
            run = Ingestor(con).ingest(paths)  # must not raise, whatever the files hold
            for result in run.files:
                assert result.records == result.stored + result.duplicates + result.rejected + result.pending, result
            rows = con.execute("SELECT path, records, stored, duplicates, rejected, pending FROM files").fetchall()
            assert len(rows) == len(paths)
            for file, records, stored, duplicates, rejected, pending in rows:
                assert records == stored + duplicates + rejected + (pending or 0), file
            assert con.execute("SELECT count(*) FROM requests").fetchone()[0] == run.total("stored")
        finally:
            con.close()


def test_the_fuzz_covers_every_registered_format():
    assert {name for name, _ in case_records()} == {f.name for f in parsers.formats()}


@settings(max_examples=int(os.environ.get("CROSSOVER_FUZZ_QUICK", "12")), derandomize=True, deadline=None,
          database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(log_files(max_lines=30), min_size=1, max_size=3))
def test_ingest_survives_hostile_files(files):
    ingest_files(files)


@pytest.mark.fuzz
def test_ingest_survives_hostile_files_at_length(request):
    """The long run: many more examples, larger files, a deadline per example to find slow paths."""
    examples = request.config.getoption("--fuzz-examples")

    @settings(max_examples=examples, derandomize=False, deadline=30_000, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(log_files(max_lines=120), min_size=1, max_size=4))
    def run(files):
        ingest_files(files)

    run()
