"""Ingest into a real DuckDB file: accounting, idempotence, transactions, few-shot vs history."""

from __future__ import annotations

import gzip
import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import api, examples, extracting, ingesting, storage
from analyzer.errors import DatabaseUnusable
from analyzer.storage import arrow, migrations

from .conftest import chat_line, write_jsonl

SYSTEM = {"role": "system", "content": "You route support tickets. Answer with one category."}
EXAMPLES = [{"role": "user", "content": "My card was charged twice."}, {"role": "assistant", "content": "billing"},
            {"role": "user", "content": "The app crashes on start."}, {"role": "assistant", "content": "bug"}]


def classifier_lines(n, start=0):
    return [chat_line(messages=[SYSTEM, *EXAMPLES, {"role": "user", "content": f"ticket number {i} is about a refund"}],
                      id=f"chatcmpl-c{i}", ts=f"2026-10-{1 + i % 28:02d}T09:{i % 60:02d}:00Z", prompt_tokens=100)
            for i in range(start, start + n)]


def session_lines(sessions, turns):
    lines = []
    for s in range(sessions):
        history = []
        for t in range(turns):
            user = {"role": "user", "content": f"session {s} question {t}"}
            answer = f"session {s} answer {t}"
            lines.append(chat_line(messages=[{"role": "system", "content": "You are a helpful shop assistant."}, *history, user],
                                   id=f"chatcmpl-s{s}-{t}", ts=f"2026-10-02T1{s % 10}:{t:02d}:00Z", output=answer,
                                   metadata={"session_id": f"s{s}"}))
            history += [user, {"role": "assistant", "content": answer}]
    return lines


def db():
    return duckdb.connect(str(storage.db_path()), read_only=True)


def test_accounting_identity_and_rejects_are_stored(tmp_path):
    write_jsonl(tmp_path / "logs/day1.jsonl", [*classifier_lines(5), "{broken", {"event": "heartbeat"}, ""])
    write_jsonl(tmp_path / "logs/day2.jsonl.gz", classifier_lines(3, start=3), gz=True)  # 2 duplicates of day 1
    result = api.ingest([tmp_path / "logs"])
    assert [(f.records, f.stored, f.duplicates, f.rejected) for f in result.files] == [(7, 5, 0, 2), (3, 1, 2, 0)]
    with db() as con:
        assert con.execute("SELECT count(*) FROM requests").fetchone()[0] == 6
        rejects = con.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()
        assert rejects[0][0] == 6 and rejects[0][1].startswith("malformed JSON")
        assert rejects[1] == (7, "unknown record shape (object with keys event)")
        assert con.execute("SELECT sum(records), sum(stored + duplicates + rejected) FROM files").fetchone() == (10, 10)


def test_a_file_of_only_bad_lines_is_flushed_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(extracting, "BATCH_REQUESTS", 10)
    sizes = []
    real_append = arrow.append
    monkeypatch.setattr(arrow, "append", lambda con, table, frame, keyed=True: (
        sizes.append(len(frame)) if table == "rejects" else None, real_append(con, table, frame, keyed))[1])
    (tmp_path / "binary.jsonl").write_bytes(b"\x00\x01\x02 not json\n" * 35)
    [f] = api.ingest([tmp_path / "binary.jsonl"]).files
    assert (f.records, f.rejected) == (35, 35) and sizes == [10, 10, 10, 5]


def test_reingesting_unchanged_files_changes_nothing(tmp_path):
    write_jsonl(tmp_path / "logs/a.jsonl", classifier_lines(6))
    api.ingest([tmp_path / "logs"])
    with db() as con:
        before = con.execute("SELECT * FROM requests ORDER BY request_id").fetchall()
        files_before = con.execute("SELECT path, content_hash, ingested_at FROM files").fetchall()
    again = api.ingest([tmp_path / "logs"])
    assert [f.skipped for f in again.files] == [True] and again.total("records") == 0
    with db() as con:
        assert con.execute("SELECT * FROM requests ORDER BY request_id").fetchall() == before
        assert con.execute("SELECT path, content_hash, ingested_at FROM files").fetchall() == files_before


def test_a_file_that_grew_is_read_on_from_where_it_stopped(tmp_path):
    path = write_jsonl(tmp_path / "today.jsonl", classifier_lines(4))
    api.ingest([path])
    write_jsonl(path, classifier_lines(6))  # the same 4 lines, then 2 appended
    [f] = api.ingest([path]).files
    assert f.tail and (f.records, f.stored, f.rejected) == (2, 2, 0) and not f.warnings
    with db() as con:
        assert con.execute("SELECT count(*), max(line) FROM requests").fetchone() == (6, 6)
        assert con.execute("SELECT records, stored, lines_read FROM files").fetchone() == (6, 6, 6)


def test_a_gzip_file_that_grew_is_read_on_too(tmp_path):
    path = write_jsonl(tmp_path / "today.jsonl.gz", classifier_lines(3), gz=True)
    api.ingest([path])
    with open(path, "ab") as f:  # an appending gzip writer adds a member
        f.write(gzip.compress("".join(json.dumps(line) + "\n" for line in classifier_lines(2, start=3)).encode()))
    [f] = api.ingest([path]).files
    assert f.tail and (f.records, f.stored) == (2, 2)
    with db() as con:
        assert con.execute("SELECT count(*), max(line) FROM requests").fetchone() == (5, 5)


def test_a_file_whose_read_part_changed_is_read_again_whole_with_a_warning(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", classifier_lines(4))
    api.ingest([path])
    write_jsonl(path, classifier_lines(5, start=100))  # rewritten, not appended to
    [f] = api.ingest([path]).files
    assert not f.tail and (f.records, f.stored) == (5, 5) and "changed" in f.warnings[0]
    with db() as con:
        assert con.execute("SELECT count(*), count(DISTINCT file) FROM requests").fetchone() == (5, 1)
        assert con.execute("SELECT count(*) FROM files").fetchone()[0] == 1


def test_a_half_written_last_line_waits_for_the_next_run(tmp_path):
    lines = classifier_lines(3)
    path = tmp_path / "live.jsonl"
    whole = json.dumps(lines[2])
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[1]) + "\n" + whole[:40])
    [f] = api.ingest([path]).files
    assert (f.records, f.stored, f.rejected) == (2, 2, 0) and "incomplete" in f.warnings[0]
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[1]) + "\n" + whole + "\n")
    [f] = api.ingest([path]).files
    assert f.tail and (f.records, f.stored, f.rejected) == (1, 1, 0) and not f.warnings
    with db() as con:
        assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
        assert con.execute("SELECT records, lines_read FROM files").fetchone() == (3, 3)


def test_a_file_that_fails_midway_leaves_nothing_behind(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "logs/a.jsonl", classifier_lines(3))
    write_jsonl(tmp_path / "logs/b.jsonl", classifier_lines(5, start=10))
    api.ingest([tmp_path / "logs/a.jsonl"])
    monkeypatch.setattr(extracting, "BATCH_REQUESTS", 2)
    calls = {"n": 0}
    real_append = arrow.append

    def failing_append(con, table, frame, keyed=True):
        if table == "requests":
            calls["n"] += 1
            if calls["n"] == 2:  # the second batch of b.jsonl
                raise KeyboardInterrupt
        return real_append(con, table, frame, keyed)

    monkeypatch.setattr(arrow, "append", failing_append)
    with pytest.raises(KeyboardInterrupt):
        api.ingest([tmp_path / "logs"])
    with db() as con:
        assert con.execute("SELECT count(*) FROM requests").fetchone()[0] == 3
        assert [r[0].endswith("a.jsonl") for r in con.execute("SELECT path FROM files").fetchall()] == [True]


# A run killed (no cleanup at all) after its first batches of a file were committed: run in a child
# process whose third batch of request rows ends it with os._exit, as kill -9 would.
_KILLED_RUN = """
import os, sys
from analyzer import api, extracting
from analyzer.storage import arrow
extracting.BATCH_REQUESTS = 2
real, calls = arrow.append, [0]
def append(con, table, frame, keyed=True):
    if table == "requests":
        calls[0] += 1
        if calls[0] == 3:
            os._exit(9)
    return real(con, table, frame, keyed)
arrow.append = append
api.ingest([sys.argv[1]], sys.argv[2])
"""

# What a run leaves that says when it ran, not what it read. A file's modification time is kept only
# once it is two seconds old (ingesting.SETTLED_NS), so whether it is kept depends on how fast the run was.
_WHEN = {"rejects": "rejected_at", "_migrations": "applied_at", "files": "ingested_at, mtime_ns"}


def _tables(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {n: sorted(map(repr, con.execute(f'SELECT * EXCLUDE ({_WHEN[n]}) FROM "{n}"' if n in _WHEN
                                                 else f'SELECT * FROM "{n}"').fetchall())) for n in names}


@pytest.mark.parametrize("tail", [False, True], ids=["whole file", "tail of a grown file"])
def test_a_killed_run_is_taken_back_by_the_next(tmp_path, tail):
    import subprocess
    import sys

    lines = classifier_lines(9) + session_lines(sessions=2, turns=3) + ["not json"]
    log = tmp_path / "a.jsonl"
    killed = tmp_path / "killed.duckdb"
    if tail:  # read once whole, then grown, and the run that reads the new lines is killed
        write_jsonl(log, lines[:4])
        api.ingest([log], killed)
    write_jsonl(log, lines)
    child = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(log), str(killed)], capture_output=True, text=True)
    assert child.returncode == 9, child.stderr
    with duckdb.connect(str(killed), read_only=True) as con:  # it had committed rows of the file, unfinished
        assert con.execute("SELECT count(*) FROM requests").fetchone()[0] >= 4
        assert con.execute("SELECT value FROM meta WHERE key = 'writing'").fetchone() is not None
    again = api.ingest([log], killed)
    assert any("stopped while writing it" in w for w in again.warnings)
    clean = tmp_path / "clean.duckdb"
    if tail:
        write_jsonl(log, lines[:4])
        api.ingest([log], clean)
        write_jsonl(log, lines)
    api.ingest([log], clean)
    assert _tables(killed) == _tables(clean)


def test_repeated_pairs_are_fewshot_and_sessions_are_history(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", classifier_lines(10))
    write_jsonl(tmp_path / "s.jsonl", session_lines(sessions=4, turns=3))
    api.ingest([tmp_path])
    with db() as con:
        rows = con.execute("""
            SELECT t.label, min(fewshot_tokens), max(fewshot_tokens), max(history_tokens),
                   bool_and(system_tokens + fewshot_tokens + tools_tokens + history_tokens + input_tokens = prompt_tokens)
            FROM requests JOIN templates t USING (template_id) GROUP BY ALL ORDER BY 1""").fetchall()
    assert rows[0][1:] == (0, 0, rows[0][3], True) and rows[0][3] > 0  # the shop assistant: history, no few-shot
    from analyzer.tokenizing import Counter

    fewshot = sum(Counter("gpt-4o").message(m) for m in EXAMPLES)
    assert rows[1][1:] == (fewshot, fewshot, 0, True)  # the router: its 4 example turns are few-shot


def test_few_shot_needs_enough_requests(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", classifier_lines(examples.FEWSHOT_MIN_REQUESTS - 1))
    api.ingest([tmp_path])
    with db() as con:
        assert con.execute("SELECT max(fewshot_tokens), min(history_tokens) FROM requests").fetchone()[0] == 0


def test_migrations_are_recorded_once(tmp_path):
    con = storage.connect(tmp_path / "m.duckdb")
    assert migrations.apply(con) == []
    names = [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
    assert names == [name for name, _ in migrations.MIGRATIONS]
    con.close()


def test_prices_are_filled_per_model_and_day(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", classifier_lines(3) + [chat_line(messages=[SYSTEM], model="no-such-model-x", id="x1")])
    api.ingest([tmp_path])
    with db() as con:
        rows = dict(((m, d.isoformat()), (i, s)) for m, d, i, s in con.execute("SELECT model, day, input, source FROM prices").fetchall())
    assert rows[("gpt-4o", "2026-10-01")][0] == 2.5 and "genai-prices" in rows[("gpt-4o", "2026-10-01")][1]
    assert rows[("no-such-model-x", "2026-10-01")][0] is None


good = st.builds(lambda i: chat_line(messages=[SYSTEM, {"role": "user", "content": f"t{i}"}], id=f"chatcmpl-{i}"),
                 st.integers(0, 30))
bad = st.sampled_from(["{", "[1, 2", "null", '"just a string"', '{"x": 1}', "\x00\x01binary"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(good, bad), min_size=1, max_size=25))
def test_read_equals_stored_plus_duplicates_plus_rejected(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("prop")
    write_jsonl(folder / "mixed.jsonl", lines)
    con = storage.connect(folder / "p.duckdb")
    result = ingesting.Ingestor(con).ingest([folder / "mixed.jsonl"])
    [f] = result.files
    assert f.records == len(lines) == f.stored + f.duplicates + f.rejected
    assert f.stored == len({line["response"]["id"] for line in lines if isinstance(line, dict)})
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == f.rejected
    con.close()


def test_parallel_workers_store_exactly_what_one_process_does(tmp_path, monkeypatch):
    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(extracting, "BATCH_REQUESTS", 7)  # several spooled batches per file
    for day in range(4):
        write_jsonl(tmp_path / f"logs/day{day}.jsonl.gz", [*classifier_lines(20, start=day * 15), "{bad"],
                    gz=True)  # days overlap by 5 requests: duplicates across files
    write_jsonl(tmp_path / "logs/sessions.jsonl", session_lines(sessions=3, turns=4))
    tables = "SELECT * EXCLUDE (rejected_at) FROM rejects ORDER BY ALL", "SELECT * FROM requests ORDER BY request_id", \
        "SELECT * FROM middle_turns ORDER BY ALL", "SELECT * EXCLUDE (ingested_at, mtime_ns) FROM files ORDER BY path"
    seen = []
    for jobs in (1, 2):
        result = api.ingest([tmp_path / "logs"], tmp_path / f"j{jobs}.duckdb", jobs=jobs)
        assert [(f.records, f.stored, f.duplicates, f.rejected) for f in result.files][:2] == [(21, 20, 0, 1), (21, 15, 5, 1)]
        with duckdb.connect(str(tmp_path / f"j{jobs}.duckdb"), read_only=True) as con:
            seen.append([con.execute(sql).fetchall() for sql in tables])
    assert seen[0] == seen[1] and len(seen[0][1]) == 4 * 15 + 5 + 12


def test_a_database_from_an_older_version_is_upgraded_by_ingest_never_by_a_read(tmp_path):
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    old.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
    for name, fn in migrations.MIGRATIONS[:2]:  # what the first release shipped
        fn(old)
        old.execute("INSERT INTO _migrations VALUES (?, now()::TIMESTAMP)", [name])
    old.close()
    before = (tmp_path / "old.duckdb").read_bytes()
    write_jsonl(tmp_path / "a.jsonl", classifier_lines(3))
    with pytest.raises(DatabaseUnusable, match="written by an older crossover; run `crossover ingest PATH` to upgrade"):
        storage.connect(tmp_path / "old.duckdb", read_only=True)
    assert (tmp_path / "old.duckdb").read_bytes() == before  # the read wrote nothing
    api.ingest([tmp_path / "a.jsonl"], tmp_path / "old.duckdb")
    con = storage.connect(tmp_path / "old.duckdb", read_only=True)
    assert migrations.pending(con) == [] and "reported_cache_write_tokens" in {
        r[0] for r in con.execute("DESCRIBE requests").fetchall()}
    con.close()
    api.ingest([tmp_path / "a.jsonl"], tmp_path / "old.duckdb")
    assert api.report(tmp_path / "old.duckdb").overall.requests == 3


def test_progress_callback_sees_every_file_with_its_count(tmp_path):
    write_jsonl(tmp_path / "logs/a.jsonl", classifier_lines(3))
    write_jsonl(tmp_path / "logs/b.jsonl", classifier_lines(2, start=10))
    api.ingest([tmp_path / "logs/a.jsonl"])
    calls = []
    api.ingest([tmp_path / "logs"], on_file=lambda result, done, total: calls.append((result.skipped, done, total)))
    assert calls == [(True, 1, 2), (False, 2, 2)]


def test_the_final_pass_runs_again_only_when_a_file_was_read_or_the_last_one_did_not_commit(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "logs/a.jsonl", classifier_lines(6))
    passes = []
    finish = ingesting.Ingestor.finish
    monkeypatch.setattr(ingesting.Ingestor, "finish", lambda self, run=None: (passes.append(1), finish(self, run)))
    api.ingest([tmp_path / "logs"])
    api.ingest([tmp_path / "logs"])  # nothing new: the last pass stands
    assert len(passes) == 1
    with duckdb.connect(str(storage.db_path())) as con:  # as a run killed between a file and its final pass
        con.execute("UPDATE meta SET value = 'pending' WHERE key = 'final_pass'")
        con.execute("DELETE FROM templates")
    api.ingest([tmp_path / "logs"])
    assert len(passes) == 2
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM templates").fetchone()[0] == 1


def test_a_memory_limit_too_small_is_one_line_and_the_next_run_completes(tmp_path):
    import os
    import subprocess
    import sys

    log = tmp_path / "a.jsonl"
    write_jsonl(log, classifier_lines(400) + session_lines(sessions=20, turns=4))
    small = tmp_path / "small.duckdb"
    env = {**os.environ, "CROSSOVER_MEMORY_LIMIT": "8MB"}  # read once, as the process starts
    child = subprocess.run([sys.executable, "-m", "analyzer", "ingest", str(log), "--db", str(small), "--quiet"],
                           capture_output=True, text=True, env=env)
    assert child.returncode == 2, child.stderr
    assert "Traceback" not in child.stderr and len(child.stderr.strip().splitlines()) == 1, child.stderr
    assert "Out of Memory" in child.stderr and "CROSSOVER_MEMORY_LIMIT" in child.stderr
    api.ingest([log], small)  # the usual limit: what the failed run wrote was taken back
    clean = tmp_path / "clean.duckdb"
    api.ingest([log], clean)
    assert _tables(small) == _tables(clean)


def test_the_writers_pool_grows_with_the_indexed_rows_unless_the_user_set_it(tmp_path, monkeypatch):
    from analyzer.storage import connection

    def limit(con) -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    log = tmp_path / "a.jsonl"
    write_jsonl(log, classifier_lines(200))
    path = tmp_path / "db.duckdb"
    api.ingest([log], path)
    monkeypatch.delenv("CROSSOVER_MEMORY_LIMIT", raising=False)
    with storage.connect(path) as con:
        default = limit(con)
        storage.fit_pool(con)  # 200 requests and their middle turns: far below the default pool
        assert limit(con) == default
        # As if each row's index took 1 MB: the pool is 64 MB plus the rows' share, over the default.
        monkeypatch.setattr(connection, "INDEX_BYTES_PER_ROW", 10**6)
        estimates = dict(con.execute("SELECT table_name, estimated_size FROM duckdb_tables()").fetchall())
        rows = sum(estimates[t] for t, table in storage.TABLES.items() if table.key)
        assert rows >= 200  # the requests at least
        storage.fit_pool(con)
        want = duckdb.connect(config={"memory_limit": f"{(64 * 10**6 + 10**6 * rows) // 1000}KB"})
        assert limit(con) == limit(want) != default
        monkeypatch.setenv("CROSSOVER_MEMORY_LIMIT", "96MB")  # the user's choice stands, however many rows
        con.execute("SET memory_limit = '96MB'")
        storage.fit_pool(con)
        assert limit(con) == "91.5 MiB"
