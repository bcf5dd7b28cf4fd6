"""Saved queries that take a log file's path accept it as ingest does: relative, or by any route to the file."""

from __future__ import annotations

import json
import os

from analyzer import queries

from .conftest import chat_line, invoke, write_jsonl


def rejects(path: str, cwd=None) -> list[dict]:
    before = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return json.loads(invoke(["query", "rejects_by_file", "-p", f"file={path}", "--format", "json"]).stdout)
    finally:
        os.chdir(before)


def test_rejects_by_file_takes_the_path_relative_or_absolute(tmp_path):
    log = write_jsonl(tmp_path / "logs" / "calls.jsonl", [chat_line(messages=[{"role": "user", "content": "hi"}]),
                                                          "{oops"])
    write_jsonl(tmp_path / "logs" / "other.jsonl", ["{also bad"])
    invoke(["ingest", "logs", "--quiet"])  # named relative to the working directory, as a user would
    every = json.loads(invoke(["query", "rejects_by_file", "--format", "json"]).stdout)
    assert {r["file"] for r in every} == {str(log), str(tmp_path / "logs" / "other.jsonl")}

    absolute = rejects(str(log))
    assert [(r["file"], r["first_line"]) for r in absolute] == [(str(log), 2)]
    assert rejects("logs/calls.jsonl") == rejects("./logs/../logs/calls.jsonl") == absolute
    assert rejects("calls.jsonl") == []  # from tmp_path, that names another file
    assert rejects("calls.jsonl", cwd=tmp_path / "logs") == absolute
    os.symlink(tmp_path / "logs", tmp_path / "linked")
    assert rejects("linked/calls.jsonl") == absolute  # a symlink on the way resolves to the recorded file

    log.unlink()  # gone since its ingest: still found by the path it had
    assert rejects("logs/calls.jsonl") == absolute
    assert rejects("logs/nothing-here.jsonl") == []


def test_a_users_query_with_a_path_parameter_gets_it_resolved(tmp_path):
    write_jsonl(tmp_path / "logs" / "calls.jsonl", ["{oops", "{oops"])
    invoke(["ingest", "logs", "--quiet"])
    (tmp_path / "mine.sql").write_text("SELECT count(*) AS n, min(file) AS file FROM rejects WHERE file = $log_path\n")
    [row] = json.loads(invoke(["query", "mine.sql", "-p", "log_path=logs/calls.jsonl", "--format", "json"]).stdout)
    assert row == {"n": 2, "file": str(tmp_path / "logs" / "calls.jsonl")}
    # Only path parameters are touched: another value that looks like a path is passed as written.
    (tmp_path / "text.sql").write_text("SELECT $label AS label\n")
    [row] = json.loads(invoke(["query", "text.sql", "-p", "label=logs/calls.jsonl", "--format", "json"]).stdout)
    assert row == {"label": "logs/calls.jsonl"}
    assert [n for n in ("file", "path", "log_file", "batch_path", "profile", "paths", "filename")
            if queries.is_path_param(n)] == ["file", "path", "log_file", "batch_path"]
