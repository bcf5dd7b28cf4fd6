"""Segmentation of one request: which messages are system, few-shot, tools, history and input."""

from __future__ import annotations

from analyzer.models import Request
from analyzer.segmenting import mask_variables, output_kind, segment
from analyzer.tokenizing import REPLY_PRIMING, Counter

from .test_tokenizing import COOKBOOK_MESSAGES, COOKBOOK_TOOL_MESSAGES, COOKBOOK_TOOLS

COUNTER = Counter("gpt-4o")


def req(messages, **kw):
    return Request(model="gpt-4o", messages=messages, **kw)


def test_named_examples_are_fewshot_and_segments_add_up_to_the_cookbook_total():
    seg = segment(req(COOKBOOK_MESSAGES), COUNTER)
    assert seg.prompt_tokens == 124
    assert seg.system == COUNTER.message(COOKBOOK_MESSAGES[0])
    assert seg.fewshot_named == sum(COUNTER.message(m) for m in COOKBOOK_MESSAGES[1:5])
    assert seg.input == COUNTER.message(COOKBOOK_MESSAGES[5]) + REPLY_PRIMING
    assert seg.middle == []


def test_tools_segment_is_the_tool_definitions():
    seg = segment(req(COOKBOOK_TOOL_MESSAGES, tools=COOKBOOK_TOOLS), COUNTER)
    assert seg.prompt_tokens == 101 and seg.tools == COUNTER.tools(COOKBOOK_TOOLS)
    assert [s.kind for s in seg.statics] == ["system", "tools"]


def test_turns_before_the_live_one_are_the_middle():
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "u1"},
                {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"}]
    seg = segment(req(messages), COUNTER)
    assert [(m.position, m.role) for m in seg.middle] == [(0, "user"), (1, "assistant")]
    assert seg.input == COUNTER.message(messages[3]) + REPLY_PRIMING


def test_tool_loop_live_turn_is_the_tool_results():
    messages = [{"role": "user", "content": "weather?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    seg = segment(req(messages), COUNTER)
    assert len(seg.middle) == 2 and seg.input == COUNTER.message(messages[2]) + REPLY_PRIMING


def test_template_ignores_variable_spans_but_not_wording():
    def tid(system):
        return segment(req([{"role": "system", "content": system}, {"role": "user", "content": "x"}]), COUNTER).template_id

    assert tid("Today is 2026-10-01. Customer 4412 (ann@example.com).") == tid("Today is 2026-10-31. Customer 97 (bob@corp.io).")
    assert tid("Today is 2026-10-01.") != tid("Tomorrow is 2026-10-01.")
    assert mask_variables("at 10:30 on 2026-10-01, order 55, id 3f2a9c1e-1b2c-4d5e-8f90-123456789abc") == \
        "at <time> on <date>, order <n>, id <uuid>"


def test_live_input_does_not_change_the_template():
    a = segment(req([{"role": "system", "content": "Classify."}, {"role": "user", "content": "one"}]), COUNTER)
    b = segment(req([{"role": "system", "content": "Classify."}, {"role": "user", "content": "two two"}]), COUNTER)
    assert a.template_id == b.template_id and a.input_hash != b.input_hash


def test_output_kinds():
    assert output_kind({"content": "billing"}, 1) == "label"
    assert output_kind({"content": '{"a": 1}'}, 6) == "json"
    assert output_kind({"content": "A long free text answer that goes on and on."}, 11) == "text"
    assert output_kind({"content": None, "tool_calls": [{}]}, 0) == "tool_call"
    assert output_kind(None, 0) == "none"


def test_output_tokens_count_text_and_tool_calls():
    out = {"role": "assistant", "content": "Hello there",
           "tool_calls": [{"function": {"name": "f", "arguments": '{"x": 1}'}}]}
    seg = segment(req([{"role": "user", "content": "x"}], output=out), COUNTER)
    assert seg.output == COUNTER.text("Hello there") + COUNTER.text("f") + COUNTER.text('{"x": 1}')
