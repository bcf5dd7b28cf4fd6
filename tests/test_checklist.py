"""The export's data checklist and its split: golden on the sample month's classifier, and each check failing
where it should."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pytest

from analyzer import api, checklist, neardup, sampling

from .conftest import REPO, SAMPLE_LOGS, ingested_sample, invoke, write_jsonl

CLASSIFIER = "ticket router"


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    """The sample month ingested once into its own database."""
    return ingested_sample(tmp_path_factory, "checklist")


def _template(db: Path, words: str) -> str:
    [tid] = [r["template_id"] for r in api.templates(str(db)).to_dicts() if words in r["label"]]
    return tid


@pytest.fixture(scope="module")
def classifier(month, tmp_path_factory):
    """The classifier exported once through the CLI at 80 columns: (output, directory, manifest)."""
    out = tmp_path_factory.mktemp("classifier") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", "80")
        result = invoke(["export", _template(month, CLASSIFIER), "--out", str(out), "--db", str(month)])
    return result.output, out, json.loads((out / "manifest.json").read_text())


def _checks(manifest: dict) -> dict[str, dict]:
    return {c["name"]: c for c in manifest["checklist"]}


def _sql(db: Path, tmp_path: Path, sql: str) -> list[dict]:
    path = tmp_path / "q.sql"
    path.write_text(sql)
    return api.query(str(path), str(db))[1].to_dicts()


def test_every_check_has_a_threshold_and_a_verdict_and_the_classifier_passes(classifier):
    _, _, manifest = classifier
    checks = _checks(manifest)
    assert {"examples", "duplicates", "near-duplicates", "output format", "labels", "lengths match", "labels match",
            "days match", "leakage", "file format", "over context", "training cost"} <= set(checks)
    for c in manifest["checklist"]:
        assert c["measured"] and c["threshold"] and c["verdict"] in ("pass", "warn", "fail", "info")
    # A clean label task of the sample month: nothing fails or warns.
    assert {c["name"]: c["verdict"] for c in manifest["checklist"] if c["verdict"] not in ("pass", "info")} == {}
    assert checks["leakage"]["measured"].startswith("0 ")
    assert checks["output format"]["note"].startswith("dominant shape: a label of ")
    assert "cannot show" in manifest["cannot_show"]


def test_the_table_fits_80_columns_and_says_what_logs_cannot_show(classifier):
    output, _, manifest = classifier
    assert all(len(line) <= 80 for line in output.splitlines())
    for c in manifest["checklist"]:
        assert c["name"] in output
    assert "Logs cannot show" in output and "review.csv" in output


def test_labels_are_the_month_s_labels(classifier):
    _, out, manifest = classifier
    answers = Counter(json.loads(line)["messages"][-1]["content"]
                      for side in ("train", "eval") for line in (out / f"{side}.jsonl").read_text().splitlines())
    train = Counter(json.loads(line)["messages"][-1]["content"] for line in (out / "train.jsonl").read_text().splitlines())
    labels = _checks(manifest)["labels"]
    assert labels["measured"].startswith(f"{len(answers)} classes")
    rare, n = min(train.items(), key=lambda kv: (kv[1], kv[0]))
    assert f"rarest {n / sum(train.values()):.1%}" in labels["measured"] and repr(rare) in labels["note"]


def test_the_split_holds_the_eval_share_every_day_and_whole_clusters(classifier):
    _, _, manifest = classifier
    sides = manifest["examples"]
    clusters = {side: {e["cluster"] for e in sides[side]} for side in sides}
    assert not clusters["train"] & clusters["eval"]
    size = Counter(e["cluster"] for side in sides.values() for e in side)
    # A cluster counts on the day of its first example, where the split weighed it.
    home: dict[int, str] = {}
    for e in (e for side in sides.values() for e in side):
        home[e["cluster"]] = min(home.get(e["cluster"], e["day"]), e["day"])
    per_day = {side: Counter(home[e["cluster"]] for e in sides[side]) for side in sides}
    for day in per_day["train"] | per_day["eval"]:
        total = per_day["train"][day] + per_day["eval"][day]
        # Whole clusters are taken until the day holds its share, so it overshoots by less than one cluster.
        assert round(0.2 * total) <= per_day["eval"][day] < round(0.2 * total) + max(size.values())


def test_the_training_cost_is_the_report_s(classifier, month):
    _, _, manifest = classifier
    report = json.loads(subprocess.run([sys.executable, "-m", "analyzer", "report", "--db", str(month), "--format",
                                        "json"], capture_output=True, text=True, check=True, cwd=REPO).stdout)
    [t] = [t for t in report["templates"] if t["template_id"] == manifest["template_id"]]
    assert _checks(manifest)["training cost"]["measured"] == f"${t['training_cost']:,.2f}"
    assert t["training_cost"] > 0 and t["training_cost"] < t["upfront_cost"]


def test_the_review_sample_has_every_label_and_points_at_its_lines(classifier):
    _, out, manifest = classifier
    with open(out / "review.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == manifest["review_sample"]["examples"] == 20
    labels = {json.loads(line)["messages"][-1]["content"]
              for side in ("train", "eval") for line in (out / f"{side}.jsonl").read_text().splitlines()}
    assert {r["answer"] for r in rows} == labels  # 10 classes: each is shown at least once
    sources = {(e["file"], e["line"]): side for side, entries in manifest["examples"].items() for e in entries}
    for r in rows:
        assert sources[(r["file"], int(r["line"]))] == r["split"] and r["input"] and r["correct"] == ""


def test_max_examples_follows_production_day_by_day(month, tmp_path):
    tid = _template(month, CLASSIFIER)
    manifest = api.export(tid, tmp_path / "out", str(month), max_examples=500).manifest
    production = {r["day"]: r["n"] for r in _sql(month, tmp_path, f"""
        SELECT strftime(ts, '%Y-%m-%d') AS day, sum(1.0 / coalesce(sample_rate, 1.0)) AS n
        FROM requests WHERE template_id = '{tid}' GROUP BY day""")}
    kept = Counter(e["day"] for side in manifest["examples"].values() for e in side)
    assert sum(kept.values()) == 500
    total = sum(production.values())
    for day, n in production.items():
        assert abs(kept[day] - 500 * n / total) < 1


def _planted(tmp_path: Path, n: int) -> tuple[Path, set[str]]:
    """One sample day with ``n`` classifier requests logged again, their ticket edited a little."""
    logs = tmp_path / "logs"
    logs.mkdir()
    day = sorted((SAMPLE_LOGS / "2026-10").iterdir())[0]
    lines = gzip.open(day, "rt", encoding="utf-8").read().splitlines()
    planted, copies = set(), []
    for line in lines:
        record = json.loads(line)
        messages = record["request"]["messages"]
        if len(copies) == n or "ticket router" not in messages[0]["content"]:
            continue
        edited = json.loads(line)
        edited["response"]["id"] += "-again"
        edited["request"]["messages"][-1]["content"] = messages[-1]["content"].upper() + " Thanks again."
        planted.add(record["response"]["id"])
        copies.append(json.dumps(edited))
    with gzip.open(logs / day.name, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines + copies) + "\n")
    return logs, planted


def test_near_duplicates_are_found_and_kept_on_one_side(tmp_path):
    logs, planted = _planted(tmp_path, 12)
    db = tmp_path / "planted.duckdb"
    api.ingest([str(logs)], str(db))
    manifest = api.export(_template(db, CLASSIFIER), tmp_path / "out", str(db), eval_share=0.5).manifest
    side = {e["request_id"]: (s, e["cluster"]) for s, entries in manifest["examples"].items() for e in entries}
    for rid in planted:
        assert side[rid] == side[rid + "-again"]
    assert manifest["counts"]["near_duplicates"] >= len(planted)
    assert _checks(manifest)["leakage"]["verdict"] == "pass"


# The checks one by one, where they must not pass.

def test_shapes_of_answers():
    assert checklist.shape_of({"content": "billing"}) == ("label", "billing")
    assert checklist.shape_of({"content": '{"b": 1, "a": 2}'}) == ("json:a,b", None)
    assert checklist.shape_of({"content": "{not json"}) == ("text", None)
    assert checklist.shape_of({"content": "A long answer that goes on for a while."}) == ("text", None)
    assert checklist.shape_of({"tool_calls": [{"function": {"name": "look_up"}}]}) == ("tool_call:look_up", None)


def test_format_check_fails_below_95_percent_and_ignores_free_text():
    shapes = Counter({"label": 96, "text": 4})
    # 95 of 100 answers are a label of the set: at the threshold; one more typo and it fails.
    assert checklist.format_check(shapes, Counter({"a": 50, "b": 45, "typo": 1})).verdict == "pass"
    assert checklist.format_check(shapes, Counter({"a": 50, "b": 44, "typo": 1, "tpyo": 1})).verdict == "fail"
    assert checklist.format_check(Counter({"label": 100}), Counter({"a": 50, "b": 50})).verdict == "pass"
    assert checklist.format_check(Counter({"text": 90, "label": 10}), Counter()).verdict == "info"
    assert checklist.format_check(Counter({"json:a,b": 90, "json:a": 10}), Counter()).verdict == "fail"


def test_cookbook_format_errors():
    good = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                         {"role": "assistant", "content": "a"}]}
    assert checklist.format_problems(good) == []
    assert checklist.format_problems({"messages": []}) == ["missing_messages_list"]
    bad = {"messages": [{"role": "robot", "content": "x", "colour": 1}, {"role": "user", "content": None}]}
    assert set(checklist.format_problems(bad)) == {"unrecognized_role", "message_unrecognized_key", "missing_content",
                                                   "example_missing_assistant_message"}
    fail = checklist.cookbook_checks(Counter({"missing_content": 2}), 0, 0, 1, 65_536, "x", 10)
    assert [c.verdict for c in fail] == ["fail", "info", "fail"]


def test_tiers_duplicates_labels_leakage_and_drift_verdicts():
    assert [checklist.examples_check(n).verdict for n in (99, 100, 499, 500, 2000)] == [
        "fail", "warn", "warn", "pass", "pass"]
    assert "2,000: " in checklist.examples_check(2500).note
    exact, near = checklist.duplicate_checks(95, 5, 95, 6)
    assert (exact.verdict, near.verdict) == ("pass", "fail")  # 5 of 100 left out; 6 of 95 near-duplicates
    assert checklist.label_check(Counter({"a": 995, "b": 5}), True).verdict == "warn"
    assert checklist.label_check(Counter({"a": 995, "b": 5}), False).verdict == "info"
    assert checklist.leakage_check(1).verdict == "fail"
    days = {"train": Counter({"2026-10-03": 10}), "eval": Counter({"2026-10-05": 10}),
            "month": Counter({"2026-10-03": 1, "2026-10-05": 1})}
    lengths = {"train": [1, 2, 3], "eval": [100, 200], "month": [1, 2, 3, 100, 200]}
    drift = checklist.drift_checks(lengths, {}, days, label_like=False)
    assert [c.verdict for c in drift] == ["warn", "warn"]
    assert checklist.ks_distance([1, 2, 3], [1, 2, 3]) == 0 and checklist.ks_distance([1], [2]) == 1
    assert checklist.tv_distance({"a": 1}, {"a": 5}) == 0 and checklist.tv_distance({"a": 1}, {"b": 1}) == 1


def test_allocation_is_proportional_and_never_above_what_a_day_has():
    quota = sampling.allocate(100, {"a": 3, "b": 1, "c": 1}, {"a": 1000, "b": 1000, "c": 10})
    assert quota == {"a": 68, "b": 22, "c": 10}
    assert sum(sampling.allocate(7, {"a": 1, "b": 1, "c": 1}, {"a": 5, "b": 5, "c": 5}).values()) == 7


def test_near_duplicate_signatures():
    text = ("My order 12345 arrived with a cracked lid on the large casserole dish and I would like a replacement "
            "sent to the same address please, the box itself looked fine so it must have happened before packing")
    assert np.array_equal(neardup.signature_of(text), neardup.signature_of(text.upper().replace("12345", "99871")))
    edited = text.replace("large", "big")
    other = "Where is my refund for the kettle I returned last week? It has been ten days and nothing has come back."
    sigs = np.stack([neardup.signature_of(t) for t in (text, edited, other)])
    pairs = {tuple(p) for chunk in neardup.candidate_pairs(sigs) for p in chunk.tolist()}
    # One word changed in 38: at most 3 of 36 shingles differ, Jaccard about 0.85; the other ticket shares none.
    assert pairs == {(0, 1)}


SCENARIOS = {
    "defaults": "",
    "sampled, short prompt, another target": "[traffic]\nsample_rate = 0.25\n[finetune]\nsystem_prompt_tokens = 20\n"
                                             'target_model = "gpt-4.1-mini"\n',
    "priced by the scenario": "[finetune]\ntraining_price = 7.5\nepochs = 2\nexamples = 900\n",
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_export_s_training_figure_is_the_report_s_for_every_template(month, tmp_path, scenario):
    """Aggregated in the database rather than projected row by row, the figure is still the report's, to the
    cent, for each template of the sample month and of a Claude month whose counts are scaled to its bill."""
    path = tmp_path / "s.toml"
    path.write_text(SCENARIOS[scenario], encoding="utf-8")
    claude = _claude_month(tmp_path)
    for db in (month, claude):
        report = api.report(str(db), str(path))
        for t in report.templates:
            costing, target = api._costing(t.template_id, str(db), str(path))
            assert target == t.target_model
            if t.finetune_prices["training"] is None:
                assert costing.training_cost is None and costing.price is None
            else:
                assert costing.training_cost == t.training_cost and costing.price == t.finetune_prices["training"]
    # The Claude month is scaled (so the scaled sum is what is checked) and has no list training price
    # of its own (so the scenario's is what prices it).
    con = duckdb.connect(str(claude), read_only=True)
    assert con.execute("SELECT min(token_scale) FROM request_costs").fetchone()[0] > 1.2
    con.close()


def _claude_month(tmp_path: Path) -> Path:
    """Forty Claude calls billed for more prompt tokens than tiktoken counts (their tokenizer is another)."""
    answers = ("billing", "shipping", "other")
    tickets = ("my card was charged twice", "the parcel never arrived", "how do I change my password")
    records = [{"timestamp": f"2026-10-{1 + i % 20:02d}T12:00:00Z",
                "request": {"model": "claude-sonnet-4-5", "max_tokens": 50,
                            "system": "You route support tickets to a team. Answer with one word: billing, shipping "
                                      "or other.",
                            "messages": [{"role": "user", "content": f"Ticket {i}: {tickets[i % 3]}"}]},
                "response": {"id": f"msg_{i:04d}", "type": "message", "role": "assistant",
                             "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": answers[i % 3]}],
                             "stop_reason": "end_turn", "stop_sequence": None,
                             "usage": {"input_tokens": 60 + i % 5, "output_tokens": 2}}} for i in range(40)]
    db = tmp_path / "claude.duckdb"
    if not db.exists():
        write_jsonl(tmp_path / "claude" / "calls.jsonl", records)
        api.ingest([str(tmp_path / "claude")], str(db))
    return db
