"""The database file: only crossover's own is opened, reads never write, files are private, locks are waited for."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
import time

import duckdb
import pytest

from analyzer.storage import connection

from .conftest import chat_line, invoke


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(chat_line(messages=[{"role": "user", "content": f"q{i}"}], id=f"c{i}"))
                              for i in range(3)) + "\n")
    return path


def test_another_programs_duckdb_is_refused_and_left_alone(tmp_path, log):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE requests (id INTEGER)")
    con.close()
    before = other.read_bytes()
    for args in (["report", "--db", str(other)], ["ingest", str(log), "--db", str(other)],
                 ["query", "rejects_by_file", "--db", str(other)]):
        result = invoke(args, code=2)
        assert result.output == f"Error: {other}: not a crossover database (it has tables of its own); give another --db\n"
    assert other.read_bytes() == before


def test_a_sqlite_file_as_the_database_is_one_line_and_loads_no_extension(tmp_path):
    path = tmp_path / "x.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    result = invoke(["report", "--db", str(path)], code=2)
    assert len(result.output.strip().splitlines()) == 1 and "cannot open the database" in result.output
    assert "Traceback" not in result.output


def test_extensions_are_never_installed_or_loaded_behind_the_users_back(tmp_path, log):
    invoke(["ingest", str(log)])
    con = connection.connect(tmp_path / "crossover.duckdb", read_only=True)
    try:
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
    finally:
        con.close()
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def test_the_database_is_created_readable_by_its_owner_only(tmp_path, log):
    invoke(["ingest", str(log)])
    assert stat.S_IMODE((tmp_path / "crossover.duckdb").stat().st_mode) == 0o600
    assert list(tmp_path.glob("*.wal")) == [] or all(stat.S_IMODE(p.stat().st_mode) == 0o600
                                                     for p in tmp_path.glob("*.wal"))


def test_databases_are_marked_as_crossovers(tmp_path, log):
    invoke(["ingest", str(log)])
    with duckdb.connect(str(tmp_path / "crossover.duckdb"), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'application'").fetchall() == [("crossover",)]


def test_report_on_a_run_that_did_not_finish_says_so(tmp_path, log):
    invoke(["ingest", str(log)])
    with duckdb.connect(str(tmp_path / "crossover.duckdb")) as con:  # as a run killed before its final pass
        con.execute("UPDATE meta SET value = 'pending' WHERE key = 'final_pass'")
    result = invoke(["report"], code=2)
    assert result.output.startswith("Error: ") and "the last ingest did not finish" in result.output
    assert len(result.output.strip().splitlines()) == 1
    invoke(["ingest", str(log)])  # nothing new, but the final pass runs and commits
    invoke(["report"])


def hold_lock(path, seconds: float) -> subprocess.Popen:
    """Another process holding the database's write lock for ``seconds``."""
    code = (f"import duckdb, sys, time; con = duckdb.connect({str(path)!r}); print('held', flush=True); "
            f"time.sleep({seconds}); con.close()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_locked_database_is_waited_for_then_given_up_on(tmp_path, log, monkeypatch, capfd):
    invoke(["ingest", str(log)])
    monkeypatch.setattr(connection, "LOCK_TIMEOUT", 0.6)
    holder = hold_lock(tmp_path / "crossover.duckdb", 30)
    try:
        result = invoke(["report"], code=2)
        assert "still locked by process" in result.output and "after 0.6s" in result.output
        assert "waiting up to 0.6s" in result.output + capfd.readouterr().err  # said once, as it starts waiting
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_released_in_time_is_waited_for(tmp_path, log, monkeypatch):
    invoke(["ingest", str(log)])
    monkeypatch.setattr(connection, "LOCK_TIMEOUT", 30)
    holder = hold_lock(tmp_path / "crossover.duckdb", 1.0)
    try:
        started = time.monotonic()
        invoke(["report", "--format", "json"])
        assert time.monotonic() - started < 25
    finally:
        holder.wait()


@pytest.mark.parametrize("sql", [
    "COPY (SELECT * FROM requests) TO '{tmp}/out.csv'",
    "EXPORT DATABASE '{tmp}/exported'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/root/*')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
])
def test_query_files_reach_nothing_but_the_database(tmp_path, log, sql):
    invoke(["ingest", str(log)])
    (tmp_path / "evil.sql").write_text(sql.format(tmp=tmp_path))
    result = invoke(["query", "evil.sql"], code=2)
    assert result.output.startswith("Error: query evil failed: ") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "exported").exists()
    assert "root:" not in result.output
    # and the database still answers on the same kind of connection
    (tmp_path / "fine.sql").write_text("SELECT count(*) AS n FROM requests")
    assert '"n": 3' in invoke(["query", "fine.sql", "--format", "json"]).output
