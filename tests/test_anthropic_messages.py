"""The Anthropic Messages parser: message conversion, usage arithmetic, strict detection, real recorded traffic."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from analyzer import parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord, Request
from analyzer.parsers import anthropic_messages, openai_chat, vcr
from analyzer.parsers.anthropic_messages import normalise_usage
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter

BODY = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}]}
USAGE = {"input_tokens": 3, "output_tokens": 1944, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 9511,
         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
RESPONSE = {"id": "msg_01XYZ", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": USAGE}
DATE = "Thu, 26 Sep 2024 10:22:22 GMT"


def parse_one(data) -> Request:
    assert anthropic_messages.detect(data, parsers.context()), "not detected as Anthropic Messages"
    items = list(anthropic_messages.parse(RawRecord("f.jsonl", 1, data), parsers.context()))
    assert len(items) == 1
    return items[0]


def sse(*events: dict) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


@pytest.fixture
def registry():
    """The built-in registry, which tries Anthropic Messages before OpenAI Chat and cassettes first."""
    names = [f.name for f in parsers.formats()]
    assert names.index("vcr-cassette") < names.index("anthropic-messages") and names.index("anthropic-messages") < names.index("openai-chat"), names
    return parsers.REGISTRY


# --- conversion to the OpenAI Chat shape ------------------------------------------------------------------------


def test_system_string_becomes_a_leading_system_message():
    request = parse_one({"request": BODY, "response": RESPONSE})
    assert request.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_system_blocks_become_one_system_message():
    blocks = [{"type": "text", "text": "You are a bot.", "cache_control": {"type": "ephemeral"}},
              {"type": "text", "text": "Today is Monday."}]
    request = parse_one({**BODY, "system": blocks})
    assert request.messages[0] == {"role": "system", "content": "You are a bot.\n\nToday is Monday."}
    assert request.output is None and request.reported_prompt_tokens is None  # a bare body has no response


def test_tool_use_and_tool_result_turns_keep_their_order():
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Weather in SF?", "cache_control": {"type": "ephemeral"}},
                                     {"type": "image", "source": {"type": "base64", "data": "xx"}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Let me look.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "SF"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "15C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "10:00"}]},
            {"type": "text", "text": "And tomorrow?"}]},
        {"role": "system", "content": "Answer in French."},
    ]
    request = parse_one({**BODY, "messages": messages})
    assert request.messages[1:] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in SF?"},
                                     {"type": "image", "source": {"type": "base64", "data": "xx"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Checking."}], "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "SF"}'}},
            {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "15C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "10:00"}]},
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
        {"role": "system", "content": "Answer in French."},
    ]
    seg = segment(request, Counter(request.model))  # the segmenter reads the converted shape
    assert seg.system > 0 and seg.input > 0 and len(seg.middle) == 2


def test_tools_structured_output_and_metadata():
    tools = [{"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object", "properties": {}},
              "cache_control": {"type": "ephemeral"}, "input_examples": [{"city": "SF"}]},
             {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]
    body = {**BODY, "tools": tools, "metadata": {"user_id": "u-42"},
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}
    request = parse_one({"request": body, "response": RESPONSE, "sample_rate": 0.5, "latency_ms": 1200})
    assert request.tools == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                                          "parameters": {"type": "object", "properties": {}},
                                          "input_examples": [{"city": "SF"}]}},
        {"type": "web_search_20250305", "function": {"name": "web_search"}},
    ]
    assert request.response_format == {"type": "json_schema", "json_schema": {"name": "output", "schema": {"type": "object"}}}
    assert request.user == "u-42" and request.sample_rate == 0.5 and request.latency_ms == 1200


def test_response_output_usage_and_ids():
    response = {**RESPONSE, "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": "The answer "}, {"type": "text", "text": "is 4.", "citations": []},
        {"type": "tool_use", "id": "toolu_9", "name": "calc", "input": {"x": 2}}],
        "usage": {**USAGE, "output_tokens_details": {"thinking_tokens": 12}}}
    request = parse_one({"request": BODY, "response": response, "timestamp": "2025-10-01T10:00:00Z"})
    assert request.model == "claude-sonnet-4-5-20250929" and request.requested_model == "claude-sonnet-4-5"
    assert request.request_id == "msg_01XYZ" and request.status == "ok"
    assert request.timestamp.isoformat() == "2025-10-01T10:00:00+00:00"
    assert request.output == {"role": "assistant", "content": "The answer is 4.", "tool_calls": [
        {"id": "toolu_9", "type": "function", "function": {"name": "calc", "arguments": '{"x": 2}'}}]}
    # formats.md §4: input_tokens excludes cache reads and writes; the prompt is their sum.
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens) == (
        9514, 9511, 0)
    assert request.reported_output_tokens == 1944 and request.reported_reasoning_tokens == 12
    assert request.raw_usage["cache_read_input_tokens"] == 9511


@pytest.mark.parametrize("usage, expected", [
    ({"input_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 9511, "output_tokens": 1},
     (9514, 9511, 0, 1, None)),
    ({"input_tokens": 10, "cache_creation_input_tokens": 2000, "output_tokens": 5}, (2010, None, 2000, 5, None)),
    ({"input_tokens": 10, "cache_creation_input_tokens": None, "cache_read_input_tokens": None, "output_tokens": 5},
     (10, None, None, 5, None)),
    ({"input_tokens": "7", "output_tokens": 2, "output_tokens_details": {"thinking_tokens": 1}}, (7, None, None, 2, 1)),
    ({"output_tokens": 2}, (None, None, None, 2, None)),
    # Compacted: the top level is the answer step's; the compaction step is billed too.
    ({"input_tokens": 229, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 5,
      "iterations": [{"type": "compaction", "input_tokens": 100, "cache_creation_input_tokens": 55096,
                      "cache_read_input_tokens": 0, "output_tokens": 131},
                     {"type": "message", "input_tokens": 229, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 5}]}, (55425, 0, 55096, 136, None)),
    # An advisor step is another model's call: left out, as the top level leaves it.
    ({"input_tokens": 2390, "output_tokens": 121,
      "iterations": [{"type": "message", "input_tokens": 1128, "output_tokens": 110},
                     {"type": "advisor_message", "model": "claude-opus-4-8", "input_tokens": 2518, "output_tokens": 22},
                     {"type": "message", "input_tokens": 1262, "output_tokens": 11}]}, (2390, None, None, 121, None)),
])
def test_normalise_usage(usage, expected):
    got = normalise_usage(usage)
    assert (got["reported_prompt_tokens"], got["reported_cached_tokens"], got["reported_cache_write_tokens"],
            got["reported_output_tokens"], got["reported_reasoning_tokens"]) == expected


def test_normalise_usage_refuses_a_non_number():
    with pytest.raises(BadRecord, match="not a number"):
        normalise_usage({"input_tokens": "lots"})


@pytest.mark.parametrize("wrap", [
    lambda req, resp: {"req": json.dumps(req), "resp": json.dumps(resp), "ts": 1727346142},
    lambda req, resp: {"request_body": req, "response_body": resp, "logged_at": "2024-09-26 10:22:22"},
    lambda req, resp: {"request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages", "body": json.dumps(req)},
                       "response": {"status": {"code": 200}, "headers": {"date": [DATE]}, "body": {"string": json.dumps(resp)}}},
    lambda req, resp: {"request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages?beta=true", "body": req},
                       "response": {"status_code": 200, "headers": {"date": DATE}, "body": resp}},
    # A proxy in front of Bedrock: the URL is not /v1/messages, the response type tells.
    lambda req, resp: {"request": {"method": "POST", "uri": "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke",
                                   "parsed_body": {k: v for k, v in req.items() if k != "model"}},
                       "response": {"status": {"code": 200}, "headers": {"Date": [DATE]}, "parsed_body": resp}},
])
def test_wrapper_shapes(wrap):
    request = parse_one(wrap(BODY, RESPONSE))
    assert request.model == "claude-sonnet-4-5-20250929" and request.request_id == "msg_01XYZ"
    assert request.reported_prompt_tokens == 9514 and request.output == {"role": "assistant", "content": "Hello"}
    assert request.timestamp.date().isoformat() == "2024-09-26"


def test_error_body_is_a_failed_request_with_its_request_id():
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}, "request_id": "req_011"}
    request = parse_one({"request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages", "body": BODY},
                         "response": {"status_code": 429, "headers": {}, "body": error}})
    assert request.status == "error" and request.error == "Slow down" and request.request_id == "req_011"
    assert request.output is None and request.reported_prompt_tokens is None
    assert anthropic_messages.detect({"request": BODY, "response": error}, parsers.context())  # without a URL, by its shape


def test_http_failure_without_body_and_id_from_header_or_content():
    http = {"request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages", "body": json.dumps(BODY)},
            "response": {"status": {"code": 529}, "headers": {"request-id": ["req_9"]}, "body": {"string": ""}}}
    request = parse_one(http)
    assert (request.status, request.error, request.request_id) == ("error", "HTTP 529", "req_9")
    first, again = parse_one(dict(BODY)), parse_one(dict(BODY))
    assert first.request_id.startswith("sha256:") and first.request_id == again.request_id


def test_recorded_stream_is_rebuilt():
    stream = sse(
        {"type": "message_start", "message": {"id": "msg_S", "type": "message", "role": "assistant", "content": [],
                                              "model": "claude-haiku-4-5-20251001",
                                              "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "lo"}},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_S", "name": "f", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"a": '}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "1}"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 42}},
        {"type": "message_stop"},
    )
    request = parse_one({"request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages",
                                     "parsed_body": {**BODY, "stream": True}},
                         "response": {"status": {"code": 200}, "headers": {}, "body": {"string": stream}}})
    assert request.request_id == "msg_S" and request.model == "claude-haiku-4-5-20251001"
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_output_tokens) == (105, 100, 42)
    assert request.output == {"role": "assistant", "content": "Hello", "tool_calls": [
        {"id": "toolu_S", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}
    assert anthropic_messages.detect({"request": BODY, "response": stream}, parsers.context())  # no URL: the stream's events tell


@pytest.mark.parametrize("data, reason", [
    ({"request": {"max_tokens": 5, "messages": []}, "response": {**RESPONSE, "model": None}}, "no model"),
    ({"request": {**BODY, "messages": "Hi"}, "response": RESPONSE}, "not a list of messages"),
    ({"request": {**BODY, "messages": [{"role": "user", "content": ["Hi"]}]}, "response": RESPONSE}, "not an object"),
])
def test_bad_records(data, reason):
    with pytest.raises(BadRecord, match=reason):
        list(anthropic_messages.parse(RawRecord("f.jsonl", 1, data), parsers.context()))


# --- detection ----------------------------------------------------------------------------------------------------

CHAT_BODY = {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
CHAT_RESPONSE = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1727346142, "model": "gpt-4o",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}}
TEXT_PARTS = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


@pytest.mark.parametrize("data", [
    {"request": CHAT_BODY, "response": CHAT_RESPONSE},
    {"request": {**CHAT_BODY, "max_tokens": 10, "system": "x"}, "response": CHAT_RESPONSE},  # the response decides
    CHAT_BODY,
    {**CHAT_BODY, "max_tokens": 10},
    {"model": "gpt-4o", "max_tokens": 10, "messages": TEXT_PARTS, "response_format": {"type": "json_object"}},
    {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}, {"type": "text", "text": "What?"}]}]},
    {"model": "gpt-4o", "max_tokens": 10, "messages": [*TEXT_PARTS, {"role": "tool", "tool_call_id": "c", "content": "1"}]},
    {"model": "gpt-4o", "max_tokens": 10, "messages": TEXT_PARTS,
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
    {"request": {**CHAT_BODY, "max_tokens": 10}, "response": {"error": {"message": "Rate limit", "type": "requests"}}},
    {"request": {**BODY}, "response": {"id": "resp_1", "object": "response", "output": []}},
    {"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions", "body": json.dumps(CHAT_BODY)},
     "response": {"status": {"code": 200}, "headers": {}, "body": {"string": json.dumps(CHAT_RESPONSE)}}},
    {"request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages/count_tokens", "parsed_body": BODY},
     "response": {"status": {"code": 200}, "headers": {}, "parsed_body": {"input_tokens": 12}}},
    {"request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages/batches", "body": {"requests": []}},
     "response": {"status_code": 200, "headers": {}, "body": {"id": "msgbatch_1", "type": "message_batch"}}},
    {"id": "batch_req_1", "custom_id": "r-1", "response": {"status_code": 200, "body": CHAT_RESPONSE}, "error": None},
    {"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions", "body": {**CHAT_BODY, "max_tokens": 5}},
    {"interactions": []}, {"messages": "Hi"}, {}, [], "text", None,
])
def test_detection_refuses_what_is_not_anthropic(data):
    assert not anthropic_messages.detect(data, parsers.context())


@pytest.mark.parametrize("data", [
    {"model": "claude-3-5-haiku", "max_tokens": 10, "system": "x", "messages": [{"role": "user", "content": "Hi"}]},
    {"model": "claude-3-5-haiku", "max_tokens": 10, "messages": TEXT_PARTS},
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]},
    {"request": {"model": "claude-3-5-haiku", "messages": [{"role": "user", "content": "Hi"}]}, "response": RESPONSE},
])
def test_detection_accepts_anthropic_shapes(data, registry):
    assert anthropic_messages.detect(data, parsers.context())
    assert parsers.detect(data).name == "anthropic-messages"


def test_registered_first_it_takes_anthropic_records_from_openai_chat(registry):
    record = {"request": BODY, "response": RESPONSE}
    # openai_chat's detect only looks for `messages`, so it would claim Anthropic records too:
    # that is why this format is registered before it.
    assert openai_chat.detect(record, parsers.context())
    assert parsers.detect(record).name == "anthropic-messages"
    assert parsers.detect({"request": CHAT_BODY, "response": CHAT_RESPONSE}).name == "openai-chat"
    assert parsers.detect({**CHAT_BODY, "max_tokens": 10}).name == "openai-chat"


def test_cassette_interactions_go_to_the_right_format(registry):
    http = {"method": "POST", "uri": "https://api.anthropic.com/v1/messages?beta=true", "parsed_body": BODY}
    count = {**http, "uri": "https://api.anthropic.com/v1/messages/count_tokens?beta=true"}
    cassette = {"interactions": [
        {"request": http, "response": {"status": {"code": 200}, "headers": {"date": [DATE]}, "parsed_body": RESPONSE}},
        {"request": count, "response": {"status": {"code": 200}, "headers": {}, "parsed_body": {"input_tokens": 9}}},
    ]}
    assert parsers.detect(cassette).name == "vcr-cassette"
    first, second = list(vcr.parse(RawRecord("c.json", 1, cassette), parsers.context()))
    assert isinstance(first, Request) and first.reported_prompt_tokens == 9514 and first.timestamp is not None
    assert isinstance(second, BadRecord) and "no supported format" in second.reason


# --- golden tests on real recorded traffic --------------------------------------------------------------------------


def _cassette_interactions(corpus: Path) -> list[tuple[str, dict]]:
    yaml = pytest.importorskip("yaml")
    folder = corpus / "pydantic-ai-cassettes/tests/models/cassettes/test_anthropic"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    found = []
    for path in sorted(folder.glob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        found += [(path.name, interaction) for interaction in data.get("interactions", [])]
    return found


def _snapshot_pairs(corpus: Path) -> list[tuple[str, dict]]:
    folder = corpus / "anthropic-sdk-python/tests"
    paths = sorted(folder.glob("**/__inline_snapshot__/**/*.json"))
    if not paths:
        pytest.skip(f"no inline snapshots under {folder}")
    # Each snapshot file is a list of {request:{method,url,headers,body}, response:{status_code,headers,body}}.
    return [(path.name, pair) for path in paths for pair in json.loads(path.read_text(encoding="utf-8"))]


def _stream_summary(text: str) -> tuple[dict, dict]:
    """The message_start message and the final usage: message_delta usage is cumulative and replaces the start's."""
    events = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    start = next(e["message"] for e in events if e["type"] == "message_start")
    usage = dict(start["usage"])
    for event in events:
        if event["type"] == "message_delta":
            usage.update(event["usage"])
    return start, usage


def _check_recorded(record: dict, response: dict, has_date: bool) -> Request:
    request = parse_one(record)
    usage = response["usage"]
    assert request.model == response["model"] and request.request_id == response["id"]
    steps = _own_steps(usage) or [usage]  # a compacted call is billed for each of its steps
    assert request.reported_prompt_tokens == sum(s["input_tokens"] + (s.get("cache_creation_input_tokens") or 0) + (
        s.get("cache_read_input_tokens") or 0) for s in steps)
    assert request.reported_cached_tokens == (sum(s.get("cache_read_input_tokens") or 0 for s in steps)
                                              if steps != [usage] else usage.get("cache_read_input_tokens"))
    assert request.reported_output_tokens == sum(s["output_tokens"] for s in steps)
    assert (request.timestamp is not None) == has_date
    return request


def test_pydantic_ai_anthropic_cassettes(corpus):
    checked = streamed = errors = 0
    skipped: dict[str, int] = {}
    for name, interaction in _cassette_interactions(corpus):
        uri, response = interaction["request"]["uri"], interaction["response"]
        body = response.get("parsed_body")
        has_date = any(k.lower() == "date" for k in response.get("headers") or {})
        is_message = isinstance(body, dict) and body.get("type") == "message"
        if "count_tokens" in uri or ("/v1/messages" not in uri and not is_message):
            assert not anthropic_messages.detect(interaction, parsers.context()), (name, uri)
            kind = "count_tokens" if "count_tokens" in uri else "other providers"
            skipped[kind] = skipped.get(kind, 0) + 1
        elif is_message:  # Bedrock's /invoke included: detected by the response type
            _check_recorded(interaction, body, has_date)
            checked += 1
        elif isinstance(body, dict) and body.get("type") == "error":
            request = parse_one(interaction)
            assert request.status == "error" and request.error == body["error"]["message"]
            assert request.request_id == body["request_id"]
            errors += 1
        else:  # a streamed response: server-sent events under body.string
            start, usage = _stream_summary(response["body"]["string"])
            _check_recorded(interaction, {**start, "usage": usage}, has_date)
            streamed += 1
    print(f"pydantic-ai: {checked} messages, {streamed} streams, {errors} errors checked; skipped {skipped}")
    assert checked >= 95 and streamed >= 10 and errors >= 1


def test_anthropic_sdk_inline_snapshots(corpus):
    checked = streamed = errors = 0
    for name, pair in _snapshot_pairs(corpus):
        assert "/v1/messages" in pair["request"]["url"]
        body = pair["response"]["body"]
        if isinstance(body, dict) and body.get("type") == "message":
            _check_recorded(pair, body, has_date=False)  # the snapshots keep no date header
            checked += 1
        elif isinstance(body, dict):
            request = parse_one(pair)
            assert request.status == "error" and request.request_id == body["request_id"], name
            errors += 1
        else:
            start, usage = _stream_summary(body)
            _check_recorded(pair, {**start, "usage": usage}, has_date=False)
            streamed += 1
    print(f"anthropic-sdk snapshots: {checked} messages, {streamed} streams, {errors} errors")
    assert checked >= 20 and streamed >= 5 and errors >= 4


def test_genai_prices_anthropic_usages(corpus):
    path = corpus / "genai-prices/usages.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    checked = read_above_input = compacted = 0
    for entry in json.loads(path.read_text(encoding="utf-8")):
        usage = entry["body"].get("usage")
        if not (isinstance(usage, dict) and "input_tokens" in usage
                and ({"cache_read_input_tokens", "cache_creation_input_tokens"} & usage.keys())):
            continue
        got = normalise_usage(usage)
        if any(s.get("type") == "compaction" for s in _own_steps(usage)):
            compacted += 1  # billed for its compaction step too: test_compacted_calls_are_billed_for_every_step
            continue
        written, read = usage.get("cache_creation_input_tokens") or 0, usage.get("cache_read_input_tokens") or 0
        assert got["reported_prompt_tokens"] == usage["input_tokens"] + written + read
        assert got["reported_cached_tokens"] == usage.get("cache_read_input_tokens")
        # genai-prices' own Anthropic extractor, recorded beside each body, agrees.
        theirs = next(e["usage"] for e in entry["extracted"] if any(x["provider_id"] == "anthropic" for x in e["extractors"]))
        assert (theirs["input_tokens"], theirs.get("cache_read_tokens", 0), theirs.get("cache_write_tokens", 0)) == (
            got["reported_prompt_tokens"], read, written)
        assert theirs.get("output_reasoning_tokens") in (None, got["reported_reasoning_tokens"])
        checked += 1
        read_above_input += read > usage["input_tokens"]
    print(f"genai-prices: {checked} Anthropic usages; cache read > input_tokens in {read_above_input}; "
          f"{compacted} compacted")
    assert checked == 224 and read_above_input == 14 and compacted == 2  # formats.md §4


def _own_steps(usage: dict) -> list[dict]:
    """The sampling steps of a call (``usage.iterations``) run by its own model: not an advisor's."""
    return [s for s in usage.get("iterations") or [] if s.get("type") != "advisor_message" and "model" not in s]


def test_compacted_calls_are_billed_for_every_step(corpus, tmp_path):
    """Server-side compaction (``context_management``): the call runs a compaction step that reads the
    whole conversation, then answers from the summary. The top-level usage is the answer's alone; the
    bill, and what the count is set against, is the sum over ``usage.iterations``."""
    from analyzer import api

    from .conftest import write_jsonl

    compacted = []
    for name, record in _cassette_interactions(corpus):
        if anthropic_messages.detect(record, parsers.context()):
            request = parse_one(record)
            if any(s.get("type") == "compaction" for s in (request.raw_usage or {}).get("iterations") or []):
                compacted.append((name, record, request))
    assert len(compacted) == 2, [name for name, *_ in compacted]  # one answered whole, one streamed
    for name, _, request in compacted:
        steps = request.raw_usage["iterations"]
        summary, answer = (next(s for s in steps if s["type"] == kind) for kind in ("compaction", "message"))
        prompt = sum(s["input_tokens"] + s["cache_creation_input_tokens"] + s["cache_read_input_tokens"]
                     for s in steps)
        assert request.reported_prompt_tokens == prompt > 55_000, name  # the 229 or 181 on top is the answer's
        assert request.reported_output_tokens == summary["output_tokens"] + answer["output_tokens"], name
        assert request.reported_cache_write_tokens + request.reported_cached_tokens == 55_096, name
        # Counted on the conversation the request sent, the prompt is within the tokenizer's error of the
        # bill; against the top-level usage alone it was 240 times over.
        counted = segment(request, Counter(request.model)).prompt_tokens
        assert abs(counted - prompt) / prompt < 0.15, (name, counted, prompt)
    # Ingested, such a call stays in the model's calibration (billed within half to twice its count).
    write_jsonl(tmp_path / "c.jsonl", [{"timestamp": "2026-10-01T12:00:00Z", **r} for _, r, _ in compacted])
    api.ingest([tmp_path / "c.jsonl"], tmp_path / "c.duckdb")
    _, rows = api.query("counted_vs_reported", tmp_path / "c.duckdb")
    (row,) = rows.to_dicts()
    assert row["model"] == "claude-sonnet-4-6" and row["requests"] == 2 and row["scale_fitted_on"] == 2
    assert row["p95_abs_error"] < 0.15


def test_counted_vs_reported_prompt_tokens_is_measured_not_asserted(corpus):
    """Claude's tokenizer is not public: o200k_base gives an estimate. Print how far off it is."""
    records = [r for _, r in _cassette_interactions(corpus)] + [r for _, r in _snapshot_pairs(corpus)]
    ratios: dict[str, list[float]] = {"text-only": [], "plain": []}
    seen = set()
    for record in records:
        if not anthropic_messages.detect(record, parsers.context()):
            continue
        request = next(anthropic_messages.parse(RawRecord("f", 1, record), parsers.context()))
        if not request.reported_prompt_tokens or request.request_id in seen or not _text_only(request):
            continue
        seen.add(request.request_id)
        ratio = segment(request, Counter(request.model)).prompt_tokens / request.reported_prompt_tokens
        ratios["text-only"].append(ratio)
        body = record["request"].get("parsed_body") or record["request"].get("body") or {}
        # Thinking, MCP servers and compaction add server-side prompt (or drop turns) the body does not show.
        if not {"thinking", "mcp_servers", "context_management"} & body.keys():
            ratios["plain"].append(ratio)
    for kind, values in ratios.items():
        q = statistics.quantiles(values, n=4)
        print(f"{kind}: n={len(values)} median counted/reported {statistics.median(values):.3f} "
              f"IQR {q[0]:.3f}-{q[2]:.3f} range {min(values):.3f}-{max(values):.3f}")
    assert len(ratios["plain"]) >= 10


def _text_only(request: Request) -> bool:
    if request.tools or request.response_format:
        return False
    return all(m["role"] in ("system", "user", "assistant") and not m.get("tool_calls") and (
        not isinstance(m.get("content"), list) or all(p.get("type") == "text" for p in m["content"]))
        for m in request.messages)


def test_recorded_claude_traffic_is_calibrated_with_its_error_shown(corpus, tmp_path):
    """Ingested like a user's logs, each Claude model gets its scale and its error in counted_vs_reported."""
    from analyzer import api

    from .conftest import write_jsonl

    # The recordings keep no date header; a logging middleware would have stamped each call.
    write_jsonl(tmp_path / "claude.jsonl", [{"timestamp": "2026-10-01T12:00:00Z", **record}
                                            for _, record in _cassette_interactions(corpus)])
    api.ingest([tmp_path / "claude.jsonl"], tmp_path / "c.duckdb")
    _, rows = api.query("counted_vs_reported", tmp_path / "c.duckdb")
    claude = [r for r in rows.to_dicts() if r["model"].startswith("claude")]
    for r in claude:
        print(f"{r['model']}: {r['requests']} requests, median error {r['median_error']:+.1%}, "
              f"p95 {r['p95_abs_error']:.1%}, scale {r['scale']}")
    assert sum(r["requests"] for r in claude) >= 20
    # The median error is far from the scale: agent calls with server tools (web search, code execution)
    # and context compaction are billed for prompt the request does not show. The scale is fitted on the
    # requests billed within half to twice their count, a tokenizer's difference.
    assert all(r["exact_tokenizer"] is False and 0.5 <= r["scale"] <= 2 for r in claude)
    assert 0.9 <= next(r["scale"] for r in claude if r["model"] == "claude-sonnet-4-5-20250929") <= 1.2
    # Scaled, the segments add up to the bill on average: the report's tokens per request are the billed ones.
    report = api.report(tmp_path / "c.duckdb")
    assert {c["model"] for c in report.calibration} >= {r["model"] for r in claude}
