"""The JSON report says which schema and crossover wrote it, and codes each reason beside its English text."""

from __future__ import annotations

import ast
import json
from importlib.metadata import version
from pathlib import Path

import pytest

from analyzer import costs
from analyzer.projection import SCHEMA_VERSION

from .conftest import REPO, SAMPLE_LOGS, invoke
from .test_report import published_traffic


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    return json.loads(invoke(["analyze", str(SAMPLE_LOGS), "--db", str(db), "--format", "json", "--quiet"]).stdout)


def test_the_report_leads_with_its_schema_and_crossover_version(sample):
    assert list(sample)[:2] == ["schema_version", "crossover_version"]
    assert sample["schema_version"] == SCHEMA_VERSION == 1
    assert sample["crossover_version"] == version("crossover-analyzer")


def test_reason_codes_stand_beside_the_reasons_which_keep_their_shape(sample):
    for t in sample["templates"]:
        assert all(isinstance(r, str) for r in t["reasons"])  # the contract's reasons: English, as before
        assert [r["text"] for r in t["reason_codes"]] == t["reasons"]
        assert {r["code"] for r in t["reason_codes"]} <= set(costs.REASON_CODES)
    by_decision = {t["decision"]: [r["code"] for r in t["reason_codes"]] for t in sample["templates"]}
    # The router: GO, with the cheaper trim to try first and what GO means; the others cost more fine-tuned.
    assert by_decision["GO"][:3] == ["breaks_even", "breakeven_range", "enough_examples"]
    assert {"learnable_output", "other_finetune_nets_more", "try_untrained_first"} <= set(by_decision["GO"])
    assert by_decision["GO"][-1] == "quality_evaluation"
    assert all(t["reason_codes"][0]["code"] == "finetuned_costs_more"
               for t in sample["templates"] if t["decision"] == "NO-GO")


def test_low_volume_has_its_code(tmp_path):
    published_traffic(tmp_path, days=20, per_day=2)
    report = json.loads(invoke(["analyze", str(tmp_path / "logs"), "--format", "json", "--quiet"]).stdout)
    [t] = report["templates"]
    [low] = [r for r in t["reason_codes"] if r["code"] == "low_volume"]
    assert low["text"].startswith("2 requests/day, below the 1,000")


def test_every_reason_code_given_is_listed_and_documented():
    given = set()
    for node in ast.walk(ast.parse(Path(costs.__file__).read_text(encoding="utf-8"))):
        name = getattr(node, "func", None) and getattr(node.func, "id", None)
        where = {"note": 0, "lower": 1}.get(name)  # note(code, text), lower(decision, code, text)
        if where is not None and len(node.args) > where and isinstance(node.args[where], ast.Constant):
            given.add(node.args[where].value)
        # quality_reasons builds its (code, text) pairs with lines.append((code, text)).
        method = getattr(node, "func", None)
        if (isinstance(method, ast.Attribute) and method.attr == "append" and node.args
                and isinstance(node.args[0], ast.Tuple) and isinstance(node.args[0].elts[0], ast.Constant)):
            given.add(node.args[0].elts[0].value)
    assert given == set(costs.REASON_CODES)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert [code for code in costs.REASON_CODES if f"| `{code}` |" not in readme] == []
