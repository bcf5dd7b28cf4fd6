"""The OpenAI Responses API parser: wrappers, items to Chat messages, tools, usage, errors, real cassettes."""

from __future__ import annotations

import json
from collections import Counter as Tally
from datetime import UTC, datetime

import pytest

from analyzer import parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord, Request
from analyzer.parsers import openai_chat, openai_responses, vcr
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter

URL = "https://api.openai.com/v1/responses"
BODY = {"model": "gpt-4o", "instructions": "Be brief.", "input": [{"role": "user", "content": "Hi"}]}
RESPONSE = {
    "id": "resp_1", "object": "response", "created_at": 1759223041.0, "status": "completed", "error": None,
    "model": "gpt-4o-2024-08-06",
    "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}],
    "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 22},
}


def parse_one(data) -> Request:
    assert openai_responses.detect(data, parsers.context()), "openai-responses did not detect the record"
    items = list(openai_responses.parse(RawRecord("f.jsonl", 1, data), parsers.context()))
    assert len(items) == 1
    return items[0]


def http(body, response, method="POST", url=URL, code=200, headers=None):
    """A recorded HTTP exchange as a VCR cassette holds it."""
    return {"request": {"method": method, "uri": url, "body": json.dumps(body) if body is not None else None},
            "response": {"status": {"code": code}, "headers": headers or {"date": ["Tue, 30 Sep 2025 09:04:01 GMT"]},
                         "body": {"string": json.dumps(response)}}}


@pytest.fixture
def registered():
    """The built-in registry, with this format before openai-chat."""
    names = [f.name for f in parsers.formats()]
    assert names.index("openai-responses") < names.index("openai-chat"), names
    return parsers.REGISTRY


@pytest.mark.parametrize("wrap", [
    lambda req, resp: {"request": req, "response": resp, "timestamp": "2025-09-30T09:04:01Z"},
    lambda req, resp: {"req": json.dumps(req), "resp": json.dumps(resp), "ts": 1759223041},
    lambda req, resp: {"reqPayload": req, "respPayload": resp, "requestedAt": 1759223041000},
    lambda req, resp: {"request_body": req, "response_body": resp},  # time from the response's created_at
    lambda req, resp: http(req, resp),
    lambda req, resp: {**http(req, resp), "request": {**http(req, resp)["request"], "url": URL, "uri": None}},
])
def test_wrapper_shapes(wrap):
    request = parse_one(wrap(BODY, RESPONSE))
    assert request.model == "gpt-4o-2024-08-06" and request.requested_model == "gpt-4o"
    assert request.request_id == "resp_1" and request.status == "ok"
    assert request.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert request.output == {"role": "assistant", "content": "Hello"}
    assert request.reported_prompt_tokens == 20 and request.reported_output_tokens == 2
    assert request.timestamp.date().isoformat() == "2025-09-30"


def test_bare_body_with_string_input_is_one_user_message():
    request = parse_one({"model": "gpt-4o", "input": "Tell me a joke"})
    assert request.messages == [{"role": "user", "content": "Tell me a joke"}]
    assert request.output is None and request.timestamp is None
    assert request.request_id.startswith("sha256:")
    assert request.request_id == parse_one({"model": "gpt-4o", "input": "Tell me a joke"}).request_id


def test_items_become_chat_messages_with_tool_calls_and_results():
    body = {"model": "gpt-4.1", "instructions": "You are an agent.", "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Use tools."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris and Rome?"},
                                     {"type": "input_image", "image_url": "https://x/img.png"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
        {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call", "call_id": "call_2", "name": "weather", "arguments": '{"city":"Rome"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        {"type": "function_call_output", "call_id": "call_2", "output": "24C"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris 18C, Rome 24C."}]},
        {"type": "item_reference", "id": "msg_0"},
        {"role": "user", "content": "Thanks"},
    ]}
    request = parse_one({"request": body, "response": RESPONSE})
    assert request.messages == [
        {"role": "system", "content": "You are an agent."},
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"},
                                     {"type": "input_image", "image_url": "https://x/img.png"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "24C"},
        {"role": "assistant", "content": [{"type": "text", "text": "Paris 18C, Rome 24C."}]},
        {"role": "user", "content": "Thanks"},
    ]
    seg = segment(request, Counter("gpt-4.1"))
    assert seg.system > 0 and len(seg.middle) == 5 and seg.input > 0  # developer turn: system


def test_instructions_as_items_and_empty_instructions():
    items = [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules"}]}]
    request = parse_one({"request": {"model": "gpt-4o", "instructions": items, "input": "Hi"}, "response": RESPONSE})
    assert request.messages[0] == {"role": "developer", "content": [{"type": "text", "text": "Rules"}]}
    # SDKs send "" for no instructions; no empty system turn is made of it.
    request = parse_one({"model": "gpt-5", "instructions": "", "input": "Hi"})
    assert request.messages == [{"role": "user", "content": "Hi"}]


def test_flat_function_tools_and_builtin_tools_take_chat_shape():
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = {**BODY, "tools": [
        {"type": "function", "name": "weather", "description": "Get weather.", "parameters": params, "strict": True},
        {"type": "web_search"},
    ]}
    request = parse_one({"request": body, "response": RESPONSE})
    assert request.tools == [
        {"type": "function", "function": {"name": "weather", "description": "Get weather.", "parameters": params,
                                          "strict": True}},
        {"type": "web_search", "function": {"name": "web_search"}},
    ]
    assert segment(request, Counter("gpt-4o")).tools > 0


def test_text_format_json_schema_becomes_response_format():
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    fmt = {"type": "json_schema", "name": "City", "schema": schema, "strict": True, "description": "A city"}
    request = parse_one({"request": {**BODY, "text": {"format": fmt}}, "response": RESPONSE})
    assert request.response_format == {"type": "json_schema", "json_schema": {
        "name": "City", "schema": schema, "strict": True, "description": "A city"}}
    for plain in ({"format": {"type": "text"}, "verbosity": "low"}, {"format": {"type": "json_object"}}):
        assert parse_one({"request": {**BODY, "text": plain}, "response": RESPONSE}).response_format is None


def test_usage_with_cached_cache_write_and_reasoning_tokens():
    usage = {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 64},
             "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 256}, "total_tokens": 1500}
    request = parse_one({"request": BODY, "response": {**RESPONSE, "usage": usage}})
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens,
            request.reported_output_tokens, request.reported_reasoning_tokens) == (1200, 1024, 64, 300, 256)
    assert request.raw_usage == usage
    with pytest.raises(BadRecord, match="not a number"):
        parse_one({"request": BODY, "response": {**RESPONSE, "usage": {"input_tokens": "many"}}})


def test_output_function_calls_reasoning_and_empty_output():
    output = [{"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}]},
              {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "f", "arguments": "{}"}]
    request = parse_one({"request": BODY, "response": {**RESPONSE, "output": output}})
    assert request.output == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert segment(request, Counter("gpt-4o")).output_kind == "tool_call"
    queued = {**RESPONSE, "status": "queued", "output": [], "usage": None}
    request = parse_one({"request": BODY, "response": queued})
    assert request.output is None and request.status == "ok"


@pytest.mark.parametrize(("response", "error", "keeps_output"), [
    ({**RESPONSE, "status": "failed", "output": [], "error": {"code": "server_error", "message": "boom"}},
     "boom", False),
    ({**RESPONSE, "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
     "incomplete: max_output_tokens", True),
    ({**RESPONSE, "status": "cancelled", "output": []}, "cancelled", False),
    ({"error": {"message": "Invalid 'temperature'", "type": "invalid_request_error"}}, "Invalid 'temperature'", False),
])
def test_failed_responses_are_errors(response, error, keeps_output):
    request = parse_one({"request": BODY, "response": response, "timestamp": 1759223041})
    assert request.status == "error" and request.error == error
    assert (request.output is not None) == keeps_output


def test_http_error_status_and_request_id_header():
    record = http(BODY, "upstream timeout", code=504, headers={"x-request-id": ["req_abc"]})
    request = parse_one(record)
    assert request.status == "error" and request.error == "HTTP 504" and request.request_id == "req_abc"
    assert request.model == "gpt-4o"


def test_user_session_sample_rate_and_latency():
    body = {**BODY, "safety_identifier": "u-hash", "metadata": {"session_id": "s1"}}
    record = {"request": body, "response": RESPONSE, "sample_rate": 0.1, "latency_ms": 812}
    request = parse_one(record)
    assert (request.user, request.session_id, request.sample_rate, request.latency_ms) == ("u-hash", "s1", 0.1, 812)
    assert parse_one({"request": {**BODY, "conversation": "conv_1"}, "response": RESPONSE}).session_id == "conv_1"
    assert parse_one({"request": {**BODY, "conversation": {"id": "conv_2"}}, "response": RESPONSE}).session_id == "conv_2"
    with pytest.raises(BadRecord, match="sample_rate"):
        parse_one({**record, "sample_rate": 2})
    headers = {"openai-processing-ms": ["345"]}
    assert parse_one(http(BODY, RESPONSE, headers=headers)).latency_ms == 345


def test_previous_response_id_is_parsed_as_logged():
    body = {"model": "gpt-5", "previous_response_id": "resp_0", "input": [{"role": "user", "content": "And 4+4?"}]}
    request = parse_one({"request": body, "response": RESPONSE})
    assert request.messages == [{"role": "user", "content": "And 4+4?"}]  # the earlier turns are server-side


@pytest.mark.parametrize("bad", [
    {"request": {"input": "no model"}},
    {"request": {"model": "gpt-4o", "input": ["not an item"]}},
    {"request": {"model": "gpt-4o", "input": [{"role": "user", "content": "x"}], "instructions": 3}},
])
def test_bad_records_raise_bad_record(bad):
    with pytest.raises(BadRecord):
        list(openai_responses.parse(RawRecord("f", 1, bad), parsers.context()))


CHAT_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
CHAT_RESPONSE = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o", "choices": []}
ANTHROPIC_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 100, "system": "Be brief.",
                  "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}
ANTHROPIC_RESPONSE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                      "content": [{"type": "text", "text": "Hello"}], "usage": {"input_tokens": 9, "output_tokens": 2}}


@pytest.mark.parametrize("record", [
    CHAT_BODY,
    {"request": CHAT_BODY, "response": CHAT_RESPONSE},
    http(CHAT_BODY, CHAT_RESPONSE, url="https://api.openai.com/v1/chat/completions"),
    ANTHROPIC_BODY,
    {"request": ANTHROPIC_BODY, "response": ANTHROPIC_RESPONSE},
    http(ANTHROPIC_BODY, ANTHROPIC_RESPONSE, url="https://api.anthropic.com/v1/messages?beta=true"),
    # Responses-API neighbours that are not a model call, or not this API:
    http({"model": "gpt-4o", "input": "Hi"}, {"object": "response.input_tokens", "input_tokens": 8},
         url=URL + "/input_tokens"),
    http({"model": "gpt-4o", "input": "Hi"}, {"object": "response.compaction", "output": []}, url=URL + "/compact"),
    http(None, RESPONSE, method="GET", url=URL + "/resp_1?stream=false"),
    http({"model": "text-embedding-3-small", "input": "Hi"}, {"object": "list", "data": []},
         url="https://api.openai.com/v1/embeddings"),
    {"request": {"model": "gpt-4o", "input": "Hi"}, "response": {"object": "chat.completion"}},
    {"custom_id": "r1", "method": "POST", "url": "/v1/embeddings", "body": {"model": "e", "input": "Hi"}},
    {"model": "gpt-4o", "instructions": "no input, nothing says Responses"},
    {"input": {"not": "a list"}}, {"input": "a trace's generic input", "output": "and output"},
    "a string", [BODY],
])
def test_detect_refuses_other_records(record):
    assert not openai_responses.detect(record, parsers.context())


@pytest.mark.parametrize("record", [
    BODY, {"request": BODY, "response": RESPONSE}, http(BODY, RESPONSE),
    {"custom_id": "r1", "method": "POST", "url": "/v1/responses", "body": BODY},
    {"request": {"model": "gpt-4o", "instructions": "Only instructions"}, "response": RESPONSE},
])
def test_chat_parser_does_not_claim_responses_records(record):
    assert openai_responses.detect(record, parsers.context()) and not openai_chat.detect(record, parsers.context())


def test_registry_routes_each_record_to_its_format(registered):
    assert parsers.detect({"request": BODY, "response": RESPONSE}).name == "openai-responses"
    assert parsers.detect({"request": CHAT_BODY, "response": CHAT_RESPONSE}).name == "openai-chat"


# --- golden tests on real recorded traffic -------------------------------------------------------


def _cassettes(corpus):
    yaml = pytest.importorskip("yaml")
    folder = corpus / "pydantic-ai-cassettes/tests/models/cassettes/test_openai_responses"
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        pytest.skip(f"no Responses cassettes in {folder}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [(p.name, yaml.load(p.read_text(encoding="utf-8"), Loader=loader)) for p in paths]


def _is_create(interaction) -> bool:
    request = interaction["request"]
    return request.get("method") == "POST" and request.get("uri", "").split("?")[0].endswith("/v1/responses")


def test_real_responses_parse_to_the_recorded_values(corpus):
    checked, streamed, errors, other = 0, 0, 0, Tally()
    for name, cassette in _cassettes(corpus):
        for interaction in cassette["interactions"]:
            if not _is_create(interaction):
                other[openai_responses.detect(interaction, parsers.context())] += 1
                continue
            recorded = interaction["response"].get("parsed_body")
            if not isinstance(recorded, dict) or recorded.get("object") != "response":
                sse = "parsed_body" not in interaction["response"]  # streamed: the body is SSE text
                streamed, errors = streamed + sse, errors + (not sse)  # else an {"error": …} body
                continue
            assert openai_responses.detect(interaction, parsers.context()), name
            assert not openai_chat.detect(interaction, parsers.context()), name
            [request] = openai_responses.parse(RawRecord(name, 1, interaction), parsers.context())
            usage = recorded.get("usage") or {}
            assert request.model == recorded["model"] and request.request_id == recorded["id"], name
            assert request.reported_prompt_tokens == usage.get("input_tokens"), name
            assert request.reported_output_tokens == usage.get("output_tokens"), name
            assert request.reported_cached_tokens == (usage.get("input_tokens_details") or {}).get("cached_tokens")
            assert request.raw_usage == (usage or None), name
            if "date" in {k.lower() for k in interaction["response"].get("headers") or {}}:
                assert request.timestamp is not None, name
            assert request.messages or interaction["request"]["parsed_body"].get("instructions"), name
            checked += 1
    print(f"{checked} recorded Responses calls checked; skipped {streamed} streamed (SSE), {errors} error bodies; "
          f"other interactions detected: {dict(other)}")
    assert checked >= 100 and streamed >= 15
    assert other[True] == 0  # no retrieval, token count, compaction, file or Anthropic call is claimed


def test_real_cassettes_through_the_vcr_route_leave_no_responses_call_rejected(corpus, registered):
    stored, rejected = 0, []
    for name, cassette in _cassettes(corpus):
        interactions = cassette["interactions"]
        items = list(vcr.parse(RawRecord(name, 1, {"interactions": interactions}), parsers.context()))
        assert len(items) == len(interactions), name  # one request or one reject per interaction
        for interaction, item in zip(interactions, items, strict=True):
            if _is_create(interaction) and "anthropic" not in interaction["request"]["uri"]:
                if isinstance(item, BadRecord):
                    rejected.append(f"{name}: {item.reason}")
                stored += isinstance(item, Request)
    assert not rejected, rejected
    assert stored >= 130  # parsed bodies and streamed ones (those without their response's usage)


def test_counted_prompt_tokens_against_recorded_usage(corpus):
    """Measured, not asserted: the Responses API's prompt overheads are not published."""
    differences = []
    for name, cassette in _cassettes(corpus):
        for interaction in cassette["interactions"]:
            recorded = interaction["response"].get("parsed_body")
            if not _is_create(interaction) or not isinstance(recorded, dict) or not recorded.get("usage"):
                continue
            if not _text_only(interaction["request"]["parsed_body"]):
                continue
            [request] = openai_responses.parse(RawRecord(name, 1, interaction), parsers.context())
            counted = segment(request, Counter(request.model)).prompt_tokens
            differences.append(counted - recorded["usage"]["input_tokens"])
    exact = differences.count(0)
    print(f"{len(differences)} text-only requests, {exact} counted exactly; differences: {Tally(differences)}")
    assert differences


def _text_only(body: dict) -> bool:
    """No tools, no server-side history, and every input item a message of plain text."""
    if body.get("tools") or body.get("previous_response_id") or body.get("conversation"):
        return False
    items = body.get("input")
    if isinstance(items, str):
        return True
    for item in items or []:
        if (item.get("type") or "message") != "message":
            return False
        content = item.get("content")
        if isinstance(content, list) and any(p.get("type") not in ("input_text", "output_text") for p in content):
            return False
    return True


def test_time_falls_back_to_created_at():
    request = parse_one({"request": BODY, "response": RESPONSE})
    assert request.timestamp == datetime.fromtimestamp(1759223041, tz=UTC)
