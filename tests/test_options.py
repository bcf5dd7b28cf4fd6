"""The options side by side, payback with growth, sensitivity and the stability rule, from logs with known arithmetic."""

from __future__ import annotations

import json

import pytest

from analyzer.options import KINDS, MAIN, Option, payback
from analyzer.sensitivity import ASSUMPTIONS, UPFRONT, VOLUME, analyse, factors
from analyzer.tokenizing import Counter

from .conftest import chat_line, invoke, write_jsonl

SYSTEM = {"role": "system", "content": ("policy " * 1296).strip()}  # 1,300 tokens with its overhead on gpt-4o
PAIRS = [({"role": "user", "content": f"example ticket {n}"}, {"role": "assistant", "content": f"label{n}"})
         for n in range(6)]
# Flat prices make each option's arithmetic checkable by hand: $2/1M input (by default), $1/1M cached, $0 output.
SCENARIO = """
[prices."gpt-4o"]
input = {list_input}
cached_input = 1.0
output = 0.0
[finetune]
input_price = {ft_input}
output_price = 0.0
training_price = 0.0
{finetune_extra}
[upfront]
hourly_rate = 100
data_hours = 0
eval_hours = 0
pipeline_hours = 0
fixed = 1000
[maintenance]
retrain_hours = 0
[trim]
keep_examples = 2
hours = 1
[caching]
hours = 1
"""


def traffic(tmp_path, days=28, per_day=20, system=SYSTEM):
    fewshot = [m for pair in PAIRS for m in pair]
    lines = [chat_line(messages=[system, *fewshot, {"role": "user", "content": f"ticket {d}-{i}"}],
                       id=f"chatcmpl-{d}-{i}", ts=f"2026-10-{d + 1:02d}T08:{i // 60:02d}:{i % 60:02d}Z",
                       prompt_tokens=2000, completion_tokens=1)
             for d in range(days) for i in range(per_day)]
    return write_jsonl(tmp_path / "logs" / "calls.jsonl", lines)


def report(tmp_path, extra: str = "", list_input: float = 2.0, ft_input: float = 3.0, finetune_extra: str = "") -> dict:
    (tmp_path / "s.toml").write_text(SCENARIO.format(list_input=list_input, ft_input=ft_input,
                                                     finetune_extra=finetune_extra) + extra)
    out = invoke(["analyze", str(tmp_path / "logs"), "--scenario", str(tmp_path / "s.toml"), "--format", "json", "-q"])
    [t] = json.loads(out.stdout)["templates"]
    return t


def test_each_option_is_priced_from_the_logs(tmp_path):
    traffic(tmp_path, per_day=500)
    t = report(tmp_path, list_input=20.0)
    options = {o["option"]: o for o in t["options"]}
    counter = Counter("gpt-4o")
    fewshot = sum(counter.message(m) for pair in PAIRS for m in pair)
    static = counter.message(SYSTEM) + fewshot
    assert t["tokens_per_request"]["fewshot"] == fewshot
    assert t["current_cost_per_request"] == pytest.approx(2000 * 20 / 1e6)
    # Caching: the static prefix, rounded down to 128-token steps, read at $1 instead of $20.
    assert options["caching"]["cost_per_request"] == pytest.approx((2000 * 20 - (static // 128 * 128) * 19) / 1e6)
    assert options["caching"]["upfront_cost"] == 100
    # Trimming keeps 2 of the 6 pairs: two thirds of the few-shot tokens go, billed at $20 (nothing was cached).
    assert options["trim_fewshot"]["label"] == "keep 2 of 6 examples"
    assert options["trim_fewshot"]["cost_per_request"] == pytest.approx((2000 - fewshot * 4 / 6) * 20 / 1e6)
    # The smaller model: gpt-4o-mini's fine-tuned prices from the data file ($0.30 in), same shorter prompt.
    shorter = 2000 - counter.message(SYSTEM) - fewshot + 100
    assert options["finetune_smaller"]["model"] == "gpt-4o-mini"
    assert options["finetune_smaller"]["cost_per_request"] == pytest.approx(shorter * 0.30 / 1e6 + 1 * 1.20 / 1e6)
    assert options["finetune"]["cost_per_request"] == pytest.approx(shorter * 3.0 / 1e6)
    assert "lora" not in options  # opt-in: no [lora] section
    nets = {k: o["net_savings_horizon"] for k, o in options.items()}
    best = max(nets, key=nets.get)
    assert nets[best] > 0 and t["best_option"]["option"] == best
    runner_up = max(sorted(nets.values())[-2], 0)
    assert t["best_option"]["ahead_by"] == pytest.approx(nets[best] - runner_up, abs=1e-3)


def test_lora_is_offered_when_the_scenario_asks(tmp_path):
    traffic(tmp_path)
    t = report(tmp_path, "[lora]\ngpu_hourly = 2.0\ntraining_hours = 1.5\nserving_hourly = 1.0\nserving_hours = 100\n")
    lora = next(o for o in t["options"] if o["option"] == "lora")
    assert lora["cost_per_request"] == 0 and lora["training_cost"] == 3.0
    assert lora["maintenance_monthly"] == pytest.approx(3.0 / 6 + 100)  # retraining every 6 months + the GPU
    t = report(tmp_path, "[lora]\ninput_price = 0.2\noutput_price = 0.2\n")
    lora = next(o for o in t["options"] if o["option"] == "lora")
    assert lora["cost_per_request"] > 0 and "per token" in lora["note"]


def test_the_best_option_and_when_it_lowers_go(tmp_path):
    traffic(tmp_path, per_day=20)
    small = report(tmp_path)  # 20 calls a day at $2/1M: nothing pays back its upfront within a year
    assert small["best_option"]["option"] == "keep" and all(o["net_savings_horizon"] < 0 for o in small["options"])
    traffic(tmp_path, per_day=500)
    # At $20/1M today and $19 fine-tuned, fine-tuning is cheaper per call but caching the prefix at $1
    # nets more over the year for a tenth of the upfront: GO is lowered to EVALUATE, saying why.
    t = report(tmp_path, list_input=20.0, ft_input=19.0, finetune_extra='smaller_model = "none"')
    assert "finetune_smaller" not in {o["option"] for o in t["options"]}
    assert t["finetuned_cost_per_request"] < t["current_cost_per_request"]
    assert t["best_option"]["option"] == "caching"
    assert t["decision"] == "EVALUATE" and any("with no training" in r for r in t["reasons"])


def test_growth_from_the_scenario_brings_break_even_forward(tmp_path):
    traffic(tmp_path)
    flat, growing = report(tmp_path, "[traffic]\ngrowth = 0.0\n"), report(tmp_path, "[traffic]\ngrowth = 0.2\n")
    assert flat["volume"]["projection"][0] == pytest.approx(flat["monthly_requests"], abs=0.1)
    assert growing["volume"]["projection"][1] == pytest.approx(growing["monthly_requests"] * 1.2 ** 2, abs=0.1)
    assert growing["breakeven_months"] < flat["breakeven_months"]
    assert growing["volume"]["growth_note"] == "set by the scenario"


def test_sensitivity_gives_a_range_and_names_the_assumption(tmp_path):
    traffic(tmp_path)
    t = report(tmp_path)
    s = t["sensitivity"]
    cases = [v for pair in s["breakeven_months"].values() for v in pair]
    assert s["range_months"] == [min(v for v in cases if v is not None),
                                 None if None in cases else max(cases)]
    assert t["breakeven_range_months"] == s["range_months"]
    assert s["most_sensitive"] in s["described"]
    assert any("most sensitive to" in r for r in t["reasons"])


def test_payback_month_by_month():
    def flat(month):
        return 1000.0

    option = payback(Option("x", "x", 0.0, 500.0, 0.0), 1.0, flat, 12)
    assert option.breakeven_months == pytest.approx(0.5) and option.breakeven_requests == 500
    assert option.net_savings_horizon == pytest.approx(12 * 1000.0 - 500)
    # Far beyond the month-by-month search, a flat volume still gives the exact closed form.
    slow = payback(Option("x", "x", 0.0, 500.0, 0.0), 0.001, flat, 12)
    assert slow.breakeven_months == pytest.approx(500) and slow.breakeven_requests == 500_000
    never = payback(Option("x", "x", 0.0, 500.0, 2.0), 0.001, flat, 12)
    assert never.breakeven_months is None and never.breakeven_requests is None
    # Growing: $1 saved a request, 200 then 400 requests: $200 after month 1, the other $300 in 3/4 of month 2.
    grows = payback(Option("x", "x", 0.0, 500.0, 0.0), 1.0, lambda m: 100.0 * 2 ** m, 12)
    assert grows.breakeven_months == pytest.approx(1.75) and grows.breakeven_requests == 500


def test_sensitivity_ranks_a_never_as_the_widest_swing():
    def breakeven(assumption, factor):
        return {"volume": None if factor < 1 else 3.0, "upfront": 2.0 * factor}.get(assumption.name, 4.0)

    s = analyse(breakeven)
    assert s.most_sensitive == "volume" and s.low == 1.0 and s.high is None


def test_a_prompt_still_changing_is_evaluated_not_fine_tuned(tmp_path):
    base = " ".join(f"Rule {n} applies to tickets of kind {n}." for n in range(120))
    edits = {0: base, 10: base + " Be terse.", 20: base + " Be terse. Use lower case."}  # from day 1, 11, 21
    lines = []
    for d in range(28):
        system = {"role": "system", "content": edits[max(k for k in edits if k <= d)]}
        lines += [chat_line(messages=[system, {"role": "user", "content": f"ticket {d}-{i}"}], id=f"chatcmpl-{d}-{i}",
                            ts=f"2026-10-{d + 1:02d}T08:00:{i:02d}Z", prompt_tokens=2000) for i in range(20)]
    write_jsonl(tmp_path / "logs" / "calls.jsonl", lines)
    t = report(tmp_path)
    assert t["versions"] == 3
    assert any("the prompt changed 2 times in the window" in r for r in t["reasons"]) and t["decision"] != "GO"


def test_options_come_from_the_registry_in_its_order(tmp_path):
    traffic(tmp_path, per_day=500)
    t = report(tmp_path, "[lora]\n", list_input=20.0)
    assert [o["option"] for o in t["options"]] == list(KINDS)  # every kind offered here, in registry order
    assert t["caching_monthly_savings"] == next(o for o in t["options"] if o["option"] == "caching")["monthly_savings"]
    assert KINDS[MAIN].trains and {k for k, kind in KINDS.items() if not kind.trains} == {"caching", "trim_fewshot"}


def test_sensitivity_wording_comes_from_its_declaration():
    assert factors() == ("volume ×0.5/×1.5, fine-tuned prices ×0.7/×1.3, upfront ×0.5/×2, "
                         "kept system prompt and training examples ×0.5/×2")
    assert [a.described for a in ASSUMPTIONS][:2] == ["volume ×0.5 / ×1.5", "fine-tuned prices ×0.7 / ×1.3"]
    assert {VOLUME, UPFRONT} <= {a.name for a in ASSUMPTIONS if not a.keys}
    assert all(a.keys for a in ASSUMPTIONS if a.name not in {VOLUME, UPFRONT})  # the rest scale scenario values
