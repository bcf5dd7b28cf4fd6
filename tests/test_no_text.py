"""`--no-text`: a database that keeps hashes and counts, and no text of any record, from then on."""

from __future__ import annotations

import gzip
import json

import duckdb

from analyzer import ingesting

from .conftest import SAMPLE_LOGS, chat_line, invoke, table_dump, write_jsonl

PROMPT = "You are the careful archivist of the Quillmoor estate; answer in one word."


def _system_prompts() -> set[str]:
    """The start of every system prompt in the sample month (enough to recognise it anywhere)."""
    found = set()
    for path in SAMPLE_LOGS.rglob("*.jsonl.gz"):
        for line in gzip.open(path, "rt", encoding="utf-8"):
            try:
                messages = json.loads(line)["request"]["messages"]
            except (ValueError, KeyError, TypeError):
                continue  # the sample's deliberate bad lines
            found.update(m["content"][:40] for m in messages if m.get("role") == "system")
    return found


def test_no_prompt_text_is_kept_and_the_figures_stay(tmp_path, monkeypatch):
    prompts = _system_prompts()
    assert prompts
    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)  # the workers must be told too
    invoke(["ingest", str(SAMPLE_LOGS), "--db", str(tmp_path / "kept.duckdb"), "--quiet", "--jobs", "2"])
    invoke(["ingest", str(SAMPLE_LOGS), "--db", str(tmp_path / "none.duckdb"), "--quiet", "--no-text", "--jobs", "2"])
    kept, none = table_dump(tmp_path / "kept.duckdb"), table_dump(tmp_path / "none.duckdb")
    assert all(p in kept for p in prompts)  # the check sees a prompt when one is stored
    assert not [p for p in prompts if p in none]
    assert "sk-" not in none and "(prompt text not kept)" in none
    reports = [json.loads(invoke(["report", "--db", str(tmp_path / f"{n}.duckdb"), "--format", "json"]).stdout)
               for n in ("kept", "none")]
    # The same requests and the same spend; versions are linked by prompt id only, so a template whose
    # system prompt was edited during the month may count as two.
    assert reports[0]["overall"]["requests"] == reports[1]["overall"]["requests"]
    assert reports[0]["overall"]["current_monthly_cost"] == reports[1]["overall"]["current_monthly_cost"]


def test_a_database_made_without_text_stays_so(tmp_path):
    db = tmp_path / "x.duckdb"
    write_jsonl(tmp_path / "a.jsonl", [chat_line(messages=[{"role": "system", "content": "Sort the mail."},
                                                           {"role": "user", "content": "hi"}])])
    invoke(["ingest", str(tmp_path / "a.jsonl"), "--db", str(db), "--quiet", "--no-text"])
    write_jsonl(tmp_path / "b.jsonl", [chat_line(messages=[{"role": "system", "content": PROMPT},
                                                           {"role": "user", "content": "ledger?"}],
                                                 ts="2026-10-02T10:00:00Z"), "not json at all, " + PROMPT])
    invoke(["ingest", str(tmp_path / "b.jsonl"), "--db", str(db), "--quiet"])  # the flag forgotten
    dump = table_dump(db)
    assert PROMPT not in dump and "Quillmoor" not in dump
    assert "ledger" not in dump  # live turns are never stored, kept text or not
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(text) FROM segments").fetchone()[0] >= 2
        assert con.execute("SELECT count(text) FROM segments").fetchone()[0] == 0
        assert con.execute("SELECT excerpt FROM rejects").fetchall() == [("",)]
    finally:
        con.close()
