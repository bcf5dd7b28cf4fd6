"""The CLI through click's runner, and once as a real subprocess of the installed command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from analyzer import api
from analyzer.cli import cli

from .conftest import chat_line, invoke, write_jsonl
from .test_tokenizing import COOKBOOK_MESSAGES, COOKBOOK_TOOL_MESSAGES, COOKBOOK_TOOLS

SYSTEM = {"role": "system", "content": "Summarise the text in one line."}


def small_logs(tmp_path, bad: bool = False):
    lines = [chat_line(messages=[SYSTEM, {"role": "user", "content": f"text {i}"}], id=f"chatcmpl-{i}",
                       ts=f"2026-10-0{1 + i % 5}T10:00:00Z", prompt_tokens=20, output="A summary.") for i in range(12)]
    if bad:
        lines.insert(3, "{oops")
    return write_jsonl(tmp_path / "logs" / "calls.jsonl", lines)


def test_commands_and_api_share_their_verbs():
    assert set(cli.commands) == set(api.__all__) - {"list_queries"}


@pytest.mark.parametrize(("model", "expected"), [("gpt-4o", 124), ("gpt-4o-mini", 124), ("gpt-4", 129)])
def test_count_gives_the_cookbook_numbers(tmp_path, model, expected):
    (tmp_path / "m.json").write_text(json.dumps({"model": model, "messages": COOKBOOK_MESSAGES}))
    out = json.loads(invoke(["count", "m.json", "--format", "json"]).stdout)
    assert out["prompt_tokens"] == expected and out["model"] == model
    assert set(out) >= {"model", "encoding", "prompt_tokens", "segments", "output_tokens"}
    assert set(out["segments"]) == {"system", "fewshot", "tools", "history", "input"}
    assert sum(out["segments"].values()) == expected and out["segments"]["fewshot"] > 0


@pytest.mark.parametrize(("model", "expected"), [("gpt-4o", 101), ("gpt-4", 105)])
def test_count_tools_from_stdin_with_model_flag(model, expected):
    body = json.dumps({"messages": COOKBOOK_TOOL_MESSAGES, "tools": COOKBOOK_TOOLS})
    out = json.loads(invoke(["count", "-", "--model", model, "--format", "json"], input=body).stdout)
    assert out["prompt_tokens"] == expected and out["encoding"] == ("o200k_base" if model == "gpt-4o" else "cl100k_base")


def test_count_a_bare_messages_list_and_a_logged_request(tmp_path):
    (tmp_path / "bare.json").write_text(json.dumps(COOKBOOK_MESSAGES))
    assert "prompt        124" in invoke(["count", "bare.json"]).output
    line = chat_line(messages=COOKBOOK_MESSAGES, prompt_tokens=124, output="Sure.")
    (tmp_path / "logged.json").write_text(json.dumps(line))
    out = json.loads(invoke(["count", "logged.json", "--format", "json"]).stdout)
    assert out["prompt_tokens"] == out["reported_prompt_tokens"] == 124 and out["output_tokens"] == 2


def _table_lines(text: str) -> list[tuple[str, int]]:
    return [(kind, int(n.replace(",", ""))) for kind, n in (line.split() for line in text.splitlines()[1:])]


def test_count_markdown_and_csv_hold_the_terminal_lines(tmp_path):
    # A long system prompt, so that a count needs its thousands separator, and a reported usage line.
    messages = [{"role": "system", "content": "Sort the ticket. " * 400}, *COOKBOOK_MESSAGES[1:]]
    (tmp_path / "logged.json").write_text(json.dumps(chat_line(messages=messages, prompt_tokens=1234, output="Sure.")))
    table = invoke(["count", "logged.json"]).output
    lines = _table_lines(table)
    assert [k for k, _ in lines] == ["system", "fewshot", "tools", "history", "input", "prompt", "reported", "output"]
    assert dict(lines)["reported"] == 1234 and dict(lines)["system"] > 1000 and "," in table

    markdown = invoke(["count", "logged.json", "--format", "markdown"]).output.splitlines()
    assert markdown[0] == table.splitlines()[0] and markdown[2:4] == ["| segment | tokens |", "|---|---:|"]
    assert [(k, int(n.replace(",", ""))) for k, n in (row.strip("| ").split(" | ") for row in markdown[4:])] == lines

    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(invoke(["count", "logged.json", "--format", "csv"]).stdout)))
    assert [(r["segment"], int(r["tokens"])) for r in rows] == lines
    assert {(r["model"], r["encoding"], r["exact_tokenizer"]) for r in rows} == {("gpt-4o", "o200k_base", "true")}


@pytest.mark.parametrize("args", [
    ["count", "missing.json"], ["ingest", "no/such/dir"], ["report"], ["query", "daily_volume"],
    ["templates"], ["ingest", ".", "--log-format", "no-such-format"],
])
def test_user_errors_exit_2_with_one_line(args):
    result = invoke(args, code=2)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output


def test_ingest_format_is_the_deprecated_log_format_and_still_works(tmp_path):
    small_logs(tmp_path)
    new = invoke(["ingest", "logs", "--db", "new.duckdb", "--log-format", "openai-chat"])
    assert "deprecated" not in new.stderr and "12 stored" in new.stderr
    old = invoke(["ingest", "logs", "--db", "old.duckdb", "--format", "openai-chat", "--quiet"])
    warning = "warning: `crossover ingest --format NAME` is deprecated and goes in the next release: use `--log-format NAME`"
    assert old.stderr.splitlines() == [warning]
    assert api.templates("old.duckdb")["requests"].to_list() == api.templates("new.duckdb")["requests"].to_list() == [12]
    # The old spelling still means the log format: a name that is none is the same error as before.
    bad = invoke(["ingest", "logs", "--db", "bad.duckdb", "--format", "no-such-format"], code=2)
    assert bad.stderr.splitlines()[0] == warning and "no-such-format" in bad.stderr.splitlines()[1]
    clash = invoke(["ingest", "logs", "--format", "openai-chat", "--log-format", "langfuse"], code=2)
    assert "disagree" in clash.stderr
    assert "--format" not in invoke(["ingest", "--help"]).output.replace("--log-format", "")


def test_a_file_that_is_not_a_database_is_a_user_error(tmp_path):
    (tmp_path / "notes.duckdb").write_text("not a database")
    for args in (["report", "--db", "notes.duckdb"], ["ingest", ".", "--db", "notes.duckdb"]):
        out = invoke(args, code=2).output
        assert out.startswith("Error: ") and "cannot open the database" in out and out.count("\n") == 1


def test_a_database_locked_by_another_process_is_a_user_error(tmp_path, monkeypatch):
    from analyzer.storage import connection
    monkeypatch.setattr(connection, "LOCK_TIMEOUT", 0.5)  # waited for that long, then a user error
    small_logs(tmp_path)
    invoke(["ingest", "logs", "--quiet"])
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(tmp_path / "crossover.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        out = invoke(["ingest", "logs"], code=2).output
        assert "still locked by process" in out and "after 0.5s" in out
    finally:
        holder.kill()


def test_not_a_request_is_a_user_error(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    assert "not a request" in invoke(["count", "x.json"], code=2).output


def test_ingest_summary_and_strict(tmp_path):
    small_logs(tmp_path, bad=True)
    result = invoke(["ingest", "logs"])
    assert "13 read = 12 stored + 0 duplicates + 1 rejected" in result.output
    assert "line 4: malformed JSON" in result.output
    strict = invoke(["ingest", "logs", "--strict", "--db", "other.duckdb"], code=1)
    assert "1 rejected" in strict.output
    assert invoke(["ingest", "logs", "--quiet", "--db", "third.duckdb"]).output == ""


def test_query_list_run_formats_and_params(tmp_path):
    small_logs(tmp_path, bad=True)
    invoke(["ingest", "logs", "--quiet"])
    listing = invoke(["query", "--list", "--format", "json"]).output
    names = {q["name"] for q in json.loads(listing)}
    assert {"daily_volume", "token_anatomy", "cost_by_model_day", "templates_by_spend", "counted_vs_reported"} <= names
    rows = json.loads(invoke(["query", "token_anatomy", "--format", "json"]).stdout)
    assert rows[0]["requests"] == 12 and rows[0]["system_share"] > 0
    csv = invoke(["query", "cost_by_model_day", "--format", "csv"]).output.splitlines()
    assert csv[0].startswith("day,model,requests") and len(csv) == 6
    assert "| day |" in invoke(["query", "daily_volume", "--format", "markdown"]).output
    path = str((tmp_path / "logs" / "calls.jsonl").resolve())
    rejects = json.loads(invoke(["query", "rejects_by_file", "--param", f"file={path}", "--format", "json"]).stdout)
    assert rejects == [{"file": path, "reason": rejects[0]["reason"], "rejected": 1, "first_line": 4}]
    assert json.loads(invoke(["query", "rejects_by_file", "-p", "file=/elsewhere", "--format", "json"]).stdout) == []
    assert "takes no parameter" in invoke(["query", "daily_volume", "--param", "x=1"], code=2).output
    assert "no saved query" in invoke(["query", "nope"], code=2).output
    assert "not both" in invoke(["query", "daily_volume", "--list"], code=2).output
    (tmp_path / "mine.sql").write_text("-- title: Mine\nSELECT count(*) AS n FROM requests WHERE model = $model\n")
    assert json.loads(invoke(["query", "mine.sql", "-p", "model=gpt-4o", "--format", "json"]).stdout) == [{"n": 12}]
    assert "needs --param model" in invoke(["query", "mine.sql"], code=2).output


def test_queries_run_read_only(tmp_path):
    small_logs(tmp_path)
    invoke(["ingest", "logs", "--quiet"])
    (tmp_path / "evil.sql").write_text("DELETE FROM requests")
    assert "read-only mode" in invoke(["query", "evil.sql"], code=2).output
    (tmp_path / "typo.sql").write_text("SELEC 1")
    assert "query typo failed: Parser Error" in invoke(["query", "typo.sql"], code=2).output


def test_templates_formats_and_prices(tmp_path):
    small_logs(tmp_path)
    invoke(["ingest", "logs", "--quiet"])
    [row] = json.loads(invoke(["templates", "--format", "json"]).stdout)
    assert row["label"] == "Summarise the text in one line." and row["requests"] == 12 and row["share_of_spend"] == 1
    assert "openai-chat" in invoke(["formats"]).output
    [price] = json.loads(invoke(["prices", "gpt-4o-mini", "--format", "json"]).stdout)
    assert price["input"] == 0.15 and price["ft_input"] == 0.3 and "genai-prices" in price["source"]
    assert json.loads(invoke(["prices", "--format", "json"]).stdout)[0]["model"] == "gpt-4o"


def test_report_table_and_markdown(tmp_path):
    small_logs(tmp_path)
    table = invoke(["analyze", "logs", "--quiet"]).output
    assert "Fine-tuning projection per template" in table and "NO-GO" in table and "Summarise the text" in table
    markdown = invoke(["report", "--format", "markdown"]).stdout
    assert markdown.startswith("# Fine-tuning projection") and "## NO-GO: Summarise the text in one line." in markdown
    html = invoke(["report", "--format", "html"]).stdout
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert '<h2><span class="badge no-go">NO-GO</span>Summarise the text in one line.' in html


def test_installed_command_runs_as_a_subprocess(tmp_path):
    small_logs(tmp_path)
    command = [shutil.which("crossover")] if shutil.which("crossover") else [sys.executable, "-m", "analyzer"]
    env = {**os.environ, "CROSSOVER_DB": str(tmp_path / "sub.duckdb")}
    done = subprocess.run([*command, "analyze", str(tmp_path / "logs"), "--format", "json"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["overall"]["requests"] == 12
    assert "12 read = 12 stored" in done.stderr
    missing = subprocess.run([*command, "ingest", str(tmp_path / "nope")], capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr


def test_timezone_option_reads_naive_times_in_that_zone(tmp_path):
    line = chat_line(messages=[SYSTEM, {"role": "user", "content": "x"}], id="c1", ts="2026-10-01 01:30:00")
    write_jsonl(tmp_path / "a.jsonl", [line])
    invoke(["ingest", "a.jsonl", "--timezone", "America/New_York", "--quiet"])
    rows = json.loads(invoke(["query", "daily_volume", "--format", "json"]).stdout)
    assert rows[0]["day"] == "2026-10-01"  # 01:30 in New York is 05:30 UTC, the same day
    invoke(["ingest", "a.jsonl", "--timezone", "+09:00", "--quiet", "--db", "tokyo.duckdb"])
    rows = json.loads(invoke(["query", "daily_volume", "--db", "tokyo.duckdb", "--format", "json"]).stdout)
    assert rows[0]["day"] == "2026-09-30"  # 01:30 in Tokyo is 16:30 UTC the day before
    assert "unknown time zone 'Mars/Olympus'" in invoke(["ingest", "a.jsonl", "--timezone", "Mars/Olympus"], code=2).output
