"""The Langfuse parser: golden cases built from formats.md §6, strict detection, and an end-to-end ingest.

No real Langfuse export is in ../shared/corpus. The records here are written field by field from the
public API's Observation and Trace shapes and from the integrations' logging code (langfuse-python
`openai.py` and `langchain/CallbackHandler.py`, the server's usage transforms).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from analyzer import api, parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord, Request
from analyzer.parsers import (
    anthropic_messages,
    langfuse,
    openai_chat,
    openai_responses,
    vcr,
)
from analyzer.parsers.langfuse import normalise_usage
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter

from .conftest import chat_line, write_jsonl

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
USAGE = {"input": 400, "input_cached_tokens": 600, "output": 100, "output_reasoning_tokens": 200, "total": 1300}


def generation(**fields) -> dict:
    """One GENERATION observation as the public API returns it (ObservationsView), JSON held in strings."""
    obs = {"id": "90d94774e8e3724d", "traceId": "fee618f9c0b2a1d4e5f60718293a4b5c", "parentObservationId": None,
           "type": "GENERATION", "name": "OpenAI-generation", "startTime": "2025-09-30T09:04:01.001Z",
           "endTime": "2025-09-30T09:04:02.151Z", "completionStartTime": "2025-09-30T09:04:01.501Z",
           "model": "gpt-4.1-2025-04-14", "modelParameters": {"temperature": 1, "max_tokens": "Infinity"},
           "input": json.dumps(MESSAGES), "output": json.dumps({"role": "assistant", "content": "Hello"}),
           "metadata": "{}", "usage": {"input": 1000, "output": 300, "total": 1300, "unit": "TOKENS"},
           "usageDetails": USAGE, "costDetails": {"input": 0.001, "total": 0.002}, "level": "DEFAULT",
           "statusMessage": None, "version": None, "promptId": None, "promptName": None, "promptVersion": None,
           "latency": 1.15, "timeToFirstToken": 0.5, "environment": "default"}
    obs.update(fields)
    return obs


def span(**fields) -> dict:
    return {"id": "aa11", "traceId": "fee618f9", "type": "SPAN", "name": "agent-step", "startTime": "2025-09-30T09:04:00Z",
            "endTime": "2025-09-30T09:04:03Z", "input": "{}", "output": None, "level": "DEFAULT", **fields}


TRACE = {"id": "fee618f9c0b2a1d4e5f60718293a4b5c", "timestamp": "2025-09-30T09:04:00.000Z", "name": "chat",
         "userId": "user-7", "sessionId": "session-3", "tags": ["prod"], "release": "v1", "version": "2",
         "metadata": "{}", "input": None, "output": None, "environment": "default"}


def parse_all(data) -> list:
    assert langfuse.detect(data, parsers.context()), "not detected as Langfuse"
    return list(langfuse.parse(RawRecord("f.jsonl", 1, data), parsers.context()))


def parse_one(data) -> Request:
    [request] = parse_all(data)
    assert isinstance(request, Request)
    return request


@pytest.fixture
def registry():
    """The built-in registry, which tries Langfuse before the formats that would take its records."""
    names = [f.name for f in parsers.formats()]
    assert names.index("langfuse") < names.index("openai-responses") and names.index("langfuse") < names.index("openai-chat"), names
    return parsers.REGISTRY


# --- one observation --------------------------------------------------------------------------------------------


def test_generation_becomes_a_request_field_by_field():
    request = parse_one(generation())
    assert request.model == request.requested_model == "gpt-4.1-2025-04-14"
    assert request.messages == MESSAGES
    assert request.output == {"role": "assistant", "content": "Hello"}
    assert request.timestamp == datetime(2025, 9, 30, 9, 4, 1, 1000, tzinfo=UTC)
    assert request.request_id == "90d94774e8e3724d"
    assert request.latency_ms == pytest.approx(1150.0)
    assert (request.status, request.error, request.tools, request.response_format) == ("ok", None, [], None)
    assert (request.user, request.session_id, request.sample_rate) == (None, None, None)
    # usageDetails wins over the deprecated usage, and Langfuse's subtraction is undone (§6).
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens,
            request.reported_output_tokens, request.reported_reasoning_tokens) == (1000, 600, None, 300, 200)
    assert request.raw_usage == USAGE


@pytest.mark.parametrize("kind", ["SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EMBEDDING"])
def test_an_observation_that_is_not_a_generation_is_rejected_with_its_type(kind):
    with pytest.raises(BadRecord) as caught:
        parse_all(span(type=kind))
    assert caught.value.reason == f"langfuse {kind} observation: not a model call"


@pytest.mark.parametrize("fields, reason", [
    ({"model": None}, "langfuse generation without a model"),
    ({"input": None}, "without input messages"),
    ({"input": json.dumps({"foo": 1})}, "without input messages"),
    ({"input": "[1, 2]"}, "neither messages nor text"),
])
def test_bad_generations(fields, reason):
    with pytest.raises(BadRecord, match=reason):
        parse_all(generation(**fields))


# --- trace exports and API pages ---------------------------------------------------------------------------------


def test_trace_export_yields_one_request_per_generation_and_skips_the_other_observations():
    second = generation(id="b2", startTime="2025-09-30T09:04:05Z", endTime=None, latency=None, model="gpt-4o-mini",
                        level="ERROR", statusMessage="Error code: 429 - Rate limit reached", output=None, usageDetails={})
    items = parse_all({"trace": TRACE, "observations": [span(), generation(), span(id="e1", type="EVENT"), second]})
    assert [r.request_id for r in items] == ["90d94774e8e3724d", "b2"]
    assert all((r.user, r.session_id) == ("user-7", "session-3") for r in items)
    failed = items[1]
    assert (failed.status, failed.error, failed.output, failed.latency_ms) == (
        "error", "Error code: 429 - Rate limit reached", None, None)
    assert failed.raw_usage is None and failed.reported_prompt_tokens is None


def test_a_bad_generation_in_a_trace_is_a_reject_of_its_own_and_the_rest_is_kept():
    items = parse_all({"trace": TRACE, "observations": [generation(id="g0", model=None), generation()]})
    assert isinstance(items[0], BadRecord) and items[0].reason == "langfuse generation without a model"
    assert isinstance(items[1], Request)


def test_a_trace_without_generations_is_rejected():
    with pytest.raises(BadRecord, match="langfuse trace without GENERATION observations"):
        parse_all({"trace": TRACE, "observations": [span(), span(id="e", type="EVENT")]})
    with pytest.raises(BadRecord, match="without GENERATION"):
        parse_all({"trace": TRACE, "observations": []})


def test_trace_with_full_details_and_api_page():
    full = {**TRACE, "htmlPath": "/project/p/traces/fee6", "scores": [], "observations": [span(), generation()]}
    assert parse_one(full).session_id == "session-3"
    page = {"data": [generation(), span(), generation(id="g2")], "meta": {"page": 1, "limit": 50, "totalItems": 3}}
    assert [r.request_id for r in parse_all(page)] == ["90d94774e8e3724d", "g2"]
    assert parse_all(page)[0].user is None  # a page has no trace to name the user


# --- input shapes --------------------------------------------------------------------------------------------------

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def test_input_with_tools_and_legacy_functions():
    # langfuse.openai logs {tools, functions, messages} when the call had tools, a bare list otherwise.
    body = {"tools": [WEATHER], "functions": [{"name": "f", "parameters": {}}], "messages": MESSAGES}
    request = parse_one(generation(input=json.dumps(body)))
    assert request.messages == MESSAGES
    assert request.tools == [WEATHER, {"type": "function", "function": {"name": "f", "parameters": {}}}]


def test_json_held_in_strings_is_decoded_twice_and_plain_text_is_kept():
    twice = json.dumps(json.dumps(MESSAGES))
    request = parse_one(generation(input=twice, output=json.dumps(json.dumps("Hello")), metadata=json.dumps("{}")))
    assert request.messages == MESSAGES and request.output == {"role": "assistant", "content": "Hello"}
    text = parse_one(generation(input="[draft] Summarise this", output="[1] done"))
    assert text.messages == [{"role": "user", "content": "[draft] Summarise this"}]
    assert text.output == {"role": "assistant", "content": "[1] done"}


def test_responses_items_become_chat_messages():
    # langfuse.openai for responses.create: [{"role": "system", "content": instructions}, *input items].
    items = [{"role": "system", "content": "You are a bot."},
             {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
             {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
             {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
             {"type": "reasoning", "id": "rs_1", "summary": []}]
    request = parse_one(generation(input=json.dumps(items)))
    assert request.messages == [
        {"role": "system", "content": "You are a bot."},
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"}]


def test_responses_prompt_object_with_flat_tools():
    flat = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}
    body = {"instructions": "Be brief.", "input": "Hi", "tools": [flat, {"type": "web_search"}], "tool_choice": "auto"}
    request = parse_one(generation(input=json.dumps(body)))
    assert request.messages == MESSAGES
    assert request.tools == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}},
        {"type": "web_search", "function": {"name": "web_search"}}]
    wrapped = parse_one(generation(input={"input": [{"role": "user", "content": "Hi"}], "tools": [flat]}))
    assert wrapped.messages == [{"role": "user", "content": "Hi"}] and len(wrapped.tools) == 1


def test_langchain_messages_tool_calls_and_tool_definitions():
    # CallbackHandler: LangChain tool calls {name, args, id}, and the bound tools appended as
    # {"role": "tool", "content": tool} pseudo-messages without a tool_call_id.
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_9", "type": "tool_call"}],
                 "additional_kwargs": {"tool_calls": [{"id": "call_9"}]}},
                {"role": "tool", "content": "18C", "tool_call_id": "call_9"},
                {"role": "tool", "content": WEATHER}]
    output = {"role": "assistant", "content": "", "tool_calls": [
        {"name": "get_time", "args": {}, "id": "call_10", "type": "tool_call"}]}
    request = parse_one(generation(input=messages, output=output, model="gpt-4o"))
    assert request.tools == [WEATHER]
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[2] == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert request.output["tool_calls"] == [
        {"id": "call_10", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]
    seg = segment(request, Counter(request.model))  # the segmenter reads the converted request
    assert seg.tools > 0 and seg.output > 0 and seg.output_kind == "tool_call"


def test_completion_prompt_and_vercel_ai_sdk_prompt():
    assert parse_one(generation(input="Translate: hello")).messages == [{"role": "user", "content": "Translate: hello"}]
    vercel = {"system": "Be brief.", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}
    request = parse_one(generation(input=json.dumps(vercel)))
    assert request.messages == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


def test_tools_and_response_format_from_model_parameters_and_metadata():
    schema = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
    params = {"temperature": 0, "tools": json.dumps([WEATHER]), "response_format": json.dumps(schema)}
    request = parse_one(generation(modelParameters=json.dumps(params)))
    assert request.tools == [WEATHER] and request.response_format == schema
    # langfuse.openai puts response_format in metadata; a Pydantic class is logged as its bare JSON schema.
    pydantic = {"properties": {"label": {"type": "string"}}, "required": ["label"], "title": "Label", "type": "object"}
    request = parse_one(generation(metadata=json.dumps({"response_format": pydantic})))
    assert request.response_format == {"type": "json_schema", "json_schema": {"name": "Label", "schema": pydantic}}
    text_format = {"type": "json_schema", "name": "Label", "schema": pydantic, "strict": True}  # Responses text.format
    assert parse_one(generation(metadata={"text_format": text_format})).response_format == {
        "type": "json_schema", "json_schema": {"name": "Label", "schema": pydantic, "strict": True}}
    assert parse_one(generation(metadata={"response_format": {"type": "json_object"}})).response_format is None


# --- output shapes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output, expected", [
    (None, None),
    ("Hello", {"role": "assistant", "content": "Hello"}),
    ({"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
     {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}),
    ({"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"},
     {"role": "assistant", "content": None, "tool_calls": [
         {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}),
    ([{"type": "reasoning", "summary": []},
      {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}],
     {"role": "assistant", "content": "Hi"}),
    ({"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": "Yo"}}]},
     {"role": "assistant", "content": "Yo"}),
    ({"object": "response", "output": [{"type": "message", "role": "assistant",
                                        "content": [{"type": "output_text", "text": "Ok"}]}]},
     {"role": "assistant", "content": "Ok"}),
    ({"label": "spam"}, {"role": "assistant", "content": '{"label": "spam"}'}),
    ([{"role": "assistant", "content": "last"}], {"role": "assistant", "content": "last"}),
])
def test_output_shapes(output, expected):
    assert parse_one(generation(output=json.dumps(output) if output is not None else None)).output == expected


# --- time, latency, ids, status --------------------------------------------------------------------------------------


@pytest.mark.parametrize("start, expected", [
    ("2025-09-30T09:04:01.001Z", datetime(2025, 9, 30, 9, 4, 1, 1000, tzinfo=UTC)),
    ("2025-09-30T11:04:01.001+02:00", datetime(2025, 9, 30, 9, 4, 1, 1000, tzinfo=UTC)),
    ("2025-09-30T09:04:01.001", datetime(2025, 9, 30, 9, 4, 1, 1000, tzinfo=UTC)),  # naive = UTC
])
def test_start_time_is_utc(start, expected):
    request = parse_one(generation(startTime=start, endTime=None))
    assert request.timestamp == expected and request.timestamp.tzinfo is UTC


def test_latency_from_end_time_else_from_latency_seconds_and_missing_times():
    assert parse_one(generation(latency=None)).latency_ms == pytest.approx(1150.0)
    assert parse_one(generation(endTime=None, latency=2.5)).latency_ms == pytest.approx(2500.0)
    bare = parse_one(generation(startTime=None, endTime=None, latency=None))
    assert bare.timestamp is None and bare.latency_ms is None  # the ingest rejects it with its reason


def test_levels_other_than_error_are_ok_and_an_error_without_message_says_its_level():
    assert parse_one(generation(level="WARNING", statusMessage="slow")).status == "ok"
    failed = parse_one(generation(level="ERROR", statusMessage=None))
    assert (failed.status, failed.error) == ("error", "level ERROR")


def test_an_observation_without_id_in_a_trace_gets_a_content_id():
    obs = {k: v for k, v in generation().items() if k != "id"}
    first, again = (parse_one({"trace": TRACE, "observations": [obs]}) for _ in range(2))
    assert first.request_id.startswith("sha256:") and first.request_id == again.request_id


# --- usage arithmetic ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("details, expected", [
    # OpenAI Chat/Responses usage ingested by the server: every detail subtracted from input/output.
    (USAGE, (1000, 600, None, 300, 200)),
    ({"input": 5, "input_cached_tokens": 50, "input_cache_write_tokens": 40, "input_audio_tokens": 5,
      "output": 7, "output_audio_tokens": 3, "total": 110}, (100, 50, 40, 10, None)),
    # LangChain usage_metadata (Anthropic): input_token_details.{cache_read,cache_creation} subtracted.
    ({"input": 3, "input_cache_read": 9511, "input_cache_creation": 200, "output": 1944, "total": 11658},
     (9714, 9511, 200, 1944, None)),
    # Vercel AI SDK over OTel, Anthropic with the 1-hour TTL split out of input_cache_creation.
    ({"input": 2, "input_cached_tokens": 47105, "input_cache_creation": 0, "input_cache_creation_5m": 0,
      "input_cache_creation_1h": 1076, "output": 714}, (48183, 47105, 1076, 714, None)),
    # Bedrock over the Vercel AI SDK.
    ({"input": 10, "input_cache_read": 4482, "input_cache_write": 0, "output": 3}, (4492, 4482, 0, 3, None)),
    # OpenInference llm.token_count.* passed through unsubtracted: the details are inside input/output.
    ({"input": 36, "output": 75, "total": 111, "prompt_details.cache_read": 35, "completion_details.reasoning": 20},
     (36, 35, None, 75, 20)),
    # LangChain on Vertex: modality details, cached_modality_* subtracted from input as well.
    ({"input": 0, "input_modality_TEXT": 70, "cached_modality_TEXT": 30, "output": 0, "output_modality_TEXT": 10},
     (100, 30, None, 10, None)),
    # Provider field names sent as usage_details by hand: Langfuse sums every key containing "input".
    ({"input_tokens": 3, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 7},
     (108, 100, 5, 7, None)),
    ({"output_reasoning": 4, "output": 6, "input": "12"}, (12, None, None, 10, 4)),
    ({"input": 5, "output": None, "total": 5, "accepted_prediction_tokens": 9, "x": {"nested": 1}},
     (5, None, None, None, None)),
    ({"total": 50}, (None, None, None, None, None)),
])
def test_usage_details_are_rebuilt_into_provider_totals(details, expected):
    fields = ("reported_prompt_tokens", "reported_cached_tokens", "reported_cache_write_tokens",
              "reported_output_tokens", "reported_reasoning_tokens")
    assert tuple(normalise_usage(details)[f] for f in fields) == expected
    request = parse_one(generation(usageDetails=json.dumps(details)))  # JSON held in a string too
    assert tuple(getattr(request, f) for f in fields) == expected and request.raw_usage == details


def test_deprecated_usage_is_the_fallback_and_already_holds_provider_totals():
    legacy = {"input": 1000, "output": 300, "total": 1300, "unit": "TOKENS"}
    obs = {k: v for k, v in generation(usage=legacy).items() if k != "usageDetails"}
    request = parse_one(obs)
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_output_tokens) == (
        1000, None, 300)
    assert request.raw_usage == legacy
    characters = parse_one({**obs, "usage": {"input": 12, "output": 30, "unit": "CHARACTERS"}})
    assert characters.reported_prompt_tokens is None and characters.raw_usage is None
    empty = parse_one(generation(usageDetails={}))  # usageDetails present but empty: nothing reported
    assert empty.reported_prompt_tokens is None and empty.raw_usage is None


# --- detection -------------------------------------------------------------------------------------------------------

CHAT_RESPONSE = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1727346142, "model": "gpt-4o",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}}],
                 "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}}
RESPONSES_BODY = {"model": "gpt-4.1", "instructions": "Be brief.", "input": "Hi"}
RESPONSES_RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1759223041, "model": "gpt-4.1",
                      "status": "completed", "output": [], "usage": {"input_tokens": 5, "output_tokens": 1}}
ANTHROPIC_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": "Be brief.", "messages": MESSAGES[1:]}
ANTHROPIC_RESPONSE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                      "content": [{"type": "text", "text": "Hi"}], "usage": {"input_tokens": 3, "output_tokens": 1}}


@pytest.mark.parametrize("data", [
    {"model": "gpt-4o", "messages": MESSAGES},
    chat_line(messages=MESSAGES, prompt_tokens=20),
    {"request": {"model": "gpt-4o", "messages": MESSAGES}, "response": CHAT_RESPONSE},
    CHAT_RESPONSE,
    RESPONSES_BODY,
    {"request": RESPONSES_BODY, "response": RESPONSES_RESPONSE},
    RESPONSES_RESPONSE,
    ANTHROPIC_BODY,
    {"request": ANTHROPIC_BODY, "response": ANTHROPIC_RESPONSE},
    ANTHROPIC_RESPONSE,
    {"interactions": []},
    # Langfuse ingestion events are not exports: lower-case event types, the observation under "body".
    {"id": "ev1", "timestamp": "2025-09-30T09:04:01Z", "type": "generation-create", "body": generation()},
    {"data": [TRACE], "meta": {"page": 1}},  # a page of traces, not of observations
    {"data": [], "meta": {"page": 1}},
    {**generation(), "type": "generation"},
    {k: v for k, v in generation().items() if k != "startTime"},
    {"observations": [generation()]},  # neither a trace nor a trace id around it
    # LiteLLM's StandardLoggingPayload shares id, startTime, model and messages, but has no observation type.
    {"id": "chatcmpl-1", "call_type": "acompletion", "startTime": 1737710446.8, "endTime": 1737710447.1,
     "model": "gpt-4o", "messages": MESSAGES, "status": "success", "response": CHAT_RESPONSE},
    {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat gpt-4o", "kind": 3,
     "startTimeUnixNano": "1727346142000000000", "attributes": [{"key": "gen_ai.operation.name"}]},
    [generation()],
    "GENERATION",
])
def test_detection_refuses_what_is_not_a_langfuse_export(data):
    assert not langfuse.detect(data, parsers.context())


def test_the_other_formats_refuse_langfuse_records_except_responses_on_a_lone_generation():
    records = [generation(), span(), {"trace": TRACE, "observations": [generation()]},
               {**TRACE, "observations": [generation()]}, {"data": [generation()], "meta": {}}]
    for data in records:
        assert langfuse.detect(data, parsers.context())
        assert not any(m.detect(data, parsers.context()) for m in (openai_chat, anthropic_messages, vcr)), data
    assert not any(openai_responses.detect(d, parsers.context()) for d in records[2:])
    # A lone generation has a top-level `model` and a string or list `input`, the shape of a bare
    # Responses request: openai-responses would claim it, so langfuse must be tried before it.
    assert openai_responses.detect(generation(), parsers.context())


def test_registered_before_its_rivals_langfuse_takes_its_records_and_leaves_the_others(registry):
    assert parsers.detect(generation()).name == "langfuse"
    assert parsers.detect({"trace": TRACE, "observations": []}).name == "langfuse"
    assert parsers.detect(chat_line(messages=MESSAGES)).name == "openai-chat"
    assert parsers.detect(RESPONSES_BODY).name == "openai-responses"
    assert parsers.detect({"request": ANTHROPIC_BODY, "response": ANTHROPIC_RESPONSE}).name == "anthropic-messages"


# --- end to end ------------------------------------------------------------------------------------------------------


def test_ingest_end_to_end(tmp_path, registry):
    lines = [
        generation(id="g1"),
        span(),  # rejected: not a model call
        {"trace": TRACE, "observations": [
            span(id="s2"),
            generation(id="g2", model="claude-sonnet-4-5-20250929", startTime="2025-09-30T10:00:00Z",
                       usageDetails={"input": 3, "input_cache_read": 9511, "input_cache_creation": 200, "output": 50}),
            generation(id="g3", startTime="2025-09-30T11:00:00.500+02:00", level="ERROR", statusMessage="boom",
                       output=None, usageDetails={}),
        ]},
        generation(id="g1"),  # the same observation exported twice: a duplicate
        generation(id="g4", startTime=None, endTime=None),  # no time: rejected by the ingest
        {"trace": TRACE, "observations": [span(id="s3")]},  # a trace without model calls: rejected
    ]
    path = write_jsonl(tmp_path / "langfuse.jsonl", lines)
    result = api.ingest([path], db=tmp_path / "x.duckdb")
    [f] = result.files
    assert (f.records, f.stored, f.duplicates, f.rejected) == (7, 3, 1, 3)
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        rows = con.execute("""
            SELECT request_id, format, model, ts, status, error, user_id, session_id,
                   reported_prompt_tokens, reported_cached_tokens, reported_cache_write_tokens,
                   reported_output_tokens, reported_reasoning_tokens
            FROM requests ORDER BY request_id""").fetchall()
        assert rows == [
            ("g1", "langfuse", "gpt-4.1-2025-04-14", datetime(2025, 9, 30, 9, 4, 1, 1000), "ok", None, None, None,
             1000, 600, None, 300, 200),
            ("g2", "langfuse", "claude-sonnet-4-5-20250929", datetime(2025, 9, 30, 10, 0), "ok", None, "user-7",
             "session-3", 9714, 9511, 200, 50, None),
            ("g3", "langfuse", "gpt-4.1-2025-04-14", datetime(2025, 9, 30, 9, 0, 0, 500000), "error", "boom",
             "user-7", "session-3", None, None, None, None, None),
        ]
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects ORDER BY line").fetchall()]
        assert reasons == ["langfuse SPAN observation: not a model call", "no timestamp in record, wrapper or response",
                           "langfuse trace without GENERATION observations: no model call"]
        assert con.execute("SELECT records, stored + duplicates + rejected, formats FROM files").fetchone() == (
            7, 7, "langfuse")


def test_a_pretty_printed_trace_export_file_is_one_record(tmp_path, registry):
    export = {"trace": TRACE, "observations": [span(), generation(id="p1"), generation(id="p2", model="gpt-4o-mini")]}
    path = tmp_path / "trace-fee618f9.json"
    path.write_text(json.dumps(export, indent=2), encoding="utf-8")
    [f] = api.ingest([path], db=tmp_path / "x.duckdb").files
    assert (f.records, f.stored, f.duplicates, f.rejected) == (2, 2, 0, 0)
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        assert con.execute("SELECT request_id, model, session_id FROM requests ORDER BY 1").fetchall() == [
            ("p1", "gpt-4.1-2025-04-14", "session-3"), ("p2", "gpt-4o-mini", "session-3")]


# --- real recorded traffic ------------------------------------------------------------------------------------------


def test_no_record_of_the_real_corpus_is_taken_for_langfuse(corpus: Path):
    # No Langfuse export is in the corpus: what it does hold (provider calls, cassettes, usage bodies,
    # traces) must all be refused, since this format is tried before every other.
    yaml = pytest.importorskip("yaml")
    seen = 0
    for path in sorted(corpus.glob("pydantic-ai-cassettes/**/*.yaml")):
        cassette = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        for data in [cassette, *cassette.get("interactions", [])]:
            seen += 1
            assert not langfuse.detect(data, parsers.context()), path.name
    for path in sorted(corpus.glob("anthropic-sdk-python/**/__inline_snapshot__/**/*.json")):
        for pair in json.loads(path.read_text(encoding="utf-8")):
            seen += 1
            assert not langfuse.detect(pair, parsers.context()) and not langfuse.detect(pair.get("response"), parsers.context()), path.name
    usages = corpus / "genai-prices/usages.json"
    if usages.is_file():
        for item in json.loads(usages.read_text(encoding="utf-8")):
            seen += 1
            assert not langfuse.detect(item, parsers.context())
    for path in sorted(corpus.glob("mooncake/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines()[:500]:
            seen += 1
            assert not langfuse.detect(json.loads(line), parsers.context())
    if not seen:
        pytest.skip(f"no records found under {corpus}")
