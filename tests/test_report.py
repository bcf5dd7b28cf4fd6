"""The report from logs: published break-even arithmetic reproduced end to end, the JSON contract."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

import pytest

from analyzer import api, costs
from analyzer import scenario as scenarios
from analyzer.errors import ScenarioError
from analyzer.models import SEGMENT_KINDS
from analyzer.storage import tables

from .conftest import chat_line, invoke, write_jsonl

# 1,496 tokens of text + 4 of message overhead: a 1,500-token system prompt on gpt-4o (o200k).
SYSTEM_1500 = {"role": "system", "content": ("hello " * 1496).strip()}

PUBLISHED = """
[prices."gpt-4o"]
input = 3.0
cached_input = 3.0
output = 0.0
[finetune]
system_prompt_tokens = 100
input_price = 3.0
output_price = 0.0
training_price = 0.0
[upfront]
hourly_rate = 0
fixed = {fixed}
[maintenance]
retrain_hours = 0
monthly = 0
"""


def published_traffic(tmp_path, days=30, per_day=10):
    # Each call bills 1,700 prompt tokens; fine-tuned, the 1,500-token system prompt shrinks to 100:
    # 1,700 − 1,500 + 100 = 300 tokens.
    lines = [chat_line(messages=[SYSTEM_1500, {"role": "user", "content": f"question {d}-{i}"}], id=f"chatcmpl-{d}-{i}",
                       ts=f"2026-10-{d + 1:02d}T{8 + i:02d}:00:00Z", prompt_tokens=1700, completion_tokens=1)
             for d in range(days) for i in range(per_day)]
    return write_jsonl(tmp_path / "logs" / "calls.jsonl", lines)


@pytest.mark.parametrize(("fixed", "breakeven_requests"), [(500, 119_048), (200, 47_620)])
def test_published_breakeven_arithmetic_from_logs(tmp_path, fixed, breakeven_requests):
    """1,700 vs 300 prompt tokens at $3/1M: $0.0051 vs $0.0009 a call; $500 upfront → 119,048 calls."""
    published_traffic(tmp_path)
    (tmp_path / "s.toml").write_text(PUBLISHED.format(fixed=fixed))
    out = invoke(["analyze", str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"), "--format", "json", "--quiet"])
    [t] = json.loads(out.stdout)["templates"]
    assert t["current_cost_per_request"] == pytest.approx(0.0051, abs=1e-12)
    assert t["finetuned_cost_per_request"] == pytest.approx(0.0009, abs=1e-12)
    assert t["upfront_cost"] == fixed and t["maintenance_monthly"] == 0
    assert t["breakeven_requests"] == breakeven_requests
    assert t["monthly_requests"] == pytest.approx(10 * 30.4)
    assert t["breakeven_months"] == pytest.approx(fixed / (0.0042 * 304), abs=0.01)


CONTRACT_TEMPLATE_KEYS = {
    "template_id", "label", "requests", "daily_requests", "monthly_requests", "models", "tokens_per_request",
    "current_cost_per_request", "finetuned_cost_per_request", "current_monthly_cost", "finetuned_monthly_cost",
    "monthly_savings", "upfront_cost", "maintenance_monthly", "breakeven_months", "breakeven_requests",
    "net_savings_horizon", "decision", "reasons"}


def test_json_report_follows_the_contract(tmp_path):
    published_traffic(tmp_path, days=3, per_day=2)
    invoke(["ingest", str(tmp_path / "logs"), "--quiet"])
    report = json.loads(invoke(["report", "--format", "json"]).stdout)
    assert {"window", "scenario", "templates", "overall"} <= set(report)
    assert report["window"] == {"start": "2026-10-01T08:00:00Z", "end": "2026-10-03T09:00:00Z", "days": 3}
    assert report["scenario"]["finetune"]["system_prompt_tokens"] == 100
    [t] = report["templates"]
    assert set(t) >= CONTRACT_TEMPLATE_KEYS
    assert set(t["tokens_per_request"]) == {"system", "fewshot", "tools", "history", "input", "output"}
    assert t["tokens_per_request"]["system"] == 1500
    assert t["decision"] in {"GO", "EVALUATE", "NO-GO"} and t["reasons"]
    assert t["daily_requests"] == 2


def test_sample_rate_scales_volume_not_cost_per_request(tmp_path):
    lines = [chat_line(messages=[SYSTEM_1500, {"role": "user", "content": f"q{i}"}], id=f"c{i}", sample_rate=0.1,
                       ts=f"2026-10-{1 + i % 10:02d}T10:00:00Z", prompt_tokens=1700) for i in range(20)]
    write_jsonl(tmp_path / "s.jsonl", lines)
    report = json.loads(invoke(["analyze", str(tmp_path / "s.jsonl"), "--format", "json", "--quiet"]).stdout)
    [t] = report["templates"]
    assert t["requests"] == 20 and t["daily_requests"] == 20
    assert t["current_cost_per_request"] == pytest.approx(1700 * 2.5 / 1e6 + 10 / 1e6)


def test_scenario_sample_rate_applies_where_records_say_nothing(tmp_path):
    published_traffic(tmp_path, days=2, per_day=5)
    (tmp_path / "s.toml").write_text("[traffic]\nsample_rate = 0.5\n")
    report = json.loads(invoke(["analyze", str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"),
                                "--format", "json", "--quiet"]).stdout)
    assert report["templates"][0]["daily_requests"] == 10


def test_unpriced_model_is_named_in_a_warning(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [chat_line(messages=[{"role": "user", "content": "x"}], model="mystery-model-9", id="m1")])
    result = invoke(["analyze", str(tmp_path / "a.jsonl"), "--format", "json", "--quiet"])
    report = json.loads(result.stdout)
    assert "mystery-model-9" in report["warnings"][0] and "[prices." in report["warnings"][0]
    assert f"warning: {report['warnings'][0]}" in result.stderr  # and on stderr, for a person piping the JSON
    assert report["templates"][0]["decision"] == "NO-GO"


@pytest.mark.parametrize(("text", "message"), [
    ("[finetune]\nepochz = 3\n", "unknown key finetune.epochz"),
    ("[traffik]\nx = 1\n", "unknown section [traffik]"),
    ("[finetune]\nepochs = -1\n", "must be a number"),
    ("[traffic]\nsample_rate = 2\n", "sample_rate must be in"),
    ('[prices."gpt-4o"]\ninputs = 1\n', "takes only"),
    ("not toml [", "not valid TOML"),
])
def test_bad_scenarios_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace(".", r"\.")):
        scenarios.load(path)


def test_defaults_cover_every_contract_key():
    names = {f"{k.section}.{k.name}" for k in scenarios.KEYS}
    # DESIGN.md's keys, each with a default; the options' own keys come on top.
    assert names - OPTION_KEYS == {
        "traffic.sample_rate", "traffic.horizon_months", "finetune.target_model", "finetune.system_prompt_tokens",
        "finetune.training_price", "finetune.input_price", "finetune.output_price", "finetune.epochs",
        "finetune.examples", "upfront.hourly_rate", "upfront.data_hours", "upfront.eval_hours",
        "upfront.pipeline_hours", "upfront.fixed", "maintenance.retrain_every_months", "maintenance.retrain_hours",
        "maintenance.monthly", "decision.max_breakeven_months", "decision.min_daily_requests", "decision.min_examples"}


OPTION_KEYS = {"traffic.growth", "finetune.smaller_model", "caching.hours", "trim.keep_examples", "trim.hours",
               "lora.model", "lora.gpu_hourly", "lora.training_hours", "lora.serving_hourly", "lora.serving_hours",
               "lora.input_price", "lora.output_price",
               # what `crossover compare` measured is held to these
               "decision.min_agreement", "decision.min_eval_coverage"}


def test_never_retraining_and_a_missing_training_price(tmp_path):
    published_traffic(tmp_path, days=2, per_day=5)
    (tmp_path / "s.toml").write_text("[maintenance]\nretrain_every_months = 0\nmonthly = 7\n"
                                     '[finetune]\ntarget_model = "o4-mini"\n')
    report = json.loads(invoke(["analyze", str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"),
                                "--format", "json", "--quiet"]).stdout)
    [t] = report["templates"]
    assert t["maintenance_monthly"] == 7 and t["training_cost"] == 0 and t["finetune_prices"]["training"] is None
    assert any("no per-token training price for o4-mini" in r for r in t["reasons"])


def test_cache_reads_and_writes_are_priced_apart(tmp_path):
    line = chat_line(messages=[SYSTEM_1500, {"role": "user", "content": "q"}], id="c1", prompt_tokens=3000,
                     completion_tokens=100, cached_tokens=1000)
    line["response"]["usage"]["prompt_tokens_details"]["cache_write_tokens"] = 500
    write_jsonl(tmp_path / "a.jsonl", [line])
    (tmp_path / "s.toml").write_text('[prices."gpt-4o"]\ninput = 2.0\ncached_input = 0.5\ncache_write = 4.0\noutput = 10.0\n')
    report = json.loads(invoke(["analyze", str(tmp_path / "a.jsonl"), "--scenario", str(tmp_path / "s.toml"),
                                "--format", "json", "--quiet"]).stdout)
    # 1,500 uncached × $2 + 1,000 cached × $0.5 + 500 written × $4 + 100 out × $10, per 1M tokens.
    assert report["templates"][0]["current_cost_per_request"] == pytest.approx((3000 + 500 + 2000 + 1000) / 1e6)


def test_the_json_report_is_the_typed_projection_serialised(tmp_path):
    published_traffic(tmp_path, days=3, per_day=2)
    invoke(["ingest", str(tmp_path / "logs"), "--quiet"])
    projection = api.report()
    assert json.loads(invoke(["report", "--format", "json"]).stdout) == json.loads(json.dumps(projection.as_dict()))
    [t] = projection.templates
    assert CONTRACT_TEMPLATE_KEYS <= {f.name for f in fields(t)}  # the contract's names are the fields' names
    assert list(t.tokens_per_request) == list(SEGMENT_KINDS)
    assert t.options[0].key == "finetune" and t.options[0].cost_per_request == t.finetuned_cost_per_request
    assert projection.overall.requests == t.requests == 6


def test_costs_read_only_columns_the_view_declares():
    """Every column costs and options name is one of request_costs' (declared in storage/tables.py) or their own."""
    view = tables.VIEWS["request_costs"]
    declared = {c.name for c in (*tables.TABLES[view.base].columns, *view.columns)}
    own = {"cost", "weight"}  # added by costs: cost at scenario prices, the volume weight
    named = set()
    for module in ("costs.py", "options.py"):
        tree = ast.parse((Path(costs.__file__).parent / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # pl.col("x") and wmean(group, "x")
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                arg = {"col": 0, "wmean": 1}.get(name)
                if arg is not None and len(node.args) > arg and isinstance(node.args[arg], ast.Constant):
                    named.add(node.args[arg].value)
    assert named and named - own <= declared, sorted(named - own - declared)
    assert set(costs.SEGMENT_COLUMNS.values()) <= declared


def test_a_fine_tuned_price_half_given_is_no_price(tmp_path):
    """An input price without an output price (and none in the data file) is NO-GO, not a crash in the sensitivity."""
    published_traffic(tmp_path, days=2, per_day=5)
    (tmp_path / "s.toml").write_text('[finetune]\ntarget_model = "no-such-model"\ninput_price = 1.0\n')
    report = json.loads(invoke(["analyze", str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"),
                                "--format", "json", "--quiet"]).stdout)
    [t] = report["templates"]
    assert t["decision"] == "NO-GO" and t["sensitivity"]["range_months"] == [None, None]
    assert any("no fine-tuning price for no-such-model" in r for r in t["reasons"])
