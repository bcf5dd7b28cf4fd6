"""Shared fixtures: every test runs in its own directory with its own database, never the user's."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CROSSOVER_CORPUS", REPO.parent / "shared" / "corpus"))
SAMPLE_LOGS = REPO / "sample_logs"


def pytest_addoption(parser):
    parser.addoption("--fuzz-examples", type=int, default=400, help="examples in the long fuzz run (-m fuzz)")


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    """Run in a temporary directory; ./crossover.duckdb and $CROSSOVER_DB point inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROSSOVER_DB", str(tmp_path / "crossover.duckdb"))
    monkeypatch.setenv("COLUMNS", "200")
    yield tmp_path


@pytest.fixture
def corpus() -> Path:
    """The real recorded traffic of ../shared/corpus; skipped where it is absent (a user's clone)."""
    if not CORPUS.is_dir():
        pytest.skip(f"real-traffic corpus not found at {CORPUS} (only beside the project's own checkout)")
    return CORPUS


def bench_script(name: str):
    """A script of bench/ (the traffic generator, the screenshot maker) imported as a module."""
    import importlib
    import sys

    if str(REPO / "bench") not in sys.path:
        sys.path.insert(0, str(REPO / "bench"))
    return importlib.import_module(name)


def ingested_sample(tmp_path_factory, name: str) -> Path:
    """A new database holding the sample month, for a module's tests to share (each module its own,
    since some write to it: compare's results)."""
    from analyzer import api

    db = tmp_path_factory.mktemp(name) / f"{name}.duckdb"
    api.ingest([str(SAMPLE_LOGS)], str(db))
    return db


def table_dump(db: Path) -> str:
    """Every value of every table of a database, as text: what a search of its contents sees."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return "\n".join(str(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    finally:
        con.close()


def invoke(args: list[str], code: int = 0, input: str | None = None):
    """Run the CLI through click's runner and check its exit code."""
    result = CliRunner().invoke(cli, args, input=input, catch_exceptions=False)
    assert result.exit_code == code, f"exit {result.exit_code}, wanted {code}:\n{result.output}"
    return result


def chat_line(*, messages, model="gpt-4o", ts="2026-10-01T10:00:00Z", id=None, prompt_tokens=None, output="ok",
              completion_tokens=1, cached_tokens=0, tools=None, response_format=None, sample_rate=None, **request):
    """One logged Chat Completions call in the middleware wrapper shape."""
    body = {"model": model, "messages": messages, **request}
    if tools:
        body["tools"] = tools
    if response_format:
        body["response_format"] = response_format
    response = {"object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": output}, "finish_reason": "stop"}]}
    if id:
        response["id"] = id
    if prompt_tokens is not None:
        response["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens,
                             "prompt_tokens_details": {"cached_tokens": cached_tokens}}
    line = {"timestamp": ts, "request": body, "response": response}
    if sample_rate is not None:
        line["sample_rate"] = sample_rate
    return line


def write_jsonl(path: Path, lines, gz: bool = False) -> Path:
    """Write records (dicts, or raw strings written as they are) as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
