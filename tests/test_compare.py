"""`crossover compare`: a candidate model's logged answers to the sample month's eval sets, scored against production.

Each candidate log is generated from an export's eval.jsonl by a model whose disagreements are
chosen (a set of flipped labels, a changed JSON field, replaced summaries), so the share it agrees
on is known from how it was built, and compare must give exactly that share.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from analyzer import api, comparing, pricing
from analyzer.errors import TemplateNotFound

from .conftest import REPO, ingested_sample, invoke, write_jsonl

FINETUNED = "ft:gpt-4o-mini-2024-07-18:acme:router:x1"
PROMPT_TOKENS, OUTPUT_TOKENS, CACHED = 250, 2, 0


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    """The sample month ingested once into its own database."""
    return ingested_sample(tmp_path_factory, "compare")


@pytest.fixture(scope="module")
def exports(month, tmp_path_factory) -> dict[str, Path]:
    """Each template's export, keyed by a word of its label."""
    out = {}
    labels = api.templates(str(month)).to_dicts()
    for word in ("ticket router", "extract structured data", "summary of one recorded"):
        [tid] = [r["template_id"] for r in labels if word in r["label"]]
        out[word] = api.export(tid, tmp_path_factory.mktemp("exports") / tid, str(month)).out_dir
    return out


@pytest.fixture
def db(month, tmp_path) -> Path:
    """A copy of the month, so that each test's compare starts from none."""
    return Path(shutil.copy(month, tmp_path / "month.duckdb"))


def _examples(export: Path) -> list[dict]:
    return [json.loads(line) for line in (export / "eval.jsonl").read_text(encoding="utf-8").splitlines()]


def _chat(i: int, messages: list[dict], answer: dict, model: str = FINETUNED, status: int = 200) -> dict:
    """A call of the candidate as the middleware logs it (the sample's own wrapper)."""
    response = {"id": f"chatcmpl-cand{i}", "object": "chat.completion", "created": 1795000000, "model": model,
                "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
                          "total_tokens": PROMPT_TOKENS + OUTPUT_TOKENS}}
    if status != 200:
        response = {"error": {"message": "overloaded", "type": "server_error"}}
    return {"timestamp": "2026-11-20T10:00:00Z", "request": {"model": model, "messages": messages},
            "response": response, **({"status": status} if status != 200 else {})}


def _openpipe(i: int, messages: list[dict], answer: dict) -> dict:
    """The same call as OpenPipe logs it: another format in the same run."""
    return {"requestedAt": 1795000000000 + i, "statusCode": 200, "cacheHit": False,
            "reqPayload": {"model": FINETUNED, "messages": messages},
            "respPayload": {"id": f"chatcmpl-op{i}", "object": "chat.completion", "created": 1795000000,
                            "model": FINETUNED, "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
                                      "total_tokens": PROMPT_TOKENS + OUTPUT_TOKENS}}}


def _labels_run(export: Path, out: Path, flip: set[int], skip: set[int] = frozenset()) -> dict:
    """Candidate logs answering each eval example with its production label, but another for ``flip``.

    Half the calls are logged by the middleware (gzipped), half by OpenPipe; ``skip`` gets no call.
    Returns the confusion table the flips make.
    """
    examples = _examples(export)
    labels = sorted({ex["messages"][-1]["content"] for ex in examples})
    chat, openpipe, confusion = [], [], Counter()
    for i, ex in enumerate(examples):
        if i in skip:
            continue
        want = ex["messages"][-1]["content"]
        got = labels[(labels.index(want) + 1) % len(labels)] if i in flip else want
        confusion[(want, got)] += 1
        answer = {"role": "assistant", "content": got}
        if i % 2:
            openpipe.append(_openpipe(i, ex["messages"][:-1], answer))
        else:
            chat.append(_chat(i, ex["messages"][:-1], answer))
    write_jsonl(out / "middleware.jsonl.gz", chat, gz=True)
    write_jsonl(out / "openpipe.jsonl", openpipe)
    return confusion


def test_a_model_that_flips_a_known_set_of_labels_agrees_on_exactly_the_rest(exports, db, tmp_path):
    export = exports["ticket router"]
    n = len(_examples(export))
    flip = {i for i in range(n) if i % 9 == 4}  # a chosen set: every ninth example from the fifth
    confusion = _labels_run(export, tmp_path / "cand", flip)
    result = api.compare([str(tmp_path / "cand")], str(db), eval_set=export)

    assert (result.eval_examples, result.calls, result.matched, result.missing_examples) == (n, n, n, 0)
    assert result.output_kind == "label" and result.decisive
    assert result.agreement == (n - len(flip)) / n
    label = result.by_kind["label"]
    assert (label["examples"], label["agree"]) == (n, n - len(flip))
    assert {(w, g): k for w, row in label["confusion"].items() for g, k in row.items()} == dict(confusion)
    # Priced as the report prices a fine-tune: the data file's fine-tuned rates for its base model.
    ft = pricing.finetune_prices(FINETUNED)
    assert result.cost_per_request == pytest.approx((PROMPT_TOKENS * ft.input + OUTPUT_TOKENS * ft.output) / 1e6)
    assert result.priced_calls == n and "finetune_prices.toml" in result.price_sources[0]

    # Recorded in the database: one row for the template, one per call.
    con = duckdb.connect(str(db), read_only=True)
    try:
        agreement, matched = con.execute("SELECT agreement, matched FROM comparisons").fetchone()
        agree = con.execute("SELECT count(*) FILTER (WHERE agree), count(*) FROM comparison_calls").fetchone()
        requests = con.execute("SELECT count(*) FROM requests WHERE model LIKE 'ft:%'").fetchone()[0]
    finally:
        con.close()
    assert (agreement, matched, agree) == (result.agreement, n, (n - len(flip), n))
    assert requests == 0  # the candidate's calls are not production traffic


def test_the_report_answers_the_quality_question_from_the_comparison(exports, db, tmp_path):
    export = exports["ticket router"]
    before = {t["template_id"]: t for t in json.loads(invoke(["report", "--db", str(db), "--format", "json"]).stdout)[
        "templates"]}
    n = len(_examples(export))
    _labels_run(export, tmp_path / "bad", {i for i in range(n) if i % 10 == 0})  # 90%: below the 95% wanted
    invoke(["compare", str(tmp_path / "bad"), "--eval-set", str(export), "--db", str(db)])
    report = json.loads(invoke(["report", "--db", str(db), "--format", "json"]).stdout)
    [t] = [t for t in report["templates"] if t["evaluation"]]
    assert before[t["template_id"]]["decision"] == "GO" and t["decision"] == "EVALUATE"
    ev = t["evaluation"]
    assert ev["verdict"] == "does not match" and ev["agreement"] == round((n - len(range(0, n, 10))) / n, 4)
    assert any(r.startswith("the fine-tuned model does not match on the eval set yet") for r in t["reasons"])
    # The fine-tune of the candidate's base model is costed at the measured cost, not the assumed one.
    [smaller] = [o for o in t["options"] if o["option"] == "finetune_smaller"]
    assert smaller["cost_per_request"] == ev["cost_per_request"] != ev["assumed_cost_per_request"]
    assert ev["assumed_cost_per_request"] == [o for o in before[t["template_id"]]["options"]
                                              if o["option"] == "finetune_smaller"][0]["cost_per_request"]
    assert "measured on" in smaller["note"]
    others = [x for x in report["templates"] if x is not t]
    assert all(x == before[x["template_id"]] | {"evaluation": None} for x in others)  # nothing else moved

    # Every format says it: the markdown and HTML with the confusion table, CSV in its own columns.
    markdown = invoke(["report", "--db", str(db), "--format", "markdown"]).stdout
    assert "### Compared: " + FINETUNED in markdown and "| production \\ candidate |" in markdown
    table = invoke(["report", "--db", str(db)]).stdout
    assert "measured on the eval set" in table and "does not match" in table
    [row] = [r for r in csv.DictReader(io.StringIO(invoke(["report", "--db", str(db), "--format", "csv"]).stdout))
             if r["template_id"] == t["template_id"]]
    assert float(row["eval_agreement"]) == ev["agreement"] and row["eval_verdict"] == "does not match"
    pytest.importorskip("matplotlib")
    html = invoke(["report", "--db", str(db), "--format", "html"]).stdout
    assert "production \\ candidate" in html and "does not match on the eval set" in html

    # A candidate that agrees everywhere passes: GO again, and the step says it matched.
    _labels_run(export, tmp_path / "good", set())
    invoke(["compare", str(tmp_path / "good"), "--eval-set", str(export), "--db", str(db)])
    [t] = [t for t in json.loads(invoke(["report", "--db", str(db), "--format", "json"]).stdout)["templates"]
           if t["evaluation"]]
    assert t["decision"] == "GO" and t["evaluation"]["verdict"] == "matches" and t["evaluation"]["agreement"] == 1.0
    assert any(r.startswith("the fine-tuned model matches on the eval set") for r in t["reasons"])
    assert not any(r.startswith("GO means: run a quality evaluation") for r in t["reasons"])
    assert "it matched on the eval set" in t["recommendation"]["text"]
    assert any(r.endswith("and its outputs matched on the eval set") for r in t["reasons"])


def test_unmatched_repeated_failed_calls_and_examples_without_one_are_counted(exports, db, tmp_path):
    export = exports["ticket router"]
    examples = _examples(export)
    skip = set(range(7))  # no call for these
    _labels_run(export, tmp_path / "cand", set(), skip)
    first = examples[10]["messages"]
    extra = [
        _chat(9001, [{"role": "user", "content": "a ticket nobody exported"}], {"role": "assistant", "content": "x"}),
        _chat(9002, [{"role": "user", "content": "another one"}], {"role": "assistant", "content": "y"}),
        # Example 10 again, a repeat, answered as production did: whichever of its calls is read first
        # counts, and the share stays whole.
        _chat(9003, first[:-1], first[-1]),
        _chat(9004, examples[0]["messages"][:-1], {"role": "assistant", "content": ""}, status=500),  # failed
        # The full production prompt (a trimmed-prompt run): a long system text and a few-shot pair before
        # the live turn still meets example 1, which had no call.
        _chat(9005, [{"role": "system", "content": "the whole routing policy"},
                     {"role": "user", "content": "my card was charged twice"}, {"role": "assistant", "content": "billing"},
                     *[m for m in examples[1]["messages"][:-1] if m["role"] != "system"]],
              examples[1]["messages"][-1]),
    ]
    write_jsonl(tmp_path / "cand" / "extra.jsonl", [*extra, "{not json"])
    result = api.compare([str(tmp_path / "cand")], str(db), eval_set=export / "eval.jsonl")
    n = len(examples)
    assert result.calls == n - len(skip) + len(extra)
    assert (result.unmatched_calls, result.repeated_calls, result.failed_calls) == (2, 1, 1)
    assert result.matched == n - len(skip) + 1 and result.missing_examples == len(skip) - 1
    assert result.agreement == 1.0
    assert any("extra.jsonl: line 6" in w for w in result.warnings)  # the bad line, named, and the run went on
    text = invoke(["compare", str(tmp_path / "cand"), "--eval-set", str(export), "--db", str(db)]).output
    assert f"2 matching no eval example + 1 repeating one + 1 failed; {len(skip) - 1} of {n:,} eval examples" in text


def _first_leaf(value: dict) -> str:
    return next(k for k, v in value.items() if not isinstance(v, dict | list))


def test_json_answers_are_scored_field_by_field(exports, db, tmp_path):
    export = exports["extract structured data"]
    examples = _examples(export)
    n = len(examples)
    changed = {i for i in range(n) if i % 4 == 1}
    calls, fields_per_example, key = [], [], None
    for i, ex in enumerate(examples):
        value = json.loads(ex["messages"][-1]["content"])
        key = _first_leaf(value)
        fields_per_example.append(len(comparing._fields({"content": json.dumps(value)}, "json")))
        if i in changed:
            value[key] = f"{value[key]}-changed"
        calls.append(_chat(i, ex["messages"][:-1], {"role": "assistant", "content": json.dumps(value)}))
    write_jsonl(tmp_path / "cand.jsonl", calls)
    result = api.compare([str(tmp_path / "cand.jsonl")], str(db), eval_set=export)
    k = result.by_kind["json"]
    assert result.output_kind == "json" and result.agreement == (n - len(changed)) / n
    expected_fields = sum(1 - (i in changed) / f for i, f in enumerate(fields_per_example)) / n
    assert k["field_agreement"] == pytest.approx(expected_fields)
    assert k["fields"][key]["match"] == n - len(changed) and k["fields"][key]["of"] == n
    assert all(f["share"] == 1.0 for name, f in k["fields"].items() if name != key)
    # gpt-4o-mini's fine-tuned prices apply to any ft: model of it, whatever the template's model.
    assert result.cost_per_request is not None


def test_free_text_is_a_word_overlap_marked_as_weak_evidence(exports, db, tmp_path):
    export = exports["summary of one recorded"]
    examples = _examples(export)
    n = len(examples)
    same = {i for i in range(n) if i % 3 == 0}
    calls = [_chat(i, ex["messages"][:-1], ex["messages"][-1] if i in same
                   else {"role": "assistant", "content": "zzqx vvkq"}, model="ft:gpt-4o-2024-08-06:acme::s1")
             for i, ex in enumerate(examples)]
    write_jsonl(tmp_path / "cand.jsonl", calls)
    result = api.compare([str(tmp_path / "cand.jsonl")], str(db), eval_set=export)
    k = result.by_kind["text"]
    assert result.output_kind == "text" and not result.decisive and k["weak_evidence"]
    assert result.agreement == len(same) / n  # identical summaries overlap fully, made-up words not at all
    assert k["median_candidate_words"] == 2
    report = json.loads(invoke(["report", "--db", str(db), "--format", "json"]).stdout)
    [t] = [t for t in report["templates"] if t["evaluation"]]
    assert t["evaluation"]["verdict"] == "weak evidence" and any("weak evidence" in r for r in t["reasons"])


def test_against_a_template_rebuilds_its_eval_set_as_export_writes_it(exports, db, tmp_path):
    export = exports["ticket router"]
    n = len(_examples(export))
    _labels_run(export, tmp_path / "cand", {1, 2, 3})
    by_dir = api.compare([str(tmp_path / "cand")], str(db), eval_set=export)
    by_name = api.compare([str(tmp_path / "cand")], str(db), against=by_dir.template_id[:6])  # a prefix
    assert (by_name.matched, by_name.agreement, by_name.template_id) == (n, (n - 3) / n, by_dir.template_id)
    assert by_name.eval_set.startswith("(rebuilt from")


def test_bad_usage_exits_2_with_one_line(exports, db, tmp_path):
    write_jsonl(tmp_path / "cand.jsonl", [_chat(1, [{"role": "user", "content": "x"}], {"role": "assistant",
                                                                                       "content": "y"})])
    for args, message in (
        ([], "name the template (--against TEMPLATE) or the export"),
        (["--eval-set", str(tmp_path / "nowhere")], "no eval.jsonl"),
        (["--against", "nothing like it"], "no template is 'nothing like it'"),
        (["--against", exports["extract structured data"].name, "--eval-set", str(exports["ticket router"])],
         "is the eval set of"),
    ):
        out = invoke(["compare", str(tmp_path / "cand.jsonl"), "--db", str(db), *args], code=2).output
        assert message in out and out.count("\n") == 1, out
    with pytest.raises(TemplateNotFound):
        api.compare([str(tmp_path / "cand.jsonl")], str(db))
    missing = invoke(["compare", str(tmp_path / "none"), "--db", str(db), "--against", exports["ticket router"].name],
                     code=2).output
    assert "none" in missing and missing.count("\n") == 1


def test_compare_runs_as_a_subprocess_on_the_bench_candidate(exports, db, tmp_path):
    """The README's run: bench/candidate_calls.py swaps every tenth label, compare finds exactly the rest."""
    export = exports["ticket router"]
    n = len(_examples(export))
    (tmp_path / "cand").mkdir()
    made = subprocess.run([sys.executable, str(REPO / "bench" / "candidate_calls.py"), str(export),
                           str(tmp_path / "cand" / "calls.jsonl"), "--flip-every", "10"],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    command = [shutil.which("crossover")] if shutil.which("crossover") else [sys.executable, "-m", "analyzer"]
    env = {**os.environ, "CROSSOVER_DB": str(db)}
    done = subprocess.run([*command, "compare", str(tmp_path / "cand"), "--eval-set", str(export), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    swapped = len(range(0, n, 10))
    assert json.loads(done.stdout)["agreement"] == (n - swapped) / n
    assert f"{swapped} with another label" in made.stdout
    markdown = subprocess.run([*command, "compare", str(tmp_path / "cand"), "--eval-set", str(export), "--format",
                               "markdown"], capture_output=True, text=True, env=env, timeout=300)
    assert markdown.returncode == 0 and f"{n - swapped:,} agree" in markdown.stdout


def test_a_database_that_keeps_no_text_gets_no_labels_from_compare(exports, db, tmp_path):
    export = exports["ticket router"]
    _labels_run(export, tmp_path / "cand", {5})
    con = duckdb.connect(str(db))
    con.execute("INSERT OR REPLACE INTO meta VALUES ('texts', 'not kept')")  # as `ingest --no-text` leaves it
    con.close()
    printed = json.loads(invoke(["compare", str(tmp_path / "cand"), "--eval-set", str(export), "--db", str(db),
                                 "--format", "json"]).stdout)
    assert printed["by_kind"]["label"]["confusion"]  # shown to the user who ran it, never stored
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = json.loads(con.execute("SELECT by_kind FROM comparisons").fetchone()[0])
    finally:
        con.close()
    assert "confusion" not in stored["label"] and stored["label"]["agree"] == printed["by_kind"]["label"]["agree"]


def test_tool_calls_are_scored_by_name_and_arguments(tmp_path):
    def call(name: str, args: dict) -> dict:
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}

    asks = [{"order": "A1", "days": 3}, {"order": "B2", "days": 5}, {"order": "C3", "days": 1}]
    write_jsonl(tmp_path / "ft" / "eval.jsonl", [
        {"messages": [{"role": "system", "content": "You look orders up."}, {"role": "user", "content": f"where is {a}"},
                      call("lookup_order", a)]} for a in asks])
    answers = [call("lookup_order", asks[0]), call("lookup_order", {**asks[1], "days": 6}), call("cancel_order", asks[2])]
    write_jsonl(tmp_path / "cand.jsonl", [_chat(i, [{"role": "user", "content": f"where is {a}"}], answer)
                                          for i, (a, answer) in enumerate(zip(asks, answers, strict=True))])
    result = comparing.compare(comparing.load_eval_set(tmp_path / "ft"), [str(tmp_path / "cand.jsonl")])
    k = result.by_kind["tool_call"]
    assert result.output_kind == "tool_call" and result.template_id is None  # no manifest: --against names it
    assert (k["agree"], result.agreement) == (1, 1 / 3)
    # Three leaves each (name, order, days): all, two (days differs), two (the name differs).
    assert k["field_agreement"] == pytest.approx((3 + 2 + 2) / 9)
    assert {name: (f["match"], f["of"]) for name, f in k["fields"].items()} == {
        "[].name": (2, 3), "[].arguments.order": (3, 3), "[].arguments.days": (2, 3)}


def test_the_sensitivity_range_rests_on_the_measured_cost(exports, db, tmp_path):
    """A fine-tune of the router's own target measured by compare: its cost per request holds in every case
    of the range, so the fine-tuned prices no longer move break-even, and the range says it is measured."""
    export = exports["ticket router"]
    before = json.loads(invoke(["report", "--db", str(db), "--format", "json"]).stdout)
    [old] = [t for t in before["templates"] if "ticket router" in t["label"]]
    assert old["sensitivity"]["cost_per_request"] == "assumed"
    assert old["sensitivity"]["measured_cost_per_request"] is None
    low, high = old["sensitivity"]["breakeven_months"]["finetuned_prices"]
    assert low < old["breakeven_months"] < high  # assumed prices: they move it
    (tmp_path / "cand").mkdir()
    made = subprocess.run([sys.executable, str(REPO / "bench" / "candidate_calls.py"), str(export),
                           str(tmp_path / "cand" / "calls.jsonl"), "--model", "ft:gpt-4o-2024-08-06:acme:router:x2"],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    # The eval set keeps the whole system prompt; a candidate that was sent a fifth of it costs less than today.
    calls = [json.loads(line) for line in (tmp_path / "cand" / "calls.jsonl").read_text(encoding="utf-8").splitlines()]
    for call in calls:
        usage = call["response"]["usage"]
        usage["prompt_tokens"] //= 5
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    write_jsonl(tmp_path / "cand" / "calls.jsonl", calls)
    invoke(["compare", str(tmp_path / "cand"), "--eval-set", str(export), "--db", str(db)])
    [t] = [t for t in json.loads(invoke(["report", "--db", str(db), "--format", "json"]).stdout)["templates"]
           if t["evaluation"]]
    ev, spread = t["evaluation"], t["sensitivity"]
    assert ev["replaced_option"] == "finetune" and t["finetuned_cost_per_request"] == ev["cost_per_request"]
    assert ev["cost_per_request"] != ev["assumed_cost_per_request"]
    assert spread["cost_per_request"] == "measured" and spread["measured_cost_per_request"] == ev["cost_per_request"]
    # Only the measured cost is priced: scaling the assumed fine-tuned prices changes nothing.
    assert spread["breakeven_months"]["finetuned_prices"] == [t["breakeven_months"], t["breakeven_months"]]
    assert t["breakeven_months"] != old["breakeven_months"]
    # Volume still moves it, around the measured break-even, and the range is made of the cases.
    vlow, vhigh = spread["breakeven_months"]["volume"]
    assert vhigh < t["breakeven_months"] < vlow
    cases = [v for pair in spread["breakeven_months"].values() for v in pair]
    assert t["breakeven_range_months"] == [min(cases), max(cases)] == spread["range_months"]
