"""The OpenTelemetry GenAI parser: OTLP attribute values, both content generations, usage arithmetic,
time and ids, errors, strict detection both ways, and an end-to-end ingest.

There is no recorded OTLP traffic in ../shared/corpus: every span here is built field by field from
formats.md §8 (OTLP/JSON container, gen_ai.* attributes, OpenLLMetry's indexed attributes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import duckdb
import pytest

from analyzer import api, parsers
from analyzer.errors import BadRecord
from analyzer.models import Ignored, RawRecord, Request
from analyzer.parsers import (
    anthropic_messages,
    openai_chat,
    openai_responses,
    otel_genai,
    vcr,
)
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter

from .conftest import write_jsonl

START = "1727000000123456789"  # 2024-09-22T10:13:20.123456789Z, as OTLP/JSON writes it: a decimal string
END = "1727000001623456789"  # 1.5 s later
TS = datetime(2024, 9, 22, 10, 13, 20, 123456, tzinfo=UTC)
TRACE, SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"


def value(v):
    """A Python value as an OTLP AnyValue: ints as strings, lists as arrayValue."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    return {"stringValue": v}


def kv(attrs: dict) -> list[dict]:
    return [{"key": k, "value": value(v)} for k, v in attrs.items()]


def span(attrs: dict, *, trace=TRACE, span_id=SPAN, start=START, end=END, status=None, events=None, name="chat gpt-4o"):
    s = {"traceId": trace, "spanId": span_id, "parentSpanId": "", "name": name, "kind": 3,
         "startTimeUnixNano": start, "endTimeUnixNano": end, "attributes": kv(attrs), "events": events or [],
         "status": status or {}}
    return {k: v for k, v in s.items() if v is not None}


def export(*spans, resource=None) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": kv(resource or {"service.name": "shop"})},
                               "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.40"},
                                               "spans": list(spans)}]}]}


def chat(**extra) -> dict:
    """The attributes of a current-conventions chat span."""
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.response.id": "chatcmpl-123",
            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 5,
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop",
                                                   "parts": [{"type": "text", "content": "Hello"}]}]), **extra}


def parse_all(data) -> list:
    assert otel_genai.detect(data, parsers.context()), "not detected as otel-genai"
    return list(otel_genai.parse(RawRecord("f.jsonl", 1, data), parsers.context()))


def parse_one(data) -> Request:
    [item] = parse_all(data)
    assert isinstance(item, Request), item
    return item


@pytest.fixture
def registered():
    """The built-in registry, which tries otel-genai before every format that reads a bare request."""
    names = [f.name for f in parsers.formats()]
    assert all(names.index("otel-genai") < names.index(n) for n in ("langfuse", "openai-responses", "openai-chat")), names
    return parsers.REGISTRY


# --- OTLP attribute values ----------------------------------------------------------------------------------------


def test_attributes_turn_every_any_value_kind_into_python():
    items = [{"key": "s", "value": {"stringValue": "x"}}, {"key": "i", "value": {"intValue": "9007199254740993"}},
             {"key": "n", "value": {"intValue": 7}}, {"key": "d", "value": {"doubleValue": 0.5}},
             {"key": "b", "value": {"boolValue": False}},
             {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": "2"}]}}},
             {"key": "k", "value": {"kvlistValue": {"values": [{"key": "x", "value": {"intValue": "1"}}]}}},
             {"key": "empty", "value": {}}, {"key": "bad", "value": {"intValue": "many"}}, {"no": "key"}]
    assert otel_genai.attributes(items) == {"s": "x", "i": 9007199254740993, "n": 7, "d": 0.5, "b": False,
                                            "a": ["stop", 2], "k": {"x": 1}, "empty": None, "bad": "many"}
    assert otel_genai.attributes(None) == {} and otel_genai.attributes({"flat": 1}) == {"flat": 1}


# --- current conventions: gen_ai.input.messages / output.messages / system_instructions / tool.definitions -------


def test_current_conventions_become_chat_messages_tools_and_output():
    inputs = [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in "}, {"type": "text", "content": "SF?"}]},
        {"role": "assistant", "parts": [
            {"type": "reasoning", "content": "Let me look."},
            {"type": "text", "content": "Checking."},
            {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "SF"}},
            {"type": "tool_call", "id": "call_2", "name": "get_time", "arguments": "{}"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": {"temp": "15C"}},
                                   {"type": "tool_call_response", "id": "call_2", "response": "10:00"}]},
        {"role": "user", "parts": [{"type": "text", "content": "And tomorrow?"},
                                   {"type": "uri", "modality": "image", "uri": "https://x/cat.png"}]},
    ]
    outputs = [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "reasoning", "content": "hmm"},
        {"type": "tool_call", "id": "call_3", "name": "get_weather", "arguments": {"city": "SF", "day": 2}}]}]
    tools = [{"type": "function", "name": "get_weather", "description": "Weather by city.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
             {"type": "function", "function": {"name": "get_time", "parameters": {}}}]
    request = parse_one(span(chat(**{
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "You are a weather bot."},
                                                  {"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(inputs), "gen_ai.output.messages": json.dumps(outputs),
        "gen_ai.tool.definitions": json.dumps(tools)})))
    assert request.messages == [
        {"role": "system", "content": "You are a weather bot.\n\nBe brief."},
        {"role": "user", "content": "Weather in SF?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "SF"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": "15C"}'},
        {"role": "tool", "tool_call_id": "call_2", "content": "10:00"},
        # A medium is a file part, which the bill prices (no tiktoken rule does).
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"},
                                     {"type": "file", "file": {"modality": "image", "uri": "https://x/cat.png"}}]},
    ]
    assert request.output == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_3", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "SF", "day": 2}'}}]}
    assert request.tools == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather by city.",
                                          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {}}}]
    seg = segment(request, Counter(request.model))  # the segmenter reads the converted shape
    assert seg.system > 0 and seg.tools > 0 and seg.output_kind == "tool_call"
    assert [m.role for m in seg.middle] == ["user", "assistant"]  # the live turn is the tool results and question


def test_text_before_a_tool_response_stays_before_it_and_names_are_kept():
    inputs = [{"role": "system", "name": "example_user", "parts": [{"type": "text", "content": "2+2"}]},
              {"role": "user", "parts": [{"type": "text", "content": "Here:"},
                                         {"type": "tool_call_response", "id": "t1", "response": "4"}]}]
    request = parse_one(span(chat(**{"gen_ai.input.messages": json.dumps(inputs)})))
    assert request.messages == [{"role": "system", "name": "example_user", "content": "2+2"},
                                {"role": "user", "content": "Here:"},
                                {"role": "tool", "tool_call_id": "t1", "content": "4"}]


def test_system_instructions_as_a_plain_string_and_no_input_messages():
    request = parse_one(span(chat(**{"gen_ai.system_instructions": "Be brief."}) | {"gen_ai.input.messages": "[]"}))
    assert request.messages == [{"role": "system", "content": "Be brief."}]


def test_content_on_the_inference_details_event_is_read_and_span_attributes_win():
    event_attrs = [{"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
                       [{"role": "user", "parts": [{"type": "text", "content": "From the event"}]}])}},
                   {"key": "gen_ai.output.messages", "value": {"arrayValue": {"values": [{"kvlistValue": {"values": [
                       {"key": "role", "value": {"stringValue": "assistant"}},
                       {"key": "parts", "value": {"arrayValue": {"values": [{"kvlistValue": {"values": [
                           {"key": "type", "value": {"stringValue": "text"}},
                           {"key": "content", "value": {"stringValue": "Structured, not a string"}}]}}]}}}]}}]}}},
                   {"key": "gen_ai.response.model", "value": {"stringValue": "from-the-event"}}]
    attrs = {k: v for k, v in chat().items() if k not in ("gen_ai.input.messages", "gen_ai.output.messages")}
    events = [{"timeUnixNano": END, "name": "gen_ai.content.prompt", "attributes": kv({"gen_ai.prompt": "ignored"})},
              {"timeUnixNano": END, "name": "gen_ai.client.inference.operation.details", "attributes": event_attrs}]
    request = parse_one(span(attrs, events=events))
    assert request.messages == [{"role": "user", "content": "From the event"}]
    assert request.output == {"role": "assistant", "content": "Structured, not a string"}
    assert request.model == "gpt-4o-2024-08-06"


def test_a_truncated_messages_attribute_is_a_reject_with_the_reason():
    cut = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "x" * 50}]}])[:40]
    with pytest.raises(BadRecord, match="gen_ai.input.messages is not a JSON list"):
        parse_all(span(chat(**{"gen_ai.input.messages": cut})))


def test_usage_only_span_without_content_is_rejected_with_the_reason():
    # Its bill cannot be split into segments: stored, it would count as a request of reply priming only.
    attrs = {k: v for k, v in chat().items() if k not in ("gen_ai.input.messages", "gen_ai.output.messages")}
    with pytest.raises(BadRecord, match="span carries no prompt .* turn on the instrumentation's message content"):
        parse_all(span(attrs))


# --- OpenLLMetry's flattened, indexed attributes ------------------------------------------------------------------


def test_openllmetry_indexed_prompts_completions_and_functions():
    attrs = {
        "gen_ai.system": "openai", "llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": "chatcmpl-9",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "You are a shop bot.",
        # A list content is logged as a JSON string of parts.
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": json.dumps([{"type": "text", "text": "What is this?"},
                                               {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]),
        "gen_ai.prompt.2.role": "assistant",
        "gen_ai.prompt.2.tool_calls.0.id": "call_1", "gen_ai.prompt.2.tool_calls.0.name": "lookup",
        "gen_ai.prompt.2.tool_calls.0.arguments": '{"sku": 1}',
        "gen_ai.prompt.3.role": "tool", "gen_ai.prompt.3.content": "a mug", "gen_ai.prompt.3.tool_call_id": "call_1",
        # A user text that merely looks like JSON stays text.
        "gen_ai.prompt.10.role": "user", "gen_ai.prompt.10.content": "[1, 2]",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": '{"answer": "mug"}',
        "gen_ai.completion.0.finish_reason": "stop",
        "llm.request.functions.0.name": "lookup", "llm.request.functions.0.description": "Find a product.",
        "llm.request.functions.0.parameters": '{"type": "object", "properties": {"sku": {"type": "integer"}}}',
        "gen_ai.usage.prompt_tokens": 40, "gen_ai.usage.completion_tokens": 6, "llm.usage.total_tokens": 46,
    }
    request = parse_one(span(attrs, name="openai.chat"))
    assert request.messages == [
        {"role": "system", "content": "You are a shop bot."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"sku": 1}'}}]},
        {"role": "tool", "content": "a mug", "tool_call_id": "call_1"},
        {"role": "user", "content": "[1, 2]"},  # index 10 sorts after 3, not after 1
    ]
    assert request.output == {"role": "assistant", "content": '{"answer": "mug"}'}  # a JSON answer stays text
    assert request.tools == [{"type": "function", "function": {
        "name": "lookup", "description": "Find a product.",
        "parameters": {"type": "object", "properties": {"sku": {"type": "integer"}}}}}]
    assert (request.model, request.requested_model, request.request_id) == ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", "chatcmpl-9")
    assert (request.reported_prompt_tokens, request.reported_output_tokens) == (40, 6)


def test_openllmetry_anthropic_blocks_thinking_completion_and_input_schema():
    blocks = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "15C"}, {"type": "text", "text": "Tomorrow?"}]
    attrs = {
        "gen_ai.system": "Anthropic", "llm.request.type": "completion", "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.prompt.1.role": "assistant", "gen_ai.prompt.1.content": json.dumps(
            [{"type": "text", "text": "Checking."}, {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"c": "SF"}}]),
        "gen_ai.prompt.2.role": "user", "gen_ai.prompt.2.content": json.dumps(blocks),
        "gen_ai.completion.0.role": "thinking", "gen_ai.completion.0.content": "Let me think.",
        "gen_ai.completion.1.role": "assistant", "gen_ai.completion.1.content": "",
        "gen_ai.completion.1.tool_calls.0.id": "toolu_2", "gen_ai.completion.1.tool_calls.0.name": "weather",
        "gen_ai.completion.1.tool_calls.0.arguments": '{"c": "SF", "day": 2}',
        "llm.request.functions.0.name": "weather", "llm.request.functions.0.input_schema": '{"type": "object"}',
    }
    request = parse_one(span(attrs, name="anthropic.chat"))
    assert request.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": [{"type": "text", "text": "Checking."}], "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"c": "SF"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "15C"},
        {"role": "user", "content": [{"type": "text", "text": "Tomorrow?"}]},
    ]
    assert request.output == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "toolu_2", "type": "function", "function": {"name": "weather", "arguments": '{"c": "SF", "day": 2}'}}]}
    assert request.tools == [{"type": "function", "function": {"name": "weather", "description": None,
                                                               "parameters": {"type": "object"}}}]
    assert request.reported_prompt_tokens is None and request.raw_usage is None


def test_openllmetry_completion_api_prompt_under_dot_user():
    attrs = {"gen_ai.system": "openai", "llm.request.type": "completion", "gen_ai.request.model": "gpt-3.5-turbo-instruct",
             "gen_ai.prompt.0.user": "Say hi", "gen_ai.completion.0.content": "hi"}
    request = parse_one(span(attrs))
    assert request.messages == [{"role": "user", "content": "Say hi"}]
    assert request.output == {"role": "assistant", "content": "hi"}


# --- usage arithmetic per version --------------------------------------------------------------------------------

CURRENT = {"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 300,
           "gen_ai.usage.cache_read.input_tokens": 800, "gen_ai.usage.cache_creation.input_tokens": 100,
           "gen_ai.usage.reasoning.output_tokens": 200}


@pytest.mark.parametrize("provider, usage, expected", [
    # Current names: input includes cache reads and writes; output includes reasoning (§8, §10).
    ("openai", CURRENT, (1000, 800, 100, 300, 200)),
    # Deprecated names and OpenLLMetry's cache and reasoning names.
    ("openai", {"gen_ai.usage.prompt_tokens": 500, "gen_ai.usage.completion_tokens": 20,
                "gen_ai.usage.cache_read_input_tokens": 400, "gen_ai.usage.reasoning_tokens": 8}, (500, 400, None, 20, 8)),
    # OpenLLMetry's Anthropic spans: prompt_tokens = input + cache read + cache creation (its own test:
    # 1163 written, input 1167), so nothing is added.
    ("Anthropic", {"gen_ai.usage.prompt_tokens": 1167, "gen_ai.usage.completion_tokens": 187,
                   "gen_ai.usage.cache_read_input_tokens": 0, "gen_ai.usage.cache_creation_input_tokens": 1163},
     (1167, 0, 1163, 187, None)),
    ("anthropic", {"gen_ai.usage.input_tokens": 1167, "gen_ai.usage.output_tokens": 202,
                   "gen_ai.usage.cache_read.input_tokens": 1163, "gen_ai.usage.cache_creation.input_tokens": 0},
     (1167, 1163, 0, 202, None)),
    # Anthropic's own input_tokens passed through (excludes the cache): below its cached part, so the
    # parts are added, as anthropic_messages.normalise_usage does.
    ("anthropic", {"gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 1944,
                   "gen_ai.usage.cache_read.input_tokens": 9511, "gen_ai.usage.cache_creation.input_tokens": 0},
     (9514, 9511, 0, 1944, None)),
    # Not Anthropic: the input includes its cached part.
    ("openai", {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 80}, (100, 80, None, None, None)),
    # Only a total and the output: the prompt is the difference.
    ("openai", {"llm.usage.total_tokens": 46, "gen_ai.usage.completion_tokens": 6}, (40, None, None, 6, None)),
])
def test_usage_normalisation(provider, usage, expected):
    attrs = {k: v for k, v in chat().items() if not k.startswith("gen_ai.usage.")}
    request = parse_one(span({**attrs, "gen_ai.provider.name": provider, **usage}))
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens,
            request.reported_output_tokens, request.reported_reasoning_tokens) == expected
    assert request.raw_usage == usage  # as logged, ints decoded from their OTLP strings


def test_current_usage_names_win_over_deprecated_ones():
    request = parse_one(span(chat(**{"gen_ai.usage.prompt_tokens": 1, "gen_ai.usage.completion_tokens": 1})))
    assert (request.reported_prompt_tokens, request.reported_output_tokens) == (100, 5)


def test_usage_that_is_not_a_number_is_a_reject():
    with pytest.raises(BadRecord, match="usage field is not a number"):
        parse_all(span(chat(**{"gen_ai.usage.input_tokens": "lots"})))


# --- time, ids, model, session, errors ----------------------------------------------------------------------------


def test_time_is_the_start_in_nanoseconds_and_latency_end_minus_start():
    request = parse_one(span(chat()))
    assert request.timestamp == TS and request.timestamp.tzinfo is not None
    assert request.latency_ms == 1500.0


@pytest.mark.parametrize("start, end, ts, latency", [
    (int(START), int(END), TS, 1500.0),  # numbers, from exporters that do not quote int64
    ("2024-09-22T10:13:20.123456Z", END, TS, None),  # ISO text from a non-conforming exporter
    ("0", END, None, None),  # 0 means unset: no time, and the ingest rejects it with its reason
    (None, None, None, None),
    (END, START, datetime(2024, 9, 22, 10, 13, 21, 623456, tzinfo=UTC), None),  # end before start
])
def test_time_shapes(start, end, ts, latency):
    request = parse_one(span(chat(), start=start, end=end))
    assert (request.timestamp, request.latency_ms) == (ts, latency)


def test_ids_response_id_else_trace_and_span_as_given():
    assert parse_one(span(chat())).request_id == "chatcmpl-123"
    attrs = {k: v for k, v in chat().items() if k != "gen_ai.response.id"}
    assert parse_one(span(attrs)).request_id == f"{TRACE}:{SPAN}"
    b64 = parse_one(span(attrs, trace="W47/95gDgQPSabYzgT/GDA==", span_id="7uGbfsPBsXQ="))
    assert b64.request_id == "W47/95gDgQPSabYzgT/GDA==:7uGbfsPBsXQ="  # base64 exporters: kept as given
    no_ids = {k: v for k, v in span(attrs).items() if k not in ("traceId", "spanId")}
    [request] = parse_all(export(no_ids))
    assert request.request_id.startswith("sha256:")


def test_model_session_and_user():
    attrs = {k: v for k, v in chat().items() if k != "gen_ai.response.model"}
    request = parse_one(span({**attrs, "gen_ai.conversation.id": "conv-1", "user.id": "u-7"}))
    assert (request.model, request.requested_model, request.session_id, request.user) == ("gpt-4o", "gpt-4o", "conv-1", "u-7")
    legacy = parse_one(span({**attrs, "traceloop.association.properties.session_id": "s-2", "llm.user": "u-8",
                             "traceloop.prompt.key": "support-bot", "traceloop.prompt.version": 3}))
    assert (legacy.session_id, legacy.user) == ("s-2", "u-8")


def test_a_span_without_any_model_is_a_reject():
    attrs = {k: v for k, v in chat().items() if not k.endswith("model")}
    with pytest.raises(BadRecord, match="no gen_ai.response.model or gen_ai.request.model"):
        parse_all(span(attrs))


@pytest.mark.parametrize("status, extra, error", [
    ({"code": 2, "message": "Error code: 429 - rate limited"}, {}, "Error code: 429 - rate limited"),
    ({"code": "STATUS_CODE_ERROR"}, {"error.type": "RateLimitError"}, "RateLimitError"),
    ({"code": 0}, {"error.type": "timeout"}, "timeout"),
    ({"code": 2}, {}, "span status ERROR"),
])
def test_failed_calls_are_kept_as_errors(status, extra, error):
    attrs = {k: v for k, v in chat().items() if not k.startswith(("gen_ai.usage.", "gen_ai.output", "gen_ai.response."))}
    request = parse_one(span({**attrs, **extra}, status=status))
    assert (request.status, request.error, request.output) == ("error", error, None)


def test_ok_status_codes_are_ok():
    for code in (0, 1, "STATUS_CODE_OK", "STATUS_CODE_UNSET"):
        assert parse_one(span(chat(), status={"code": code})).status == "ok"


# --- which spans are model calls ----------------------------------------------------------------------------------


def test_an_export_yields_only_its_model_call_spans():
    http = span({"http.request.method": "POST", "url.full": "https://api.openai.com/v1/chat/completions"},
                span_id="a1", name="POST")
    tool = span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}, span_id="a2")
    agent = span(chat(**{"gen_ai.operation.name": "invoke_agent"}), span_id="a3")  # repeats its chat spans
    embed = span({"gen_ai.request.model": "text-embedding-3-small", "llm.request.type": "embedding",
                  "gen_ai.usage.prompt_tokens": 8}, span_id="a4")
    bare_model = span({"gen_ai.request.model": "gpt-4o", "gen_ai.system": "openai"}, span_id="a5")  # no prompt or usage
    legacy = span({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 9},
                  span_id="a6")  # no operation name, but a model and usage: a model call
    gemini = span(chat(**{"gen_ai.operation.name": "generate_content", "gen_ai.response.id": "g-1"}), span_id="a7")
    items = parse_all(export(http, tool, agent, embed, bare_model, span(chat(), span_id="a8"), legacy, gemini))
    assert [getattr(i, "request_id", None) for i in items] == ["chatcmpl-123", None, "g-1"]
    assert items[1].reason.startswith("span a6: span carries no prompt")  # a model call, but without content


def test_a_bad_span_in_an_export_is_one_reject_and_the_rest_are_kept():
    bad = span(chat(**{"gen_ai.input.messages": "[{\"role\": \"us"}), span_id="b1")
    items = parse_all(export(bad, span(chat(), span_id="b2")))
    assert isinstance(items[0], BadRecord) and items[0].reason.startswith("span b1: gen_ai.input.messages")
    assert isinstance(items[1], Request)


def test_an_export_without_a_model_call_is_rejected_with_the_reason():
    with pytest.raises(BadRecord, match="no GenAI model-call span among the export's 2 spans"):
        parse_all(export(span({"http.request.method": "GET"}, name="GET"), span({}, name="db")))


def test_older_otlp_exports_with_instrumentation_library_spans():
    data = {"resourceSpans": [{"instrumentationLibrarySpans": [{"spans": [span(chat())]}]}]}
    assert parse_one(data).request_id == "chatcmpl-123"


@pytest.mark.parametrize("attrs, reason", [
    ({"http.request.method": "GET"}, "no gen_ai.operation.name, model or provider attribute"),
    ({"gen_ai.operation.name": "execute_tool"}, "operation 'execute_tool'"),
    ({"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "e5", "gen_ai.usage.input_tokens": 3},
     "operation 'embeddings'"),
    ({"gen_ai.request.model": "gpt-4o"}, "it names a model but carries no prompt or usage"),
])
def test_a_lone_non_genai_span_is_rejected_with_the_reason(attrs, reason):
    with pytest.raises(BadRecord, match=f"span 'GET /health' is not a GenAI model call: {reason}"):
        parse_all(span(attrs, name="GET /health"))


# --- detection, both ways -----------------------------------------------------------------------------------------

CHAT_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
CHAT_RESPONSE = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o", "created": 1727000000,
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}]}
RESPONSES_BODY = {"model": "gpt-4o", "input": "Hi", "instructions": "Be brief."}
RESPONSES_RESPONSE = {"id": "resp_1", "object": "response", "model": "gpt-4o", "created_at": 1727000000, "output": []}
ANTHROPIC_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": "Be brief.",
                  "messages": [{"role": "user", "content": "Hi"}]}
ANTHROPIC_RESPONSE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                      "content": [{"type": "text", "text": "Hello"}], "usage": {"input_tokens": 3, "output_tokens": 1}}
THEIRS = [CHAT_BODY, {"request": CHAT_BODY, "response": CHAT_RESPONSE, "timestamp": "2026-10-01T10:00:00Z"},
          RESPONSES_BODY, {"request": RESPONSES_BODY, "response": RESPONSES_RESPONSE},
          ANTHROPIC_BODY, {"request": ANTHROPIC_BODY, "response": ANTHROPIC_RESPONSE},
          {"interactions": [{"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                                         "body": json.dumps(CHAT_BODY)}, "response": {"status": {"code": 200}}}]}]
# Langfuse-like and generic tracing records carry trace ids but are not OTLP spans.
NOT_SPANS = [{"traceId": TRACE, "id": "obs-1", "type": "GENERATION", "startTime": "2026-10-01T10:00:00Z"},
             {"traceId": TRACE, "spanId": SPAN}, {"trace_id": TRACE, "span_id": SPAN, "attributes": []},
             {"resourceSpans": {}}, [], "resourceSpans", None]
OURS = [span(chat()), export(span(chat())), span({"http.request.method": "GET"}), export()]


@pytest.mark.parametrize("data", THEIRS + NOT_SPANS)
def test_detection_refuses_what_is_not_otlp(data):
    assert not otel_genai.detect(data, parsers.context())


@pytest.mark.parametrize("module", [vcr, anthropic_messages, openai_responses, openai_chat])
@pytest.mark.parametrize("data", OURS)
def test_no_other_format_claims_otlp_records(module, data):
    assert not module.detect(data, parsers.context())


def test_registered_first_it_takes_only_its_own_records(registered):
    assert all(parsers.detect(d).name == otel_genai.NAME for d in OURS)
    assert [parsers.detect(d).name for d in THEIRS] == ["openai-chat", "openai-chat", "openai-responses",
                                                        "openai-responses", "anthropic-messages",
                                                        "anthropic-messages", "vcr-cassette"]


# --- end to end ---------------------------------------------------------------------------------------------------


def test_ingest_end_to_end(tmp_path, registered):
    anthropic = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                 "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.response.model": "claude-sonnet-4-5-20250929",
                 "gen_ai.response.id": "msg_01", "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 9,
                 "gen_ai.usage.cache_read.input_tokens": 9511, "gen_ai.usage.cache_creation.input_tokens": 20,
                 "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
                 "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}])}
    tool = span({"gen_ai.operation.name": "execute_tool"}, span_id="t1")
    lines = [
        export(span(chat(), span_id="s1"), tool, span(anthropic, span_id="s2", start="1727000060000000000")),
        span(chat(**{"gen_ai.response.id": "chatcmpl-456"}), span_id="s3"),
        span(chat(), span_id="s4"),  # the same call as in the export: a duplicate
        span({"http.request.method": "GET"}, name="GET /health"),  # rejected: not a model call
        span(chat(**{"gen_ai.response.id": "chatcmpl-789"}), start="0"),  # rejected: no time
    ]
    db = tmp_path / "x.duckdb"
    result = api.ingest([write_jsonl(tmp_path / "spans.jsonl", lines)], db=db)
    [f] = result.files
    assert (f.records, f.stored, f.duplicates, f.rejected) == (6, 3, 1, 2)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""SELECT request_id, format, model, ts, latency_ms, reported_prompt_tokens,
                                     reported_cached_tokens, reported_cache_write_tokens, reported_output_tokens
                              FROM requests ORDER BY request_id""").fetchall()
        assert rows == [
            ("chatcmpl-123", "otel-genai", "gpt-4o-2024-08-06", TS.replace(tzinfo=None), 1500.0, 100, None, None, 5),
            ("chatcmpl-456", "otel-genai", "gpt-4o-2024-08-06", TS.replace(tzinfo=None), 1500.0, 100, None, None, 5),
            ("msg_01", "otel-genai", "claude-sonnet-4-5-20250929", datetime(2024, 9, 22, 10, 14, 20), None,
             9534, 9511, 20, 9),
        ]
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects ORDER BY line").fetchall()]
        assert reasons[0].startswith("span 'GET /health' is not a GenAI model call")
        assert reasons[1] == "no timestamp in record, wrapper or response"
        assert con.execute("SELECT formats, records, stored + duplicates + rejected FROM files").fetchone() == (
            "otel-genai", 6, 6)


# --- event spans with nothing to count ----------------------------------------------------------------------------

# A framework's span beside the call's own (Axiom's `chat <model> stream`, a finish event): it names the
# operation and the model, maybe the finish reason, and carries no prompt, reply or usage.
FINISH_EVENT = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.finish_reasons": ["stop"]}


def test_an_event_span_without_prompt_reply_or_usage_is_ignored_not_rejected():
    [item] = parse_all(span(FINISH_EVENT, span_id="f1", name="chat gpt-4o stream"))
    assert isinstance(item, Ignored) and item.reason.startswith("span 'f1' carries no prompt, reply or usage")
    items = parse_all(export(span(chat(), span_id="c1"), span(FINISH_EVENT, span_id="f2")))
    assert [type(i) for i in items] == [Request, Ignored]


@pytest.mark.parametrize("extra", [{"gen_ai.usage.input_tokens": 9},
                                   {"gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": []}])},
                                   {"gen_ai.completion.0.content": "Hello"}])
def test_a_span_with_a_reply_or_usage_but_no_prompt_is_still_rejected(extra):
    with pytest.raises(BadRecord, match="span carries no prompt"):
        parse_all(span({**FINISH_EVENT, **extra}))


def test_ignored_spans_are_counted_and_the_accounting_adds_up(tmp_path, registered):
    lines = [export(span(chat(), span_id="c1"), span(FINISH_EVENT, span_id="f1")),
             span(FINISH_EVENT, span_id="f2"),
             span({**FINISH_EVENT, "gen_ai.usage.input_tokens": 9}, span_id="u1")]  # usage, no prompt: a reject
    log, db = write_jsonl(tmp_path / "spans.jsonl", lines), tmp_path / "x.duckdb"
    [f] = api.ingest([log], db=db).files
    assert (f.records, f.stored, f.duplicates, f.rejected, f.pending, f.ignored) == (4, 1, 0, 1, 0, 2)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT records, stored + duplicates + rejected + pending + ignored, ignored "
                           "FROM files").fetchone() == (4, 4, 2)
        assert con.execute("SELECT count(*) FROM rejects").fetchone() == (1,)
    out = subprocess.run([sys.executable, "-m", "analyzer", "ingest", str(log), "--db", str(tmp_path / "y.duckdb")],
                         capture_output=True, text=True, check=True).stderr
    assert "4 read = 1 stored + 0 duplicates + 1 rejected + 2 ignored (nothing to count)" in out
