"""Files and directories that used to hang a run, lose it, or add the same reject on every run."""

from __future__ import annotations

import json
import os

import duckdb
import pytest

from analyzer import ingesting, reading

from .conftest import chat_line, invoke


def lines(n: int) -> list[str]:
    return [json.dumps(chat_line(messages=[{"role": "user", "content": f"question {i}"}], id=f"c{i}")) for i in range(n)]


def rejects(db) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT file, line, reason FROM rejects ORDER BY file, line").fetchall()
    finally:
        con.close()


def test_a_fifo_named_directly_is_refused_unopened(tmp_path):
    fifo = tmp_path / "log.jsonl"
    os.mkfifo(fifo)  # opening it to read would block until a writer came
    result = invoke(["ingest", str(fifo)], code=2)
    assert result.output.strip() == f"Error: {fifo}: not a regular file (a FIFO); give log files or directories"


def test_a_device_named_directly_is_refused():
    result = invoke(["ingest", "/dev/zero"], code=2)
    assert "not a regular file (a character device)" in result.output


def test_cr_only_line_ends_read_every_record(tmp_path):
    log = tmp_path / "mac.jsonl"
    log.write_bytes(("\r".join(lines(3)) + "\r").encode())
    result = invoke(["ingest", str(log)])
    assert "3 read = 3 stored" in result.output
    again = invoke(["ingest", str(log)])
    assert "1 files (1 unchanged, skipped)" in again.output


def test_a_dangling_symlink_is_recorded_once(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "ok.jsonl").write_text("\n".join(lines(1)) + "\n")
    (logs / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    invoke(["ingest", str(logs)])
    invoke(["ingest", str(logs)])
    found = rejects(tmp_path / "crossover.duckdb")
    assert found == [(str(logs / "gone.jsonl"), 0,
                      f"cannot read file: a symlink to {tmp_path / 'nowhere.jsonl'}, which does not exist")]


def test_an_unreadable_file_is_recorded_once_then_read_when_it_can_be(tmp_path, monkeypatch):
    log = tmp_path / "locked.jsonl"
    log.write_text("\n".join(lines(2)) + "\n")
    real = ingesting.fingerprint

    def denied(path, *args, **kwargs):  # root reads any file whatever its mode: deny it here
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ingesting, "fingerprint", denied)
    invoke(["ingest", str(log)])
    second = invoke(["ingest", str(log)])
    assert "1 unchanged, skipped" in second.output
    assert rejects(tmp_path / "crossover.duckdb") == [(str(log), 0, "cannot read file: Permission denied")]
    monkeypatch.setattr(ingesting, "fingerprint", real)
    third = invoke(["ingest", str(log)])
    assert "2 read = 2 stored" in third.output
    assert rejects(tmp_path / "crossover.duckdb") == []


@pytest.mark.parametrize("gz", [False, True])
def test_a_json_document_over_the_size_limit_is_streamed_record_by_record(tmp_path, monkeypatch, gz):
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 4000)  # what 32 MiB is to a real file
    monkeypatch.setattr(reading, "DOCUMENT_READ", 300)
    records = [json.loads(line) for line in lines(40)]
    text = json.dumps(records, indent=2)
    assert len(text) > 4000
    doc = tmp_path / ("big.json.gz" if gz else "big.json")
    if gz:
        import gzip
        doc.write_bytes(gzip.compress(text.encode()))
    else:
        doc.write_text(text)
    result = invoke(["ingest", str(doc)])
    assert "40 read = 40 stored" in result.output


def test_a_large_document_cut_short_keeps_what_came_before(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 2000)
    monkeypatch.setattr(reading, "DOCUMENT_READ", 100)
    text = json.dumps([json.loads(line) for line in lines(20)], indent=1)
    doc = tmp_path / "cut.json"
    doc.write_text(text[: len(text) * 3 // 4])
    result = invoke(["ingest", str(doc)])
    assert "rejected" in result.output
    found = rejects(tmp_path / "crossover.duckdb")
    assert len(found) == 1 and "the rest of the document is not read" in found[0][2]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to find the workers")
def test_workers_die_with_their_parent(tmp_path):
    import shutil
    import signal
    import subprocess
    import sys
    import time
    logs = tmp_path / "logs"
    logs.mkdir()
    for part in range(2):  # over PARALLEL_MIN_BYTES in two files: read by two worker processes
        body = "\n".join(json.dumps(chat_line(messages=[{"role": "user", "content": f"q{part}-{i} " + "x" * 400}],
                                              id=f"c{part}-{i}")) for i in range(9000))
        (logs / f"{part}.jsonl").write_text(body + "\n")
    crossover = shutil.which("crossover") or os.path.join(os.path.dirname(sys.executable), "crossover")
    parent = subprocess.Popen([crossover, "ingest", str(logs), "--db", str(tmp_path / "p.duckdb"), "--jobs", "2",
                               "--quiet"], env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_children(parent.pid)) < 2:
            time.sleep(0.1)
        workers = _children(parent.pid)
        assert workers, "no worker started"
        time.sleep(1)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers)
        assert not list(tmp_path.glob("crossover-spool-*"))
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
