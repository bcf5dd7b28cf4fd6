"""The bundled month: `crossover analyze sample_logs/` finds the four features and decides for reasons."""

from __future__ import annotations

import json

import pytest

from analyzer.tokenizing import Counter

from .conftest import SAMPLE_LOGS, bench_script, invoke


def _generator():
    """bench/traffic.py, which made the sample: the ground truth of what each request holds."""
    return bench_script("traffic")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    out = invoke(["analyze", str(SAMPLE_LOGS), "--db", str(db), "--format", "json", "--quiet"])
    return json.loads(out.stdout)


def test_the_month_and_its_four_templates(report):
    assert report["window"]["days"] == 31 and report["window"]["start"].startswith("2026-10-01")
    labels = sorted(t["label"].split(",")[0] for t in report["templates"])
    assert len(labels) == 4
    assert report["overall"]["requests"] == 8_284  # 8,288 lines, 4 planted bad ones


def test_classifier_is_go_for_its_volume_static_prompt_and_labels(report):
    [go] = [t for t in report["templates"] if t["decision"] == "GO"]
    assert go["models"] == ["gpt-4o-2024-08-06"] and go["label"].startswith("You are the ticket router")
    # Exactly the eight example pairs the generator put in every request, and its system prompt.
    traffic = _generator()
    counter = Counter("gpt-4o")
    pairs = [m for ticket, label in traffic.CLASSIFIER_FEWSHOT
             for m in ({"role": "user", "content": ticket}, {"role": "assistant", "content": label})]
    assert go["tokens_per_request"]["fewshot"] == sum(counter.message(m) for m in pairs)
    assert go["tokens_per_request"]["system"] == counter.message({"role": "system", "content": traffic.CLASSIFIER_SYSTEM})
    assert go["tokens_per_request"]["history"] == 0
    assert go["daily_requests"] > 5000  # 2% sampled: the logs hold ~140 a day
    assert go["output_kind"]["kind"] == "label"
    assert 0 < go["breakeven_months"] <= 6


def test_others_are_no_go_because_a_fine_tuned_call_costs_more(report):
    no_go = [t for t in report["templates"] if t["decision"] == "NO-GO"]
    assert len(no_go) == 3
    for t in no_go:
        assert t["finetuned_cost_per_request"] > t["current_cost_per_request"]
        assert any("does not pay for the fine-tuned model's higher price" in r for r in t["reasons"])
    [assistant] = [t for t in no_go if t["models"][0].startswith("gpt-4.1-mini")]
    assert assistant["tokens_per_request"]["history"] > 0 and assistant["tokens_per_request"]["fewshot"] == 0


def test_the_planted_bad_lines_are_the_rejects(tmp_path):
    out = invoke(["ingest", str(SAMPLE_LOGS)])
    assert "8,288 read = 8,284 stored + 0 duplicates + 4 rejected" in out.output
    # Where sample_logs/README.md says the generator planted them.
    # In the reader's terms on screen; the decoder's own words only in the rejects table.
    assert "line 7: malformed JSON: more than one JSON value on the line" in out.output and "Extra data" not in out.output
    for where in ("requests-2026-10-07.jsonl.gz: 310 read", "line 61: malformed JSON", "line 7: malformed JSON",
                  "line 162: malformed JSON", "line 1: unknown record shape"):
        assert where in out.output
    rejects = json.loads(invoke(["query", "rejects_by_file", "--format", "json"]).stdout)
    assert any("(decoder: Extra data: line 1 column 5" in r["reason"] for r in rejects)


def test_share_of_spend_undoes_the_sample_rate(report, tmp_path):
    db = tmp_path / "t.duckdb"
    invoke(["ingest", str(SAMPLE_LOGS), "--db", str(db), "--quiet"])
    rows = {r["label"][:20]: r for r in json.loads(invoke(["templates", "--db", str(db), "--format", "json"]).stdout)}
    # The classifier is logged at 2%: 35% of the logged lines, but almost all of the spend.
    assert rows["You are the ticket r"]["share_of_spend"] > 0.95
    assert sum(r["share_of_spend"] for r in rows.values()) == pytest.approx(1, abs=1e-3)


def test_templates_are_the_four_features_with_the_extraction_prompt_edit_as_a_second_version(tmp_path):
    db = tmp_path / "v.duckdb"
    invoke(["ingest", str(SAMPLE_LOGS), "--db", str(db), "--quiet"])
    traffic = _generator()
    rows = json.loads(invoke(["templates", "--db", str(db), "--versions", "--format", "json"]).stdout)
    assert [(r["label"][:12], r["version"]) for r in rows] == [
        ("You are the ", 1), ("You are Juni", 1), ("You extract ", 1), ("You extract ", 2), ("You write th", 1)]
    v1, v2 = rows[2], rows[3]
    assert v1["template_id"] == v2["template_id"]
    # Live until and from the edit the generator made, and each version's system prompt exactly.
    edit = traffic.INVOICE_V2_FROM.date().isoformat()
    assert v1["last_seen"] < edit <= v2["first_seen"] and v2["last_seen"] == "2026-10-31"
    counter = Counter("gpt-4o-mini")
    assert [v1["system"], v2["system"]] == [counter.message({"role": "system", "content": text})
                                            for text in (traffic.INVOICE_SYSTEM, traffic.INVOICE_SYSTEM_V2)]
    assert all(r["fewshot"] == 0 for r in rows if not r["label"].startswith("You are the ticket"))


def test_the_classifier_options_side_by_side(report):
    [go] = [t for t in report["templates"] if t["decision"] == "GO"]
    options = {o["option"]: o for o in go["options"]}
    assert set(options) == {"finetune", "finetune_smaller", "caching", "trim_fewshot"}
    assert options["trim_fewshot"]["label"] == "keep 2 of 8 examples"  # the generator's eight pairs
    # Trimming nets more than fine-tuning gpt-4o with no training; fine-tuning gpt-4o-mini nets most.
    assert options["trim_fewshot"]["net_savings_horizon"] > options["finetune"]["net_savings_horizon"] > 0
    assert go["best_option"]["option"] == "finetune_smaller"
    assert any("try it first" in r for r in go["reasons"])
    low, high = go["breakeven_range_months"]
    assert low < go["breakeven_months"] < high and go["sensitivity"]["most_sensitive"] == "volume"
