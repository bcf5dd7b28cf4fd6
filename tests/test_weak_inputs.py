"""Weak input is warned about on stderr and in the JSON, each warning with a stable code (analyzer.weak_inputs)."""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path

import pytest

import analyzer
from analyzer import weak_inputs

from .conftest import REPO, SAMPLE_LOGS, chat_line, invoke, write_jsonl
from .test_report import SYSTEM_1500, published_traffic


def codes(report: dict) -> list[str]:
    return [w["code"] for w in report["warning_codes"]]


def unwrapped(text: str) -> str:
    """Text with its line breaks and runs of spaces as single spaces: warnings wrap to the terminal."""
    return " ".join(text.split())


def analyze_json(*args: str) -> tuple[dict, str]:
    result = invoke(["analyze", *args, "--format", "json", "--quiet"])
    return json.loads(result.stdout), result.stderr


def test_the_sample_month_is_warned_only_that_its_fine_tuning_prices_are_old(tmp_path):
    # The sample is dated October 2026; the data file's prices are of 2025: that one warning is due, no other.
    report, stderr = analyze_json(str(SAMPLE_LOGS), "--db", str(tmp_path / "s.duckdb"))
    assert codes(report) == ["stale_finetune_prices"]
    assert report["warnings"] == [w["text"] for w in report["warning_codes"]]  # the texts, as before
    assert "gpt-4o (as of 2025-02-28, 610 days)" in report["warnings"][0]
    assert unwrapped(stderr) == unwrapped(f"warning: {report['warnings'][0]}")
    assert max(map(len, stderr.splitlines())) <= 200 < len(report["warnings"][0])  # wrapped to $COLUMNS


def test_everything_rejected_is_said_even_with_quiet(tmp_path):
    write_jsonl(tmp_path / "bad.jsonl", ["{oops", '{"not": "a request"}', "[1, 2"])
    ingest = invoke(["ingest", str(tmp_path / "bad.jsonl"), "--db", str(tmp_path / "i.duckdb"), "--quiet"])
    line = unwrapped(ingest.stderr)
    assert line.startswith("warning: nothing stored: all 3 records read were rejected (first: ") and "line 1:" in line
    assert f"rejects_by_file --param file={tmp_path / 'bad.jsonl'}" in line
    # analyze into an empty database: the error says why it is empty.
    empty = invoke(["analyze", str(tmp_path / "bad.jsonl"), "--db", str(tmp_path / "e.duckdb"), "--quiet"], code=2)
    assert "Error: nothing stored: all 3 records read were rejected" in empty.stderr
    # analyze into a database with earlier logs: the report goes on, with the run's warning first.
    published_traffic(tmp_path, days=20, per_day=2)
    invoke(["ingest", str(tmp_path / "logs"), "--quiet"])
    report, stderr = analyze_json(str(tmp_path / "bad.jsonl"))
    assert codes(report)[0] == "all_rejected" and report["templates"][0]["requests"] == 40
    assert "warning: nothing stored: all 3 records" in unwrapped(stderr)


def test_files_without_records_are_said(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    assert "warning: nothing stored: the 1 files read hold no records" in (
        invoke(["ingest", str(tmp_path / "empty.jsonl")]).stderr.splitlines())
    again = invoke(["ingest", str(tmp_path / "empty.jsonl")])  # unchanged, skipped: nothing to warn about
    assert "warning" not in again.stderr


@pytest.mark.parametrize(("days", "warned"), [(13, True), (14, False)])
def test_a_short_window_projected_over_the_horizon(tmp_path, days, warned):
    published_traffic(tmp_path, days=days, per_day=2)
    report, stderr = analyze_json(str(tmp_path / "logs"))
    assert ("short_window" in codes(report)) is warned
    if warned:
        assert f"the logs cover {days} days, fewer than the 14" in unwrapped(stderr) and "over 12 months" in unwrapped(stderr)


def test_a_target_model_without_a_fine_tuning_price_lists_the_known_ones(tmp_path):
    published_traffic(tmp_path, days=20, per_day=2)
    (tmp_path / "s.toml").write_text('[finetune]\ntarget_model = "no-such-model"\n')
    report, stderr = analyze_json(str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"))
    [text] = [w["text"] for w in report["warning_codes"] if w["code"] == "no_finetune_price"]
    assert text.startswith("no fine-tuning price for no-such-model (template ")
    assert "gpt-4o, gpt-4o-mini" in text and "gpt-4.1-nano" in text and unwrapped(f"warning: {text}") in unwrapped(stderr)
    # Prices given in the scenario are prices: no warning.
    (tmp_path / "s.toml").write_text('[finetune]\ntarget_model = "no-such-model"\ninput_price = 1.0\n'
                                     "output_price = 4.0\n")
    priced, _ = analyze_json(str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"))
    assert "no_finetune_price" not in codes(priced)


def test_old_fine_tuning_prices_are_measured_against_the_logs_dates(tmp_path):
    def logs(month: str) -> Path:
        return write_jsonl(tmp_path / month / "calls.jsonl", [
            chat_line(messages=[SYSTEM_1500, {"role": "user", "content": f"q {d}-{i}"}], id=f"c-{month}-{d}-{i}",
                      ts=f"{month}-{d + 1:02d}T10:00:00Z", prompt_tokens=1700) for d in range(20) for i in range(2)])

    # gpt-4o's and gpt-4o-mini's rows are as of 2025-02-28: 19 days before these logs end, 610 before the others.
    recent, _ = analyze_json(str(logs("2025-03")), "--db", str(tmp_path / "recent.duckdb"))
    late, _ = analyze_json(str(logs("2026-10")), "--db", str(tmp_path / "late.duckdb"))
    assert "stale_finetune_prices" not in codes(recent)
    [text] = [w["text"] for w in late["warning_codes"] if w["code"] == "stale_finetune_prices"]
    assert "(2026-10-20)" in text and "gpt-4o (as of 2025-02-28, 599 days)" in text and "gpt-4o-mini" in text
    # Every fine-tuning price the scenario's own: nothing of the data file's is used, nothing is old.
    (tmp_path / "s.toml").write_text("[finetune]\ntraining_price = 25.0\ninput_price = 3.75\noutput_price = 15.0\n"
                                     'smaller_model = "none"\n')
    own, _ = analyze_json(str(tmp_path / "2026-10"), "--db", str(tmp_path / "late.duckdb"),
                          "--scenario", str(tmp_path / "s.toml"))
    assert "stale_finetune_prices" not in codes(own)


def _classifier_line() -> dict:
    for path in sorted((SAMPLE_LOGS / "2026-10").glob("*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if record["request"]["messages"][0]["content"].startswith("You are the ticket router"):
                    return record
    raise AssertionError("no ticket router request in the sample")


def test_count_says_its_history_may_be_the_reports_few_shot(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(_classifier_line()))
    result = invoke(["count", "one.json", "--format", "json"])
    out = json.loads(result.stdout)
    assert out["segments"]["fewshot"] == 0 and out["segments"]["history"] > 0
    assert [w["code"] for w in out["warning_codes"]] == ["single_request_history"]
    assert unwrapped(out["warnings"][0]) in unwrapped(result.stderr)
    assert "few-shot needs the whole template" in unwrapped(result.stderr)
    # What the warning says: the report, from the whole template, counts those turns as few-shot.
    report, _ = analyze_json(str(SAMPLE_LOGS), "--db", str(tmp_path / "s.duckdb"))
    [router] = [t for t in report["templates"] if t["label"].startswith("You are the ticket router")]
    assert router["tokens_per_request"]["fewshot"] == out["segments"]["history"]
    assert router["tokens_per_request"]["history"] == 0
    # A request with no turn before the live one has nothing to warn about.
    (tmp_path / "bare.json").write_text(json.dumps([{"role": "system", "content": "Be brief."},
                                                    {"role": "user", "content": "hi"}]))
    bare = invoke(["count", "bare.json"])
    assert "warning" not in bare.stderr and json.loads(invoke(["count", "bare.json", "--format", "json"]).stdout)[
        "warning_codes"] == []


def test_every_code_given_is_listed_and_documented():
    given = set()
    for path in Path(analyzer.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"Caution", "_caution"}
                    and node.args and isinstance(node.args[0], ast.Constant)):
                given.add(node.args[0].value)
    assert given == set(weak_inputs.CODES)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert all(f"`{code}`" in readme for code in weak_inputs.CODES)
